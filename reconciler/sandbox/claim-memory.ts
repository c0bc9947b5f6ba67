// Read-your-writes for the claims the sandbox backend creates (docs/architecture.md): until the
// informer cache shows a claim just created, the backend must still count it as existing, or the
// next pass (started by any event of the Worker) would claim a second time. Claim names repeat (a
// re-claim reuses the name), so the cache counts only once it shows the very claim created (same uid).

import type { Clock } from '../controller/clock.ts'
import { stripManagedFields } from '../controller/cache-transform.ts'
import type { SandboxClaim } from './objects.ts'

/**
 * How long a claim this backend just created counts as existing while the informer cache has not
 * delivered it yet (the watch event normally arrives within milliseconds).
 */
export const CREATED_MEMORY_MS = 60_000

/** The claims created by this process, by `namespace/name`, until the cache shows them. */
export class CreatedClaims {
  readonly #clock: Clock
  readonly #ttlMs: number
  /** In creation order, so expired entries are at the front. */
  readonly #created = new Map<string, { claim: SandboxClaim; at: number }>()

  constructor(clock: Clock, ttlMs = CREATED_MEMORY_MS) {
    this.#clock = clock
    this.#ttlMs = ttlMs
  }

  /**
   * The claim to act on for `key`: `cached` (the informer's, or undefined), unless a claim created
   * here is newer than what the cache shows — then that one, until the cache catches up (same uid)
   * or the memory expires.
   */
  resolve(key: string, cached: SandboxClaim | undefined): SandboxClaim | undefined {
    const created = this.#created.get(key)
    if (!created) return cached
    const caughtUp = cached !== undefined && cached.metadata.uid === created.claim.metadata.uid
    if (caughtUp || this.#clock.now() - created.at > this.#ttlMs) {
      this.#created.delete(key)
      return cached
    }
    return created.claim
  }

  /**
   * Keeps `claim` (as the API server stored it) until the cache shows it. Expired entries are
   * dropped here: a claim whose Worker is not reconciled again soon (the next pass may be a token
   * refresh an hour later) must not stay in memory until then.
   */
  remember(key: string, claim: SandboxClaim): void {
    const now = this.#clock.now()
    for (const [k, v] of this.#created) {
      if (now - v.at <= this.#ttlMs) break
      this.#created.delete(k)
    }
    this.#created.delete(key)
    this.#created.set(key, { claim: stripManagedFields(claim), at: now })
  }

  /** Forgets the claim of `key` (it was deleted). */
  forget(key: string): void {
    this.#created.delete(key)
  }

  /** How many claims are remembered (for tests and memory checks). */
  size(): number {
    return this.#created.size
  }
}
