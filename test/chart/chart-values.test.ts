// The chart's values against the settings table (config/settings.ts) with the real helm: every
// setting has exactly one value and one env var, 0 and false survive rendering, credentials only
// come from a Secret, the values schema says what the process loader says, and bad values stop
// `helm template` (so `helm install`) with a line naming the value.

import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { SETTINGS, type Setting } from '../../config/settings.ts'
import { loadConfig } from '../../config/config.ts'
import { CHART_DIR, find, helm, render, setJson } from './helm.ts'

const values = parse(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8'))
const schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8'))
const plain = SETTINGS.filter((s) => !s.secret)
const secret = SETTINGS.filter((s) => s.secret)

/** Chart defaults that differ from the process defaults, and why (values.yaml says "chart:"). */
const CHART_DEFAULTS: Record<string, unknown> = {
  tlsCertFile: '/etc/worker-runtime-controller/tls/tls.crt', // the mounted webhook Secret
  tlsKeyFile: '/etc/worker-runtime-controller/tls/tls.key',
  depsFilesystemDir: '/var/lib/worker-runtime-controller/deps', // the depsFilesystemVolume mount
}

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }
const containerEnv = (objects: Awaited<ReturnType<typeof render>>): Env[] => find(objects, 'Deployment').spec.template.spec.containers[0].env

/** A valid value for `setting` that differs from its default, so a wrong mapping shows. */
function sentinel(setting: Setting, index: number): unknown {
  const s = setting.schema
  switch (s.type) {
    case 'boolean':
      return !(setting.default as boolean)
    case 'integer':
      return Math.min(s.maximum ?? 1e6, (s.minimum ?? 0) + 1 + index)
    case 'array':
      return [...(s.items.enum ?? ['x'])].reverse()
    case 'string':
      if (s.enum) return s.enum.find((v) => v !== setting.default) ?? s.enum[0]
      if (s.pattern?.includes('ns|us')) return `${index + 1}m`
      if (s.pattern?.startsWith('^(https?')) return `http://s3-${index}.example:9000`
      return `/v${index}/${setting.key.toLowerCase()}`
  }
}

t.test('values.yaml has one config value per setting, with the process default unless the chart documents why', async (t) => {
  t.same(Object.keys(values.config).sort(), plain.map((s) => s.key).sort(), 'config.<key> for every non-secret setting, nothing else')
  for (const s of plain) {
    const expected = s.key in CHART_DEFAULTS ? CHART_DEFAULTS[s.key] : s.default
    t.same(values.config[s.key], expected, `config.${s.key} (${s.env})`)
  }
})

t.test('every setting renders as its env var exactly once, from its own value (0 and false included)', async (t) => {
  // Pairs of settings that must be consistent are given consistent sentinels.
  const chosen: Record<string, unknown> = Object.fromEntries(plain.map((s, i) => [s.key, sentinel(s, i)]))
  Object.assign(chosen, {
    webhookEnabled: true, reconcilerEnabled: true, depsStoreType: 's3', depsS3Bucket: 'bucket-x', webhookPort: 9444, healthPort: 8082,
    leaseDurationSeconds: 30, renewDeadlineSeconds: 20, retryPeriodSeconds: 5, tlsCertFile: '/tls/cert.pem', tlsKeyFile: '/tls/key.pem',
    sandboxPoolName: 'pool-x', sandboxDepsPvName: 'pv-x', resourcePrefix: 'x-', controllerName: 'ctl-x', leaderElectionNamespace: 'lease-ns',
    credentialsSecretName: 'creds-x-{worker}', credentialsNamespace: 'creds-ns',
  })
  // One replica: leader election is one of the flipped values.
  const env = containerEnv(await render({ replicaCount: 1, ...Object.fromEntries(Object.entries(chosen).map(([k, v]) => [`config.${k}`, v])) }))
  const names = env.map((e) => e.name)
  t.same(names.filter((n, i) => names.indexOf(n) !== i), [], 'no env var twice')
  const processEnv: Record<string, string> = {}
  for (const s of plain) {
    const entry = env.find((e) => e.name === s.env)
    if (!t.ok(entry, `${s.env} is set`)) continue
    const v = chosen[s.key]
    const text = Array.isArray(v) ? v.join(',') : String(v)
    t.equal(entry?.value, text, `${s.env} = config.${s.key}`)
    processEnv[s.env] = entry?.value ?? ''
  }
  t.doesNotThrow(() => loadConfig(processEnv), 'the process accepts the rendered environment')

  const zero = containerEnv(await render({ replicaCount: 1, 'config.sandboxPrewarmSize': 0, 'config.leaderElection': false, 'config.depsS3ForcePathStyle': false }))
  t.equal(zero.find((e) => e.name === 'AGENTTEAMS_SANDBOX_PREWARM_SIZE')?.value, '0', 'prewarmSize 0 renders "0" (upstream rendered 1)')
  t.equal(zero.find((e) => e.name === 'AGENTTEAMS_LEADER_ELECTION')?.value, 'false')
  t.equal(zero.find((e) => e.name === 'AGENTTEAMS_DEPS_S3_FORCE_PATH_STYLE')?.value, 'false')
})

