// Loads and validates the configuration from environment variables and CLI flags (flags win),
// with one ajv schema generated from the settings table. An invalid value yields one clear line
// naming the variable and what it accepts; nothing else in the process reads the environment.

import { Ajv, type ErrorObject } from 'ajv'
import { SETTINGS, type Setting } from './settings.ts'

/** The validated configuration. */
export interface Config {
  defaultBackendRuntime: 'pod' | 'sandbox'
  controllerName: string
  resourcePrefix: string
  legacyPrefixes: string[]
  legacyNamespaces: string[]
  webhookEnabled: boolean
  reconcilerEnabled: boolean
  webhookAddress: string
  webhookPort: number
  healthAddress: string
  healthPort: number
  metricsAddress: string
  metricsPort: number
  metricsSecure: boolean
  tlsCertFile: string
  tlsKeyFile: string
  logLevel: string
  sandboxEnabled: boolean
  sandboxProviderType: 'openkruise'
  sandboxCapabilities: Array<'hibernate' | 'pool'>
  sandboxPrewarmSize: number
  sandboxAgentRuntimeImage: string
  sandboxPoolName: string
  sandboxClaimTimeout: string
  sandboxWaitReadyTimeout: string
  sandboxTtlAfterCompleted: string
  sandboxDepsPvName: string
  sandboxCredentialProviderName: string
  depsStoreType: 'filesystem' | 's3'
  depsFilesystemDir: string
  depsS3Endpoint: string
  depsS3Bucket: string
  depsS3Region: string
  depsS3AccessKeyId: string
  depsS3SecretAccessKey: string
  depsS3SessionToken: string
  depsS3ForcePathStyle: boolean
  workerImage: string
  copawWorkerImage: string
  hermesWorkerImage: string
  openhumanWorkerImage: string
  qwenpawWorkerImage: string
  credentialsSecretName: string
  credentialsNamespace: string
  credentialsRequired: boolean
  authAudience: string
  authTokenExpirationSeconds: number
  controllerUrl: string
  matrixUrl: string
  aiGatewayUrl: string
  watchNamespace: string
  leaderElection: boolean
  leaderElectionNamespace: string
  leaderElectionId: string
  leaseDurationSeconds: number
  renewDeadlineSeconds: number
  retryPeriodSeconds: number
  maxConcurrentReconciles: number
  informerStaleSeconds: number
  informerRelistSeconds: number
}

/** A configuration error: `message` is the single line shown to the user. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** The CLI flag of a setting: AGENTTEAMS_WEBHOOK_PORT → --webhook-port. */
export function flagName(setting: Setting): string {
  return '--' + setting.env.replace(/^AGENTTEAMS_/, '').toLowerCase().replaceAll('_', '-')
}

const byKey = new Map(SETTINGS.map((s) => [s.key, s]))
const byFlag = new Map(SETTINGS.map((s) => [flagName(s), s]))

const schema = {
  type: 'object',
  additionalProperties: false,
  required: SETTINGS.map((s) => s.key),
  properties: Object.fromEntries(SETTINGS.map((s) => [s.key, s.schema])),
}

// Compiled once. Values arrive as strings; coercion turns "9443" into 9443 and "true" into true.
const ajv = new Ajv({ allErrors: false, coerceTypes: 'array', strict: true })
const validate = ajv.compile<Config>(schema)

function describeAccepted(setting: Setting): string {
  if (setting.accepts) return setting.accepts
  const s = setting.schema
  switch (s.type) {
    case 'string':
      if (s.enum) return `one of ${s.enum.join(', ')}`
      if (s.pattern) return `a value matching ${s.pattern}`
      return 'a non-empty string'
    case 'integer':
      return `an integer from ${s.minimum} to ${s.maximum}`
    case 'boolean':
      return 'true or false'
    case 'array':
      return `a comma-separated list of ${s.items.enum?.join(', ') ?? (s.items.pattern ? `values matching ${s.items.pattern}` : 'strings')}`
  }
}

function explain(error: ErrorObject, raw: Record<string, unknown>): string {
  const key = error.instancePath.split('/')[1] ?? String(error.params['missingProperty'] ?? '')
  const setting = byKey.get(key)
  if (!setting) return `invalid configuration: ${error.message ?? 'unknown error'}`
  const value = setting.secret ? '<redacted>' : JSON.stringify(raw[key])
  return `invalid configuration: ${setting.env} (${flagName(setting)}) = ${value}: must be ${describeAccepted(setting)}`
}

