// Delivers a sandbox Worker's deps before its claim exists (product.md §6): make sure the folder
// is this Worker's (deps/owner.ts), render the env, issue a bounded token for the Worker's
// ServiceAccount, write env → write token → read both back and compare size and SHA-256. Keeps the
// token fresh: rewritten before 80% of its lifetime passed. Removes only folders the Worker owns.
// Every failure is a DepsError with a CamelCase reason; no message ever holds a value or token.

import { type Worker, workerPath } from '../../api/worker.ts'
import { DepsError, type RuntimeNaming, runtimeName, workerKey } from '../backend/contract.ts'
import type { Clock } from '../controller/clock.ts'
import { depsKeys, DepsStoreError, describeBody, type DepsKeys, type DepsObjectInfo, type DepsStore } from '../deps/store.ts'
import { decodeOwner, type DepsOwner, encodeOwner, KeyedLock, ownerOf } from '../deps/owner.ts'
import { type EnvOptions, renderEnvFile, workerEnv } from '../backend/env.ts'
import { ignoreNotFound, type KubeClient, resourcePath } from '../controller/kube.ts'
import { ensureServiceAccount, type ServiceAccountCache } from '../backend/service-account.ts'

/** Refresh when this fraction of the token's lifetime has passed (product.md §6; the kubelet uses 80% too). */
export const TOKEN_REFRESH_FRACTION = 0.8
/** The API server rejects TokenRequests shorter than 10 min (authentication/validation: MinTokenAgeSec). */
export const MIN_TOKEN_REQUEST_SECONDS = 600

/** DepsMaterialized=False reasons. */
export const DepsReason = {
  InvalidWorkerName: 'InvalidWorkerName',
  TokenRequestFailed: 'TokenRequestFailed',
  StoreUnavailable: 'StoreUnavailable',
  StoreRefused: 'StoreRefused',
  StoreFailed: 'StoreFailed',
  VerifyFailed: 'VerifyFailed',
  /** The folder `workers-deps/<worker>/` belongs to a live Worker of the same name in another namespace. */
  DepsOwnedByAnotherWorker: 'DepsOwnedByAnotherWorker',
  /** The recorded owner could not be looked up in the API server. */
  OwnerCheckFailed: 'OwnerCheckFailed',
} as const

export interface DepsMaterializerOptions extends RuntimeNaming {
  kube: KubeClient
  store: DepsStore
  /** Cluster URLs for the env (empty ones are left out). */
  env: Omit<EnvOptions, 'backendRuntime'>
  /** Audience of the token (default `hiclaw-controller`). */
  tokenAudience: string
  /**
   * Intended lifetime (default 3600). The request asks for at least the API server's 600 s; the
   * refresh runs at 80% of the shorter of this and the lifetime granted.
   */
  tokenExpirationSeconds: number
  clock: Clock
  /** The ServiceAccount cache, so an existing account costs no request (backend/service-account.ts). */
  serviceAccounts?: ServiceAccountCache | undefined
}

/** The outcome of a delivery. */
export interface Delivery {
  /** spec.env entries that were not used, for the Worker's message. */
  warnings: string[]
  /** When the token must be rewritten (epoch ms). */
  refreshAt: number
}

interface TokenRequestReply {
  status?: { token?: string; expirationTimestamp?: string }
}

function storeReason(error: DepsStoreError): string {
  if (error.code === 'Unavailable') return DepsReason.StoreUnavailable
  if (error.code === 'Refused') return DepsReason.StoreRefused
  return DepsReason.StoreFailed
}

/** What a cleanup did: how many objects went, or whose folder it left alone. */
export interface DepsRemoval {
  removed: number
  /** Set when the folder belongs to another Worker: nothing was deleted. */
  ownedBy?: DepsOwner
}

/** The claims of a bound ServiceAccount token that adoptStoredToken checks. */
interface TokenClaims {
  aud?: string | string[]
  iat?: number
  exp?: number
  'kubernetes.io'?: { namespace?: string; serviceaccount?: { name?: string; uid?: string } }
}