t.test('S3 credentials come from a Secret, never from a plain env value', async (t) => {
  const s3 = { 'config.depsStoreType': 's3', 'config.depsS3Bucket': 'b' }
  const none = containerEnv(await render(s3))
  t.same(none.filter((e) => secret.some((s) => s.env === e.name)), [], 'no credentials: the env vars are left out (the SDK default chain)')

  const made = await render({ ...s3, 'depsS3Credentials.accessKeyId': 'AKIDCHART', 'depsS3Credentials.secretAccessKey': 'very-secret-value' })
  const env = containerEnv(made)
  for (const s of secret) {
    const entry = env.find((e) => e.name === s.env)
    t.equal(entry?.value, undefined, `${s.env} has no plain value`)
    t.equal(entry?.valueFrom?.secretKeyRef?.name, 'worker-runtime-controller-s3', `${s.env} from the chart-made Secret`)
  }
  t.equal(env.find((e) => e.name === 'AGENTTEAMS_DEPS_S3_SESSION_TOKEN')?.valueFrom?.secretKeyRef?.optional, true, 'the session token is optional')
  const stored = find(made, 'Secret', 'worker-runtime-controller-s3')
  t.equal(Buffer.from(stored.data.secretAccessKey, 'base64').toString(), 'very-secret-value')
  t.notOk(JSON.stringify(find(made, 'Deployment')).includes('very-secret-value'), 'the Deployment never holds the secret')
  t.match(find(made, 'Deployment').spec.template.metadata.annotations['checksum/s3-credentials'], /^[0-9a-f]{64}$/, 'a changed Secret rolls the pods')

  const existing = await render({ ...s3, 'depsS3Credentials.existingSecret': 'team-s3', 'depsS3Credentials.accessKeyIdKey': 'AWS_ACCESS_KEY_ID' })
  const ref = containerEnv(existing).find((e) => e.name === 'AGENTTEAMS_DEPS_S3_ACCESS_KEY_ID')?.valueFrom?.secretKeyRef
  t.same(ref, { name: 'team-s3', key: 'AWS_ACCESS_KEY_ID' }, 'an existing Secret and its key names')
  t.notOk(existing.some((o) => o.kind === 'Secret' && o.metadata.name.endsWith('-s3')), 'no chart-made Secret then')
})

t.test('the values schema says what the process loader says, per setting', async (t) => {
  const props = schema.properties.config.properties
  t.equal(schema.properties.config.additionalProperties, false, 'a misspelt config key is an error')
  for (const s of plain) {
    const p = { ...props[s.key] }
    delete p.description
    const want: Record<string, unknown> = { ...s.schema }
    // Chart tightenings: a pod needs fixed ports and absolute paths into its volumes.
    if (s.key === 'webhookPort' || s.key === 'healthPort' || s.key === 'metricsPort') want['minimum'] = 1
    if (s.key in CHART_DEFAULTS) {
      delete want['minLength']
      want['pattern'] = '^/'
    }
    if (s.schema.type === 'array') want['uniqueItems'] = true
    t.same(p, want, `config.${s.key} schema matches ${s.env}`)
  }
})

