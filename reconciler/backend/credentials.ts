// A Worker's credentials from the upstream provisioner (docs/credentials.md): the Secret
// `agentteams-creds-<worker>` (name pattern and namespace configurable) whose keys become system env
// keys of the runtime — by reference in the Pod, in the env file of a sandbox. Read by name (RBAC
// `get` only, never a list), validated (every key present, UTF-8, no NUL, bounded), never logged.

import { workerName } from '../../api/defaults.ts'
import type { KubeObject } from '../../api/meta.ts'
import type { Worker } from '../../api/worker.ts'
import { RuntimeState, type BackendStatus } from './contract.ts'
import { ignoreNotFound, type KubeClient, resourcePath } from '../controller/kube.ts'

/** Credential env keys ← the provisioner Secret's keys (upstream's worker env). */
export const CREDENTIAL_KEYS = {
  AGENTTEAMS_WORKER_MATRIX_TOKEN: 'WORKER_MATRIX_TOKEN',
  AGENTTEAMS_WORKER_GATEWAY_KEY: 'WORKER_GATEWAY_KEY',
  AGENTTEAMS_FS_SECRET_KEY: 'WORKER_MINIO_PASSWORD',
} as const
/** The storage access key: the worker name itself (upstream's MinIO user). */
export const FS_ACCESS_KEY = 'AGENTTEAMS_FS_ACCESS_KEY'
/** The Worker's Matrix room, from `status.roomID`. */
export const ROOM_ID = 'AGENTTEAMS_WORKER_ROOM_ID'
/** Every env key this module sets: system keys that `spec.env` can never override. */
export const CREDENTIAL_ENV_KEYS: readonly string[] = [...Object.keys(CREDENTIAL_KEYS), FS_ACCESS_KEY, ROOM_ID]
/**
 * The largest credential value taken: an env string may be at most 128 KiB (Linux
 * MAX_ARG_STRLEN); a token or key is well under 1 KiB, so 64 KiB only stops the absurd.
 */
export const MAX_CREDENTIAL_BYTES = 64 * 1024
/** How often a Worker waiting for its credential Secret looks again (Secrets are not watched: no list rights). */
export const CREDENTIALS_RECHECK_MS = 15_000
/**
 * How often a Worker that has a credential Secret reads it again: a rotation reaches the runtime at
 * the next pass, at once after any change of the Worker, else within this (controller-runtime's
 * informers resync every 10 h; the RBAC here grants `get` on Secrets, never `watch`).
 */
export const CREDENTIALS_RESYNC_MS = 10 * 60_000

/** Ready reasons of a Worker held back by its credentials. */
export const CredentialsReason = {
  Missing: 'CredentialsMissing',
  Incomplete: 'CredentialsIncomplete',
  Unreadable: 'CredentialsUnreadable',
} as const

export interface CredentialSettings {
  /** `agentteams-creds-{worker}`; empty: no credentials are looked up. */
  secretName: string
  /** Empty: the Worker's own namespace. */
  namespace: string
  /** Without its Secret a Worker waits and gets no runtime. */
  required: boolean
}

/** A credential Secret as read and checked. Values are only in `values`; messages never hold one. */
export type Credentials =
  | { state: 'off' }
  | { state: 'absent'; namespace: string; name: string }
  | { state: 'invalid'; namespace: string; name: string; reason: string; message: string }
  | { state: 'ready'; namespace: string; name: string; resourceVersion: string; values: Record<string, string> }

interface Secret extends KubeObject {
  data?: Record<string, string>
}

/** Where the credential Secret of `worker` is, or undefined when credentials are off. */
export function credentialSecretRef(settings: CredentialSettings, worker: Worker): { namespace: string; name: string } | undefined {
  if (settings.secretName === '') return undefined
  return { namespace: settings.namespace || (worker.metadata?.namespace ?? ''), name: settings.secretName.replaceAll('{worker}', workerName(worker)) }
}

