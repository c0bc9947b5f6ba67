// Keeps a running sandbox's auth token fresh (docs/deps.md, docs/deps.md): rewritten once its
// refresh time has come; a process that never delivered the Worker's token (it just started, or
// took over as leader) keeps the stored one while it is still good instead of rewriting every
// Worker's token on its first pass; a failed rewrite keeps the runtime and tries again soon.

import type { Logger } from 'pino'
import type { Worker } from '../../api/worker.ts'
import { DepsError, runtimeName, type RuntimeNaming, workerKey } from '../backend/contract.ts'
import type { ServiceAccountCache } from '../backend/service-account.ts'
import type { Clock } from '../controller/clock.ts'
import { depsKeys, type DepsStore } from '../deps/store.ts'
import { storedTokenRefreshAt, type TokenSettings } from './auth-token.ts'
import type { TokenSchedule } from './token-schedule.ts'

/** Retry a failed token refresh this soon while the current token is still valid. */
export const TOKEN_RETRY_MS = 30_000

export interface TokenFreshnessOptions extends RuntimeNaming, TokenSettings {
  tokens: TokenSchedule
  /** Rewrites the Worker's token and returns its next refresh time (DepsMaterializer.refreshToken). */
  refresh: (worker: Worker) => Promise<number>
  /** Where the stored token is read from. */
  store: DepsStore
  /** The ServiceAccounts as they exist now (a stored token must be for this very account). */
  serviceAccounts?: ServiceAccountCache | undefined
  clock: Clock
  log: Logger
}

/** The token's state after a pass: when to look again, and what the user should know. */
export interface Freshness {
  refreshAt: number
  /** Set when the rewrite failed: the runtime keeps its current token meanwhile. */
  warning?: string
}

/** Decides, per pass over a running sandbox, whether its token is rewritten. */
export class TokenFreshness {
  readonly #o: TokenFreshnessOptions

  constructor(options: TokenFreshnessOptions) {
    this.#o = options
  }

  /** Rewrites the Worker's token when it is due (or unknown and not good in the store); see the file header. */
  async keep(worker: Worker): Promise<Freshness> {
    const now = this.#o.clock.now()
    let refreshAt = this.#o.tokens.get(worker)
    if (refreshAt === undefined) {
      refreshAt = await this.#adoptStored(worker)
      if (refreshAt !== undefined) this.#o.log.debug({ worker: workerKey(worker), nextRefreshInMs: refreshAt - now }, 'kept the stored auth token')
    }
    if (refreshAt !== undefined && now < refreshAt) return { refreshAt }
    try {
      refreshAt = await this.#o.refresh(worker)
      this.#o.log.info({ worker: workerKey(worker), nextRefreshInMs: refreshAt - now }, 'rewrote the auth token')
      return { refreshAt }
    } catch (error) {
      if (!(error instanceof DepsError)) throw error
      // The current token may still be valid: keep the runtime, say so, try again soon.
      return { refreshAt: now + TOKEN_RETRY_MS, warning: `could not refresh the auth token (${error.reason}): ${error.message}` }
    }
  }

  /** Drops the Worker's schedule (its runtime is gone). */
  forget(worker: Worker): void {
    this.#o.tokens.forget(worker)
  }

  /**
   * The stored token's refresh time when it is still good for the Worker's ServiceAccount as it
   * exists now (auth-token.ts storedTokenRefreshAt), remembered; undefined when it must be
   * rewritten (missing, unreadable, for another account or audience, due). Reads one object.
   */
  async #adoptStored(worker: Worker): Promise<number | undefined> {
    const namespace = worker.metadata?.namespace ?? ''
    const account = runtimeName(this.#o, worker)
    const accountUid = this.#o.serviceAccounts?.get(account, namespace)?.metadata?.uid
    if (!accountUid) return undefined
    let body: Uint8Array | undefined
    try {
      body = await this.#o.store.get(depsKeys(worker.metadata?.name ?? '').token)
    } catch {
      return undefined // an invalid name or an unreadable store: the rewrite reports it
    }
    if (body === undefined) return undefined
    const expected = { namespace, account, accountUid, audience: this.#o.tokenAudience, lifetimeSeconds: this.#o.tokenExpirationSeconds }
    const refreshAt = storedTokenRefreshAt(body, expected, this.#o.clock.now())
    if (refreshAt !== undefined) this.#o.tokens.set(worker, refreshAt)
    return refreshAt
  }
}
