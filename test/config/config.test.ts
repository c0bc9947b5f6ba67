// Configuration: defaults, flags over env, and one clear line per invalid-value class naming the
// variable, its flag and what it accepts.

import t from 'tap'
import { ConfigError, configHelp, flagName, loadConfig } from '../../config/config.ts'
import { SETTINGS } from '../../config/settings.ts'

function errorOf(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig(env, argv)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a ConfigError')
}

t.test('defaults of docs/operations.md', async (t) => {
  const config = loadConfig({})
  t.equal(config.defaultBackendRuntime, 'pod')
  t.equal(config.webhookPort, 9443, 'controller-runtime default port')
  t.equal(config.sandboxPrewarmSize, 1)
  t.same(config.sandboxCapabilities, [])
  t.equal(config.sandboxProviderType, 'openkruise')
  t.equal(config.tlsCertFile, 'certs/tls.crt')
  t.equal(config.webhookEnabled, true)
})

t.test('values are read and typed; flags win over the environment', async (t) => {
  const config = loadConfig(
    { AGENTTEAMS_WEBHOOK_PORT: '10443', AGENTTEAMS_SANDBOX_PREWARM_SIZE: '0', AGENTTEAMS_SANDBOX_CAPABILITIES: 'hibernate, pool', AGENTTEAMS_RECONCILER_ENABLED: 'false' },
    ['--webhook-port', '11443', '--default-backend-runtime=sandbox', '--webhook-enabled'],
  )
  t.equal(config.webhookPort, 11443)
  t.equal(config.sandboxPrewarmSize, 0, 'prewarm size 0 is kept, not replaced by the default')
  t.same(config.sandboxCapabilities, ['hibernate', 'pool'])
  t.equal(config.reconcilerEnabled, false)
  t.equal(config.defaultBackendRuntime, 'sandbox')
  t.equal(config.webhookEnabled, true)
})

t.test('every invalid-value class gives its one-line error', async (t) => {
  const cases: Array<[Record<string, string>, string[], string]> = [
    [{ AGENTTEAMS_DEFAULT_BACKEND_RUNTIME: 'vm' }, [], 'invalid configuration: AGENTTEAMS_DEFAULT_BACKEND_RUNTIME (--default-backend-runtime) = "vm": must be one of pod, sandbox'],
    [{ AGENTTEAMS_WEBHOOK_PORT: 'https' }, [], 'invalid configuration: AGENTTEAMS_WEBHOOK_PORT (--webhook-port) = "https": must be an integer from 0 to 65535'],
    [{ AGENTTEAMS_WEBHOOK_PORT: '' }, [], 'invalid configuration: AGENTTEAMS_WEBHOOK_PORT (--webhook-port) = "": must be an integer from 0 to 65535'],
    [{}, ['--webhook-port=70000'], 'invalid configuration: AGENTTEAMS_WEBHOOK_PORT (--webhook-port) = "70000": must be an integer from 0 to 65535'],
    [{ AGENTTEAMS_SANDBOX_PREWARM_SIZE: '-1' }, [], 'invalid configuration: AGENTTEAMS_SANDBOX_PREWARM_SIZE (--sandbox-prewarm-size) = "-1": must be an integer from 0 to 1000'],
    [{ AGENTTEAMS_SANDBOX_PREWARM_SIZE: '1.5' }, [], 'invalid configuration: AGENTTEAMS_SANDBOX_PREWARM_SIZE (--sandbox-prewarm-size) = "1.5": must be an integer from 0 to 1000'],
    [{ AGENTTEAMS_WEBHOOK_ENABLED: 'yes' }, [], 'invalid configuration: AGENTTEAMS_WEBHOOK_ENABLED (--webhook-enabled) = "yes": must be true or false'],
    [{ AGENTTEAMS_SANDBOX_CAPABILITIES: 'hibernate,teleport' }, [], 'invalid configuration: AGENTTEAMS_SANDBOX_CAPABILITIES (--sandbox-capabilities) = ["hibernate","teleport"]: must be a comma-separated list of hibernate, pool'],
    [{ AGENTTEAMS_CONTROLLER_NAME: 'Not_A_Name' }, [], 'invalid configuration: AGENTTEAMS_CONTROLLER_NAME (--controller-name) = "Not_A_Name": must be a value matching ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'],
    [{ AGENTTEAMS_WEBHOOK_ADDRESS: '' }, [], 'invalid configuration: AGENTTEAMS_WEBHOOK_ADDRESS (--webhook-address) = "": must be a non-empty string'],
    [{}, ['--no-such-flag=1'], 'invalid configuration: unknown flag --no-such-flag (see --help)'],
    [{}, ['--webhook-port'], 'invalid configuration: flag --webhook-port needs a value'],
  ]
  for (const [env, argv, expected] of cases) {
    const message = errorOf(env, argv)
    t.equal(message, expected)
    t.notMatch(message, /\n/, 'one line')
  }
})