function parseFlags(argv: readonly string[]): Map<Setting, string> {
  const out = new Map<Setting, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const eq = arg.indexOf('=')
    const name = eq >= 0 ? arg.slice(0, eq) : arg
    const setting = byFlag.get(name)
    if (!setting) throw new ConfigError(`invalid configuration: unknown flag ${name} (see --help)`)
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[i + 1]
    if (eq < 0) {
      if (setting.schema.type === 'boolean' && (value === undefined || value.startsWith('--'))) value = 'true'
      else i++
    }
    if (value === undefined) throw new ConfigError(`invalid configuration: flag ${name} needs a value`)
    out.set(setting, value)
  }
  return out
}

/**
 * Builds the configuration from `env` and `argv` (flags only, no command word). Throws a
 * ConfigError whose message is the one line to print.
 */
export function loadConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): Config {
  const flags = parseFlags(argv)
  const raw: Record<string, unknown> = {}
  for (const setting of SETTINGS) {
    const text = flags.get(setting) ?? env[setting.env]
    if (text === undefined) {
      raw[setting.key] = structuredClone(setting.default)
    } else if (setting.schema.type === 'array') {
      raw[setting.key] = text.split(',').map((v) => v.trim()).filter((v) => v !== '')
    } else if (setting.schema.type === 'string') {
      raw[setting.key] = text
    } else {
      raw[setting.key] = text.trim()
    }
  }
  const shown = structuredClone(raw)
  if (!validate(raw)) throw new ConfigError(explain((validate.errors ?? [])[0] as ErrorObject, shown))
  checkLeaderTimings(raw)
  checkDepsStore(raw)
  checkPorts(raw)
  return raw
}

/** The listeners of one process need distinct ports (0, a free port each, never collides). */
function checkPorts(config: Config): void {
  const listeners: Array<keyof Config> = [...(config.webhookEnabled ? ['webhookPort' as const] : []), 'healthPort', 'metricsPort']
  for (const [i, a] of listeners.entries()) {
    for (const b of listeners.slice(i + 1)) {
      if (config[a] !== 0 && config[a] === config[b]) {
        const [sa, sb] = [byKey.get(a) as Setting, byKey.get(b) as Setting]
        throw new ConfigError(`invalid configuration: ${sa.env} (${flagName(sa)}) and ${sb.env} (${flagName(sb)}) are both ${config[a]}: each server needs its own port`)
      }
    }
  }
}

/** The s3 store needs a bucket, and a key id goes with its secret. */
function checkDepsStore(config: Config): void {
  if (config.depsStoreType !== 's3') return
  if (config.depsS3Bucket === '') {
    throw new ConfigError('invalid configuration: AGENTTEAMS_DEPS_S3_BUCKET (--deps-s3-bucket) is required when AGENTTEAMS_DEPS_STORE_TYPE is s3')
  }
  if ((config.depsS3AccessKeyId === '') !== (config.depsS3SecretAccessKey === '')) {
    throw new ConfigError('invalid configuration: AGENTTEAMS_DEPS_S3_ACCESS_KEY_ID and AGENTTEAMS_DEPS_S3_SECRET_ACCESS_KEY must be set together')
  }
}

/** client-go's leader election needs retry period < renew deadline < lease duration. */
function checkLeaderTimings(config: Config): void {
  const pairs: Array<[keyof Config, keyof Config]> = [
    ['renewDeadlineSeconds', 'leaseDurationSeconds'],
    ['retryPeriodSeconds', 'renewDeadlineSeconds'],
  ]
  for (const [lower, upper] of pairs) {
    if ((config[lower] as number) >= (config[upper] as number)) {
      const a = byKey.get(lower) as Setting
      const b = byKey.get(upper) as Setting
      throw new ConfigError(`invalid configuration: ${a.env} (${flagName(a)}) = ${config[lower]}: must be below ${b.env} (${config[upper]})`)
    }
  }
}

/** The `--help` text listing every flag with its variable and default. */
export function configHelp(): string {
  return SETTINGS.map((s) => {
    const def = Array.isArray(s.default) ? s.default.join(',') : String(s.default ?? '')
    return `  ${flagName(s).padEnd(34)} ${s.env} (default ${JSON.stringify(def)})\n      ${s.help}`
  }).join('\n')
}