/** [values, the path helm must name, what it must say]. */
const BAD_VALUES: Array<[Record<string, unknown>, RegExp]> = [
  [{ 'config.sandboxPrewarmSize': -1 }, /at '\/config\/sandboxPrewarmSize': minimum: got -1, want 0/],
  [{ 'config.sandboxPrewarmSize': '2' }, /at '\/config\/sandboxPrewarmSize': got string, want integer/],
  [{ 'config.defaultBackendRuntime': 'vm' }, /at '\/config\/defaultBackendRuntime': value must be one of 'pod', 'sandbox'/],
  [{ 'config.sandboxCapabilities': ['hibernate', 'sleep'] }, /at '\/config\/sandboxCapabilities\/1': value must be one of 'hibernate', 'pool'/],
  [{ 'config.sandboxClaimTimeout': '5 minutes' }, /at '\/config\/sandboxClaimTimeout': '5 minutes' does not match pattern/],
  [{ 'config.depsS3Endpoint': 'minio:9000' }, /at '\/config\/depsS3Endpoint': 'minio:9000' does not match pattern/],
  [{ 'config.webhookPort': 0 }, /at '\/config\/webhookPort': minimum: got 0, want 1/],
  [{ 'config.authTokenExpirationSeconds': 60 }, /at '\/config\/authTokenExpirationSeconds': minimum: got 60, want 600/],
  [{ 'config.sandboxPrewarmsize': 2 }, /at '\/config': additional properties 'sandboxPrewarmsize' not allowed/],
  [{ 'config.depsS3AccessKeyId': 'AKID' }, /at '\/config': additional properties 'depsS3AccessKeyId' not allowed/],
  [{ 'admission.mode': 'webhooks' }, /at '\/admission\/mode': value must be one of 'webhook', 'policy', 'both'/],
  [{ 'admission.validating.failurePolicy': 'fail' }, /at '\/admission\/validating\/failurePolicy': value must be one of 'Ignore', 'Fail'/],
  [{ replicaCount: 0 }, /at '\/replicaCount': minimum: got 0, want 1/],
  [{ 'image.digest': 'latest' }, /at '\/image\/digest': 'latest' does not match pattern/],
  [{ 'certManager.issuerRef': { kind: 'Issuer', name: 'x', namespace: 'y' } }, /at '\/certManager\/issuerRef': additional properties 'namespace' not allowed/],
  // Rules across values (templates/_validate.tpl): the same words the process would use.
  [{ 'config.depsStoreType': 's3' }, /config\.depsS3Bucket is required when config\.depsStoreType is s3/],
  [{ 'config.renewDeadlineSeconds': 15 }, /config\.renewDeadlineSeconds \(15\) must be below config\.leaseDurationSeconds \(15\)/],
  [{ 'config.retryPeriodSeconds': 10 }, /config\.retryPeriodSeconds \(10\) must be below config\.renewDeadlineSeconds \(10\)/],
  [{ 'config.webhookEnabled': false }, /admission\.mode webhook needs the webhook server/],
  [{ 'depsS3Credentials.accessKeyId': 'AKID' }, /accessKeyId and depsS3Credentials\.secretAccessKey must be set together/],
  [{ 'config.tlsKeyFile': '/elsewhere/tls.key' }, /must be two files in one directory/],
  [{ 'config.healthPort': 9443 }, /config\.webhookPort and config\.healthPort must differ/],
  [{ 'config.metricsPort': 8081 }, /config\.healthPort and config\.metricsPort must differ \(both 8081\)/],
  [{ 'monitoring.serviceMonitor.interval': '30 seconds' }, /at '\/monitoring\/serviceMonitor\/interval': '30 seconds' does not match pattern/],
  [{ 'monitoring.dashboard.enabled': 'yes' }, /at '\/monitoring\/dashboard\/enabled': got string, want boolean/],
  [{ 'monitoring.metricsReaderSubjects': [{ kind: 'Pod', name: 'x' }] }, /at '\/monitoring\/metricsReaderSubjects\/0\/kind': value must be one of 'ServiceAccount', 'User', 'Group'/],
  [{ 'serviceAccount.create': false }, /serviceAccount\.name is required when serviceAccount\.create is false/],
  [{ 'config.leaderElection': false }, /config\.leaderElection=false with replicaCount 2 would run 2 reconcilers side by side/],
]

t.test('bad values stop helm with a line naming the value and the rule', async (t) => {
  for (const [bad, message] of BAD_VALUES) {
    const r = await helm(['template', 'x', CHART_DIR, ...setJson(bad)])
    const label = JSON.stringify(bad)
    t.not(r.code, 0, `${label} is refused`)
    t.match(r.stderr, message, `${label}: ${(r.stderr.split('\n').find((l) => l.startsWith('- at ')) ?? r.stderr.split('\n')[0])}`)
  }
})