/** The payload of a JWT (not verified: the API server does that when the token is used); undefined when it is not one. */
function tokenClaims(body: Uint8Array): TokenClaims | undefined {
  const parts = Buffer.from(body).toString('utf8').trim().split('.')
  if (parts.length !== 3) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
    return claims && typeof claims === 'object' ? (claims as TokenClaims) : undefined
  } catch {
    return undefined
  }
}

/** Writes and refreshes Workers' deps; remembers, per Worker UID, when each token must be refreshed. */
export class DepsMaterializer {
  readonly #o: DepsMaterializerOptions
  readonly #refreshAt = new Map<string, number>()
  readonly #folders = new KeyedLock()

  constructor(options: DepsMaterializerOptions) {
    this.#o = options
  }

  /**
   * Full delivery for a new or resumed runtime: owner → env → token → read both back. Throws
   * DepsError(DepsOwnedByAnotherWorker) without writing anything when the folder is another live
   * Worker's.
   */
  async materialize(worker: Worker, system: Record<string, string> = {}): Promise<Delivery> {
    const keys = this.#keys(worker)
    return this.#folders.run(keys.prefix, async () => {
      await this.#own(worker, keys)
      return this.#deliver(worker, keys, system)
    })
  }

  async #deliver(worker: Worker, keys: DepsKeys, system: Record<string, string>): Promise<Delivery> {
    const env = this.renderEnv(worker, system)
    const token = await this.#requestToken(worker)
    const wroteEnv = await this.#put(worker, keys.env, Buffer.from(env.file, 'utf8'))
    const wroteToken = await this.#put(worker, keys.token, token.body)
    // Both written (env first), then both read back at once: neither read depends on the other.
    await Promise.all([this.#verify(worker, wroteEnv), this.#verify(worker, wroteToken)])
    this.#remember(worker, token.refreshAt)
    return { warnings: env.warnings, refreshAt: token.refreshAt }
  }

  /**
   * The env file `materialize` writes for `worker` now, with the extra system keys `system` (the
   * credentials), and the spec.env entries it leaves out. A secret: never log it.
   */
  renderEnv(worker: Worker, system: Record<string, string> = {}): { file: string; warnings: string[] } {
    const { env, skipped } = workerEnv(worker, { ...this.#o.env, backendRuntime: 'sandbox', credentials: system })
    return { file: renderEnvFile(env), warnings: skipped.map((s) => `spec.env ${s.key} is not used: ${s.reason}`) }
  }

  /** A fresh token rewritten (and read back) for a runtime that already runs; the folder must still be the Worker's. */
  async refreshToken(worker: Worker): Promise<number> {
    const keys = this.#keys(worker)
    return this.#folders.run(keys.prefix, async () => {
      await this.#own(worker, keys)
      const token = await this.#requestToken(worker)
      await this.#verify(worker, await this.#put(worker, keys.token, token.body))
      this.#remember(worker, token.refreshAt)
      return token.refreshAt
    })
  }

  /**
   * For a runtime this process has no refresh time for (it just started, or took over as leader):
   * keeps the token already in the store when it is still good, instead of rewriting every
   * Worker's token on the first pass. Good means: issued for this Worker's ServiceAccount as it
   * exists now (namespace, name and uid, so a re-created account gets a new token), for the
   * configured audience, and not yet due for refresh. Returns its refresh time and remembers it;
   * undefined when the token must be rewritten (missing, unreadable, for another account or
   * audience, due). Reads one object; the token is decoded here and never logged.
   */
  async adoptStoredToken(worker: Worker): Promise<number | undefined> {
    const namespace = worker.metadata?.namespace ?? ''
    const account = runtimeName(this.#o, worker)
    const uid = this.#o.serviceAccounts?.get(account, namespace)?.metadata?.uid
    if (!uid) return undefined
    let body: Uint8Array | undefined
    try {
      body = await this.#o.store.get(depsKeys(worker.metadata?.name ?? '').token)
    } catch {
      return undefined // an invalid name or an unreadable store: the rewrite reports it
    }
    const claims = body === undefined ? undefined : tokenClaims(body)
    if (!claims) return undefined
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    const sa = claims['kubernetes.io']
    if (sa?.namespace !== namespace || sa.serviceaccount?.name !== account || sa.serviceaccount.uid !== uid) return undefined
    if (!audiences.includes(this.#o.tokenAudience) || typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return undefined
    const lifetime = Math.min(this.#o.tokenExpirationSeconds, claims.exp - claims.iat) * 1000
    const refreshAt = claims.iat * 1000 + Math.floor(lifetime * TOKEN_REFRESH_FRACTION)
    if (this.#o.clock.now() >= refreshAt) return undefined
    this.#remember(worker, refreshAt)
    return refreshAt
  }

  /**
   * Deletes the Worker's deps folder — only when it is the Worker's own, or records no owner (deps
   * written before owners were recorded). Another Worker's folder is left alone (`ownedBy`).
   */
  async removeDeps(worker: Worker): Promise<DepsRemoval> {
    const keys = this.#keys(worker)
    return this.#folders.run(keys.prefix, async () => {
      const owner = await this.#owner(worker, keys, 'remove')
      if (owner && owner.uid !== worker.metadata?.uid) return { removed: 0, ownedBy: owner }
      try {
        return { removed: await this.#o.store.delete(keys.prefix) }
      } catch (cause) {
        throw this.#fail(worker, cause instanceof DepsStoreError ? storeReason(cause) : DepsReason.StoreFailed, cause, undefined, 'remove')
      }
    })
  }

  /** The recorded owner of the folder; undefined when there is none (or none this controller wrote). */
  async #owner(worker: Worker, keys: DepsKeys, verb: 'materialize' | 'remove' = 'materialize'): Promise<DepsOwner | undefined> {
    let body: Uint8Array | undefined
    try {
      body = await this.#o.store.get(keys.owner)
    } catch (cause) {
      throw this.#fail(worker, cause instanceof DepsStoreError ? storeReason(cause) : DepsReason.StoreFailed, cause, undefined, verb)
    }
    return body === undefined ? undefined : decodeOwner(body)
  }

  /**
   * Makes the folder the Worker's: refuses when another live Worker owns it, takes it over when
   * its recorded owner is gone (deleted, or re-created under a new uid), records the Worker.
   */
  async #own(worker: Worker, keys: DepsKeys): Promise<void> {
    const recorded = await this.#owner(worker, keys)
    const me = ownerOf(worker)
    if (recorded?.uid === me.uid) return
    if (recorded && (await this.#isLive(worker, recorded))) {
      const text =
        `deps folder ${keys.prefix} in ${this.#o.store.location} belongs to Worker ${recorded.name} in namespace ${recorded.namespace}; ` +
        `deps are stored by Worker name alone (${keys.prefix}), so two Workers named ${me.name} cannot both run on the sandbox backend: ` +
        `rename this Worker, or delete the one in namespace ${recorded.namespace}`
      throw this.#fail(worker, DepsReason.DepsOwnedByAnotherWorker, undefined, text)
    }
    await this.#put(worker, keys.owner, encodeOwner(me))
  }

  /** True while the Worker `owner` names still exists with the recorded uid (being deleted counts: its cleanup is pending). */
  async #isLive(worker: Worker, owner: DepsOwner): Promise<boolean> {
    const path = workerPath(owner.namespace, owner.name)
    try {
      const found = await ignoreNotFound(this.#o.kube.request<Worker>({ method: 'GET', path }))
      return found?.metadata?.uid === owner.uid
    } catch (cause) {
      throw this.#fail(worker, DepsReason.OwnerCheckFailed, cause, `look up Worker ${owner.namespace}/${owner.name}, the recorded owner of its deps folder: ${(cause as Error).message}`)
    }
  }

  /** When this process last scheduled the Worker's token refresh; undefined when it never delivered one. */
  refreshAt(worker: Worker): number | undefined {
    return this.#refreshAt.get(worker.metadata?.uid ?? '')
  }

  /** Drops the Worker's refresh schedule (its runtime is gone). */
  forget(worker: Worker): void {
    this.#refreshAt.delete(worker.metadata?.uid ?? '')
  }

  #remember(worker: Worker, at: number): void {
    this.#refreshAt.set(worker.metadata?.uid ?? '', at)
  }

  #fail(worker: Worker, reason: string, cause: unknown, detail?: string, verb: 'materialize' | 'remove' = 'materialize'): DepsError {
    const text = detail ?? (cause instanceof Error ? cause.message : String(cause))
    return new DepsError(`${verb} deps of Worker ${workerKey(worker)}: ${text}`, reason, { cause })
  }

  #keys(worker: Worker): DepsKeys {
    try {
      return depsKeys(worker.metadata?.name ?? '')
    } catch (cause) {
      throw this.#fail(worker, DepsReason.InvalidWorkerName, cause)
    }
  }

  async #requestToken(worker: Worker): Promise<{ body: Buffer; refreshAt: number }> {
    const namespace = worker.metadata?.namespace
    try {
      const account = await ensureServiceAccount(this.#o.kube, this.#o, worker, this.#o.serviceAccounts)
      const requested = Math.max(MIN_TOKEN_REQUEST_SECONDS, this.#o.tokenExpirationSeconds)
      const issuedAt = this.#o.clock.now()
      const reply = await this.#o.kube.request<TokenRequestReply>({
        method: 'POST',
        path: resourcePath({ group: '', version: 'v1', plural: 'serviceaccounts', namespace, name: account, subresource: 'token' }),
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [this.#o.tokenAudience], expirationSeconds: requested } },
      })
      const token = reply?.status?.token
      if (!token) throw new Error('the API server returned no token')
      const expires = Date.parse(reply.status?.expirationTimestamp ?? '')
      const granted = Number.isNaN(expires) ? requested * 1000 : expires - issuedAt
      const lifetime = Math.min(this.#o.tokenExpirationSeconds * 1000, granted)
      return { body: Buffer.from(token, 'utf8'), refreshAt: issuedAt + Math.floor(lifetime * TOKEN_REFRESH_FRACTION) }
    } catch (cause) {
      const text = `request a token for ServiceAccount ${namespace}/${runtimeName(this.#o, worker)}: ${(cause as Error).message}`
      throw this.#fail(worker, DepsReason.TokenRequestFailed, cause, text)
    }
  }

  async #put(worker: Worker, key: string, body: Buffer): Promise<DepsObjectInfo> {
    try {
      return await this.#o.store.put(key, body)
    } catch (cause) {
      throw this.#fail(worker, cause instanceof DepsStoreError ? storeReason(cause) : DepsReason.StoreFailed, cause)
    }
  }

  /** Reads `wrote.key` back and compares size and SHA-256 with what was written. */
  async #verify(worker: Worker, wrote: DepsObjectInfo): Promise<void> {
    let body: Uint8Array | undefined
    try {
      body = await this.#o.store.get(wrote.key)
    } catch (cause) {
      throw this.#fail(worker, cause instanceof DepsStoreError ? storeReason(cause) : DepsReason.StoreFailed, cause)
    }
    const read = body === undefined ? undefined : describeBody(wrote.key, body)
    if (read?.size === wrote.size && read.sha256 === wrote.sha256) return
    const what = read === undefined ? 'it is missing' : `${read.size} bytes read, ${wrote.size} written${read.size === wrote.size ? ', contents differ' : ''}`
    throw this.#fail(worker, DepsReason.VerifyFailed, undefined, `read back deps object ${wrote.key} in ${this.#o.store.location}: ${what}`)
  }
}