t.test('every setting has a flag and appears in --help', async (t) => {
  const help = configHelp()
  for (const setting of SETTINGS) {
    t.match(help, flagName(setting))
    t.match(help, setting.env)
  }
})

t.test('leader election timings must nest: retry < renew deadline < lease duration', async (t) => {
  t.equal(
    errorOf({ AGENTTEAMS_LEASE_DURATION_SECONDS: '5' }),
    'invalid configuration: AGENTTEAMS_RENEW_DEADLINE_SECONDS (--renew-deadline-seconds) = 10: must be below AGENTTEAMS_LEASE_DURATION_SECONDS (5)',
  )
  t.equal(
    errorOf({ AGENTTEAMS_RENEW_DEADLINE_SECONDS: '2' }),
    'invalid configuration: AGENTTEAMS_RETRY_PERIOD_SECONDS (--retry-period-seconds) = 2: must be below AGENTTEAMS_RENEW_DEADLINE_SECONDS (2)',
  )
  t.equal(loadConfig({ AGENTTEAMS_LEASE_DURATION_SECONDS: '4', AGENTTEAMS_RENEW_DEADLINE_SECONDS: '3', AGENTTEAMS_RETRY_PERIOD_SECONDS: '1' }).leaseDurationSeconds, 4)
})

t.test('metrics: HTTPS with API server authorization on 8443 by default; each server its own port', async (t) => {
  const config = loadConfig({})
  t.same([config.metricsPort, config.metricsSecure, config.healthPort], [8443, true, 8081], "kubebuilder's secure metrics port, probes apart")
  t.equal(loadConfig({ AGENTTEAMS_METRICS_SECURE: 'false' }).metricsSecure, false)
  t.equal(
    errorOf({ AGENTTEAMS_METRICS_PORT: '8081' }),
    'invalid configuration: AGENTTEAMS_HEALTH_PORT (--health-port) and AGENTTEAMS_METRICS_PORT (--metrics-port) are both 8081: each server needs its own port',
  )
  t.equal(
    errorOf({ AGENTTEAMS_WEBHOOK_PORT: '8443' }),
    'invalid configuration: AGENTTEAMS_WEBHOOK_PORT (--webhook-port) and AGENTTEAMS_METRICS_PORT (--metrics-port) are both 8443: each server needs its own port',
  )
  t.equal(loadConfig({ AGENTTEAMS_WEBHOOK_PORT: '8443', AGENTTEAMS_WEBHOOK_ENABLED: 'false' }).metricsPort, 8443, 'no webhook server: its port is free')
  t.equal(loadConfig({ AGENTTEAMS_HEALTH_PORT: '0', AGENTTEAMS_METRICS_PORT: '0', AGENTTEAMS_WEBHOOK_PORT: '0' }).metricsPort, 0, '0 (a free port each) never clashes')
})

t.test('sandbox and deps store settings', async (t) => {
  t.equal(
    errorOf({ AGENTTEAMS_SANDBOX_CLAIM_TIMEOUT: '5 minutes' }),
    'invalid configuration: AGENTTEAMS_SANDBOX_CLAIM_TIMEOUT (--sandbox-claim-timeout) = "5 minutes": must be a Go duration such as 5m, 90s or 1h30m',
  )
  t.equal(loadConfig({ AGENTTEAMS_SANDBOX_CLAIM_TIMEOUT: '1h30m' }).sandboxClaimTimeout, '1h30m')
  t.equal(
    errorOf({ AGENTTEAMS_DEPS_STORE_TYPE: 's3' }),
    'invalid configuration: AGENTTEAMS_DEPS_S3_BUCKET (--deps-s3-bucket) is required when AGENTTEAMS_DEPS_STORE_TYPE is s3',
  )
  t.equal(
    errorOf({ AGENTTEAMS_DEPS_STORE_TYPE: 's3', AGENTTEAMS_DEPS_S3_BUCKET: 'b', AGENTTEAMS_DEPS_S3_SECRET_ACCESS_KEY: 'hunter2-secret' }),
    'invalid configuration: AGENTTEAMS_DEPS_S3_ACCESS_KEY_ID and AGENTTEAMS_DEPS_S3_SECRET_ACCESS_KEY must be set together',
  )
  t.equal(
    errorOf({ AGENTTEAMS_DEPS_S3_ENDPOINT: 'minio:9000' }),
    'invalid configuration: AGENTTEAMS_DEPS_S3_ENDPOINT (--deps-s3-endpoint) = "minio:9000": must be an http:// or https:// URL, or empty',
  )
})

