// A Worker's runtime environment (docs/deps.md): the system keys this controller owns plus the
// user's spec.env (system keys win), sorted; and its file form, one `export KEY='value'` line per
// key with shell-safe single quoting, shared by the pod Secret and the sandbox deps.

import { workerName } from '../../api/defaults.ts'
import type { Worker } from '../../api/worker.ts'
import { CREDENTIAL_ENV_KEYS } from './credentials.ts'

/** Where the projected (pod) or mounted (sandbox) auth token lives inside the worker. */
export const TOKEN_DIR = '/var/run/secrets/agentteams'
export const TOKEN_FILE = `${TOKEN_DIR}/token`

/** The system keys. Anything else in the env comes from `spec.env`. */
export const SystemEnv = {
  WorkerName: 'AGENTTEAMS_WORKER_NAME',
  WorkerCrName: 'AGENTTEAMS_WORKER_CR_NAME',
  WorkerNamespace: 'AGENTTEAMS_WORKER_NAMESPACE',
  AgentRuntime: 'AGENTTEAMS_AGENT_RUNTIME',
  BackendRuntime: 'AGENTTEAMS_BACKEND_RUNTIME',
  AuthTokenFile: 'AGENTTEAMS_AUTH_TOKEN_FILE',
  ControllerUrl: 'AGENTTEAMS_CONTROLLER_URL',
  MatrixUrl: 'AGENTTEAMS_MATRIX_URL',
  AiGatewayUrl: 'AGENTTEAMS_AI_GATEWAY_URL',
} as const

/** Cluster-wide values from configuration; empty ones are left out of the env. */
export interface EnvOptions {
  backendRuntime: string
  controllerUrl?: string | undefined
  matrixUrl?: string | undefined
  aiGatewayUrl?: string | undefined
  /**
   * More system keys: the credentials of the upstream provisioner (credentials.ts). Their names are
   * reserved whether or not they are given, so `spec.env` never sets a credential.
   */
  credentials?: Record<string, string> | undefined
}

/** A `spec.env` entry that was not used, and why (for the Worker's status message). */
export interface SkippedEnv {
  key: string
  reason: 'system key' | 'not a valid variable name' | 'value contains a NUL byte'
}

export interface WorkerEnv {
  /** Keys in sorted order. */
  env: Record<string, string>
  skipped: SkippedEnv[]
}

/** POSIX portable variable names: the only keys `source` and `envFrom` both accept. */
const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Builds the env of `worker`: system keys (which always win), then `spec.env` entries with a valid
 * name and no NUL byte. Entries that cannot be used are reported in `skipped`, never silently lost.
 */
export function workerEnv(worker: Worker, options: EnvOptions): WorkerEnv {
  const system: Record<string, string | undefined> = {
    [SystemEnv.WorkerName]: workerName(worker),
    [SystemEnv.WorkerCrName]: worker.metadata?.name ?? '',
    [SystemEnv.WorkerNamespace]: worker.metadata?.namespace ?? '',
    [SystemEnv.AgentRuntime]: worker.spec?.runtime || undefined,
    [SystemEnv.BackendRuntime]: options.backendRuntime,
    [SystemEnv.AuthTokenFile]: TOKEN_FILE,
    [SystemEnv.ControllerUrl]: options.controllerUrl || undefined,
    [SystemEnv.MatrixUrl]: options.matrixUrl || undefined,
    [SystemEnv.AiGatewayUrl]: options.aiGatewayUrl || undefined,
    ...options.credentials,
  }
  const merged = new Map<string, string>()
  const skipped: SkippedEnv[] = []
  const reserved = new Set<string>([...Object.values(SystemEnv), ...CREDENTIAL_ENV_KEYS])
  for (const [key, value] of Object.entries(worker.spec?.env ?? {})) {
    const text = String(value ?? '')
    if (reserved.has(key)) skipped.push({ key, reason: 'system key' })
    else if (!VALID_NAME.test(key)) skipped.push({ key, reason: 'not a valid variable name' })
    else if (text.includes('\0')) skipped.push({ key, reason: 'value contains a NUL byte' })
    else merged.set(key, text)
  }
  for (const [key, value] of Object.entries(system)) if (value !== undefined) merged.set(key, value)
  const env: Record<string, string> = {}
  for (const key of [...merged.keys()].sort()) env[key] = merged.get(key) as string
  skipped.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return { env, skipped }
}

/** The Worker's message for `spec.env` entries that were not used: `spec.env KEY is not used: <why>`. */
export function unusedEnvWarnings(skipped: readonly SkippedEnv[]): string[] {
  return skipped.map((s) => `spec.env ${s.key} is not used: ${s.reason}`)
}

/** Single-quotes `value` for a POSIX shell: `'` becomes `'\''`; nothing else is special inside. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

/**
 * The file form: one `export KEY='value'` line per key, in sorted order, newline-terminated.
 * `source`-ing it in sh or bash restores every value byte for byte (spaces, quotes, `$`,
 * backticks, backslashes, newlines). Throws on a key that is not a valid variable name.
 */
export function renderEnvFile(env: Record<string, string>): string {
  const keys = Object.keys(env).sort()
  return keys
    .map((key) => {
      if (!VALID_NAME.test(key)) throw new TypeError(`render env file: ${JSON.stringify(key)} is not a valid variable name`)
      return `export ${key}=${shellQuote(env[key] as string)}\n`
    })
    .join('')
}
