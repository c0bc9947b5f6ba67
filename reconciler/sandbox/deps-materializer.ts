// Delivers a sandbox Worker's deps before its claim exists (docs/deps.md, docs/deps.md): claim
// the folder for the Worker (deps-ownership.ts), render the env (spec.ts), issue a bounded token
// (auth-token.ts), write env → write token → read both back (deps/verify.ts), and schedule the
// token's rewrite. Removes only folders the Worker owns. One folder's work at a time in this process.

import type { Worker } from '../../api/worker.ts'
import type { RuntimeNaming } from '../backend/contract.ts'
import type { ServiceAccountCache } from '../backend/service-account.ts'
import type { Clock } from '../controller/clock.ts'
import type { KubeClient } from '../controller/kube.ts'
import { type DepsOwner, KeyedLock } from '../deps/owner.ts'
import { depsKeys, type DepsKeys, type DepsObjectInfo, type DepsStore } from '../deps/store.ts'
import { readBackMismatch } from '../deps/verify.ts'
import { requestToken, type TokenSettings } from './auth-token.ts'
import { depsFailure, DepsReason, storeReason } from './deps-errors.ts'
import { claimFolder, recordedOwner } from './deps-ownership.ts'
import { sandboxEnv, type SandboxEnvOptions } from './spec.ts'
import type { TokenSchedule } from './token-schedule.ts'

export interface DepsMaterializerOptions extends RuntimeNaming, TokenSettings {
  kube: KubeClient
  store: DepsStore
  /** Cluster URLs for the env (empty ones are left out). */
  env: SandboxEnvOptions
  clock: Clock
  /** Where each delivered token's refresh time is recorded. */
  tokens: TokenSchedule
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

/** What a cleanup did: how many objects went, or whose folder it left alone. */
export interface DepsRemoval {
  removed: number
  /** Set when the folder belongs to another Worker: nothing was deleted. */
  ownedBy?: DepsOwner
}

/** Writes, refreshes and removes Workers' deps. Every failure is a DepsError (deps-errors.ts). */
export class DepsMaterializer {
  readonly #o: DepsMaterializerOptions
  readonly #folders = new KeyedLock()

  constructor(options: DepsMaterializerOptions) {
    this.#o = options
  }

  /**
   * Full delivery for a new or resumed runtime: owner → env → token → read both back, with the
   * extra system keys `system` (the credentials). Throws DepsError(DepsOwnedByAnotherWorker)
   * without writing anything when the folder is another live Worker's.
   */
  async materialize(worker: Worker, system: Record<string, string> = {}): Promise<Delivery> {
    const keys = this.#keys(worker)
    return this.#folders.run(keys.prefix, async () => {
      await claimFolder(this.#o, worker, keys)
      const env = sandboxEnv(worker, this.#o.env, system)
      const token = await requestToken(this.#o, worker)
      const wroteEnv = await this.#put(worker, keys.env, Buffer.from(env.file, 'utf8'))
      const wroteToken = await this.#put(worker, keys.token, token.body)
      // Both written (env first), then both read back at once: neither read depends on the other.
      await Promise.all([this.#verify(worker, wroteEnv), this.#verify(worker, wroteToken)])
      this.#o.tokens.set(worker, token.refreshAt)
      return { warnings: env.warnings, refreshAt: token.refreshAt }
    })
  }

  /** A fresh token rewritten (and read back) for a runtime that already runs; the folder must still be the Worker's. */
  async refreshToken(worker: Worker): Promise<number> {
    const keys = this.#keys(worker)
    return this.#folders.run(keys.prefix, async () => {
      await claimFolder(this.#o, worker, keys)
      const token = await requestToken(this.#o, worker)
      await this.#verify(worker, await this.#put(worker, keys.token, token.body))
      this.#o.tokens.set(worker, token.refreshAt)
      return token.refreshAt
    })
  }

  /**
   * Deletes the Worker's deps folder — only when it is the Worker's own, or records no owner (deps
   * written before owners were recorded). Another Worker's folder is left alone (`ownedBy`).
   */
  async removeDeps(worker: Worker): Promise<DepsRemoval> {
    const keys = this.#keys(worker)
    return this.#folders.run(keys.prefix, async () => {
      const owner = await recordedOwner(this.#o, worker, keys, 'remove')
      if (owner && owner.uid !== worker.metadata?.uid) return { removed: 0, ownedBy: owner }
      try {
        return { removed: await this.#o.store.delete(keys.prefix) }
      } catch (cause) {
        throw depsFailure(worker, storeReason(cause), cause, undefined, 'remove')
      }
    })
  }

  #keys(worker: Worker): DepsKeys {
    try {
      return depsKeys(worker.metadata?.name ?? '')
    } catch (cause) {
      throw depsFailure(worker, DepsReason.InvalidWorkerName, cause)
    }
  }

  async #put(worker: Worker, key: string, body: Buffer): Promise<DepsObjectInfo> {
    try {
      return await this.#o.store.put(key, body)
    } catch (cause) {
      throw depsFailure(worker, storeReason(cause), cause)
    }
  }

  /** Reads `wrote.key` back; a difference in size or SHA-256 is DepsError(VerifyFailed). */
  async #verify(worker: Worker, wrote: DepsObjectInfo): Promise<void> {
    let mismatch: string | undefined
    try {
      mismatch = await readBackMismatch(this.#o.store, wrote)
    } catch (cause) {
      throw depsFailure(worker, storeReason(cause), cause)
    }
    if (mismatch !== undefined) throw depsFailure(worker, DepsReason.VerifyFailed, undefined, `read back deps object ${wrote.key} in ${this.#o.store.location}: ${mismatch}`)
  }
}