/** Decodes and checks the Secret's data: the values by env key, or what is wrong (never a value). */
export function checkCredentialData(data: Record<string, string> | undefined): { values: Record<string, string> } | { reason: string; message: string } {
  const missing = Object.values(CREDENTIAL_KEYS).filter((key) => typeof data?.[key] !== 'string')
  if (missing.length > 0) return { reason: CredentialsReason.Incomplete, message: `it has no ${missing.join(', ')}` }
  const values: Record<string, string> = {}
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (const [env, key] of Object.entries(CREDENTIAL_KEYS)) {
    const bytes = Buffer.from(data?.[key] as string, 'base64')
    if (bytes.length > MAX_CREDENTIAL_BYTES) return { reason: CredentialsReason.Unreadable, message: `${key} has ${bytes.length} bytes, more than the ${MAX_CREDENTIAL_BYTES} an environment value may hold` }
    let text: string
    try {
      text = decoder.decode(bytes)
    } catch {
      return { reason: CredentialsReason.Unreadable, message: `${key} is not UTF-8 text` }
    }
    if (text.includes('\0')) return { reason: CredentialsReason.Unreadable, message: `${key} contains a NUL byte` }
    values[env] = text
  }
  return { values }
}

/** Reads and checks the credential Secret of `worker` (one GET by name). */
export async function readCredentials(kube: KubeClient, settings: CredentialSettings, worker: Worker): Promise<Credentials> {
  const ref = credentialSecretRef(settings, worker)
  if (!ref) return { state: 'off' }
  const path = resourcePath({ group: '', version: 'v1', plural: 'secrets', namespace: ref.namespace, name: ref.name })
  let secret: Secret | undefined
  try {
    secret = await ignoreNotFound(kube.request<Secret>({ method: 'GET', path }))
  } catch (cause) {
    throw new Error(`get Secret ${ref.namespace}/${ref.name} (credentials of Worker ${worker.metadata?.namespace}/${worker.metadata?.name}): ${(cause as Error).message}`, { cause })
  }
  if (!secret) return { state: 'absent', ...ref }
  const checked = checkCredentialData(secret.data)
  if ('reason' in checked) return { state: 'invalid', ...ref, reason: checked.reason, message: `the credential Secret ${ref.namespace}/${ref.name} cannot be used: ${checked.message}` }
  return { state: 'ready', ...ref, resourceVersion: secret.metadata?.resourceVersion ?? '', values: checked.values }
}

/**
 * Why no runtime may be created with `credentials` (a BackendStatus to report), or undefined when
 * it may: an unusable Secret always holds it back; a missing one only when credentials are required.
 */
export function credentialsHold(credentials: Credentials, settings: CredentialSettings): BackendStatus | undefined {
  if (credentials.state === 'invalid') return { state: RuntimeState.Unknown, reason: credentials.reason, message: credentials.message, requeueAfterMs: CREDENTIALS_RECHECK_MS }
  if (credentials.state !== 'absent' || !settings.required) return undefined
  return {
    state: RuntimeState.Unknown,
    reason: CredentialsReason.Missing,
    message: `waiting for the credential Secret ${credentials.namespace}/${credentials.name} (credentials are required): the Worker gets no runtime until it exists`,
    requeueAfterMs: CREDENTIALS_RECHECK_MS,
  }
}

/** When a runtime built with `credentials` must look at its Secret again (undefined: no Secret to follow). */
export function credentialsResync(credentials: Credentials): number | undefined {
  return credentials.state === 'ready' ? CREDENTIALS_RESYNC_MS : undefined
}

/** The earlier of two requeue requests (undefined: none). */
export function earlier(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b)
}

/** The plain (non-secret) credential env keys: the storage access key and the Matrix room. */
export function credentialPlainEnv(worker: Worker, credentials: Credentials): Record<string, string> {
  const env: Record<string, string> = {}
  if (credentials.state === 'ready') env[FS_ACCESS_KEY] = workerName(worker)
  const room = worker.status?.roomID
  if (typeof room === 'string' && room !== '') env[ROOM_ID] = room
  return env
}
