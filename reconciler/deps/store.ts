// The worker-deps store (docs/deps.md): where a Worker's env file and auth token are written
// before its SandboxClaim exists. One small interface with two drivers (deps/s3.ts, deps/filesystem.ts),
// the storage layout, and the typed error every driver raises. Object bodies are secrets: no
// function here ever puts a body into a message.

import { createHash } from 'node:crypto'

/** Top folder of every Worker's deps, shared with the sandbox mounts (upstream #998 layout). */
export const DEPS_ROOT = 'workers-deps'

/** A Worker's storage keys. Folders end in `/`, so a volume subPath mounts a folder. */
export interface DepsKeys {
  /** `workers-deps/<worker>/`: everything of the Worker, for delete. */
  prefix: string
  /** `workers-deps/<worker>/env`: subPath of the env mount (no trailing slash). */
  envDir: string
  /** `workers-deps/<worker>/env/env`: the `export KEY='value'` file. */
  env: string
  /** `workers-deps/<worker>/token`: subPath of the token mount. */
  tokenDir: string
  /** `workers-deps/<worker>/token/token`: the raw token bytes. */
  token: string
  /** `workers-deps/<worker>/owner`: which Worker (namespace, name, uid) the folder belongs to; no secret, never mounted. */
  owner: string
}

/**
 * A Kubernetes object name (DNS subdomain: lowercase alphanumerics, `-` and `.`), the only kind
 * of `<worker>` a key may hold, so no key can escape its folder (`..`, `/`).
 */
const WORKER_SEGMENT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/

/** The storage keys of Worker `worker` (its `metadata.name`). Throws on a name that is not a DNS subdomain. */
export function depsKeys(worker: string): DepsKeys {
  if (!WORKER_SEGMENT.test(worker) || worker.includes('..')) {
    throw new DepsStoreError(`build deps keys for worker ${JSON.stringify(worker)}: not a Kubernetes object name`, {
      op: 'put',
      key: '',
      code: 'InvalidKey',
    })
  }
  const prefix = `${DEPS_ROOT}/${worker}/`
  return { prefix, envDir: `${prefix}env`, env: `${prefix}env/env`, tokenDir: `${prefix}token`, token: `${prefix}token/token`, owner: `${prefix}owner` }
}

/** What a write stored, so the caller can compare a read-back (size + SHA-256, hex). */
export interface DepsObjectInfo {
  key: string
  size: number
  sha256: string
}

/** Size and SHA-256 (hex) of a body, the same digest `put` reports. */
export function describeBody(key: string, body: Uint8Array): DepsObjectInfo {
  return { key, size: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') }
}

/**
 * The store. Keys are `/`-separated relative paths; a key ending in `/` names a folder.
 * Guarantees: `put` replaces the whole object or leaves the old one (never a partial body);
 * `get` of a missing key resolves `undefined`; `delete` of a missing key or empty folder succeeds.
 * Errors: every failure is a DepsStoreError whose message never contains a body.
 */
export interface DepsStore {
  /** Where the objects live, for messages: `s3 bucket b at http://host:9000`, `directory /x`. No credentials. */
  readonly location: string
  /** Writes `body` at `key` (replacing it) and reports what was written. */
  put(key: string, body: Uint8Array): Promise<DepsObjectInfo>
  /** Reads the whole object at `key`; `undefined` when there is none. */
  get(key: string): Promise<Uint8Array | undefined>
  /** Deletes the object at `key`, or every object under `key` when it ends in `/`; resolves how many went. */
  delete(keyOrPrefix: string): Promise<number>
}

/** Why a store call failed, for condition reasons and retry decisions. */
export const DepsErrorCode = {
  /** The store did not answer (connection refused, timeout, DNS, 5xx). Retry with backoff. */
  Unavailable: 'Unavailable',
  /** The store refused the credentials or the target (403, bad key id, missing bucket): a configuration fix is needed. */
  Refused: 'Refused',
  /** The key is not a safe relative path. A bug or a hostile name; retrying will not help. */
  InvalidKey: 'InvalidKey',
  /** Anything else the driver reported. */
  Failed: 'Failed',
} as const
export type DepsErrorCode = (typeof DepsErrorCode)[keyof typeof DepsErrorCode]

/** The operations, as the verbs in messages: `write deps object <key> in <location>: <cause>`. */
export type DepsOp = 'put' | 'get' | 'delete'
const VERBS: Record<DepsOp, string> = { put: 'write', get: 'read', delete: 'delete' }

/** A failed store call. `message` is `<verb> deps object <key> in <location>: <cause>`. */
export class DepsStoreError extends Error {
  override name = 'DepsStoreError'
  readonly op: DepsOp
  readonly key: string
  readonly code: DepsErrorCode
  constructor(message: string, details: { op: DepsOp; key: string; code: DepsErrorCode }, options?: ErrorOptions) {
    super(message, options)
    this.op = details.op
    this.key = details.key
    this.code = details.code
  }

  /** Builds the error of a driver call, with the standard message. */
  static of(op: DepsOp, key: string, location: string, code: DepsErrorCode, cause: unknown): DepsStoreError {
    const detail = cause instanceof Error ? cause.message : String(cause)
    return new DepsStoreError(`${VERBS[op]} deps object ${key} in ${location}: ${detail}`, { op, key, code }, { cause })
  }
}

/**
 * Checks that `key` is a safe relative path inside the store: non-empty `/`-separated segments,
 * none `.` or `..`, no backslash or NUL, not absolute. Folder keys (trailing `/`) are allowed only
 * when `folder` is true. Throws DepsStoreError(InvalidKey).
 */
export function checkKey(op: DepsOp, key: string, location: string, folder = false): void {
  const body = folder && key.endsWith('/') ? key.slice(0, -1) : key
  const segments = body.split('/')
  const bad =
    body === '' ||
    key.length > 1024 ||
    /[\\\0]/.test(key) ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  if (bad) throw DepsStoreError.of(op, key, location, DepsErrorCode.InvalidKey, new Error('not a safe relative key'))
}
