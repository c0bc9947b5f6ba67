// The per-key work queue (client-go workqueue semantics, k8s.io/client-go/util/workqueue): keys are
// de-duplicated, a key is never handed to two workers at once, a re-add while a key is being
// processed marks it dirty so it runs exactly once more, and retries back off per key.

import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.ts'
import { systemClock, type Clock, type TimerHandle } from './clock.ts'

export interface WorkQueueOptions {
  clock?: Clock
  backoff?: BackoffPolicy
  random?: () => number
}

/**
 * A de-duplicating, delaying, rate-limited queue of string keys (`namespace/name`).
 *
 * Guarantees: a key is in at most one of {ready, processing} at a time; N adds of a key before it
 * is taken collapse into one; an add during processing re-queues the key once after `done`;
 * `addAfter` keeps only the earliest pending time per key. After `shutDown`, `get` resolves
 * `undefined` and adds are ignored; keys already handed out still need `done`.
 */
export class WorkQueue {
  private readonly clock: Clock
  private readonly backoff: BackoffPolicy
  private readonly random: () => number
  private readonly ready: string[] = []
  /** Keys that need processing: queued in `ready`, or re-added while processing. */
  private readonly dirty = new Set<string>()
  /** Keys handed out by `get` and not yet `done`, with the time they were handed out. */
  private readonly processing = new Map<string, number>()
  private readonly waiting = new Map<string, { at: number; handle: TimerHandle }>()
  private readonly failures = new Map<string, number>()
  private readonly getters: Array<(key: string | undefined) => void> = []
  private shuttingDown = false

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock
    this.backoff = options.backoff ?? DEFAULT_BACKOFF
    this.random = options.random ?? Math.random
  }

  /** Marks `key` as needing a reconcile now. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return
    this.dirty.add(key)
    if (this.processing.has(key)) return
    const getter = this.getters.shift()
    if (getter) this.handOut(key, getter)
    else this.ready.push(key)
  }

  /** Adds `key` after `delayMs`; an earlier pending time for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return
    if (delayMs <= 0) return this.add(key)
    const at = this.clock.now() + delayMs
    const pending = this.waiting.get(key)
    if (pending && pending.at <= at) return
    if (pending) this.clock.clearTimeout(pending.handle)
    const handle = this.clock.setTimeout(() => {
      this.waiting.delete(key)
      this.add(key)
    }, delayMs)
    this.waiting.set(key, { at, handle })
  }

  /**
   * Adds `key` after its next backoff delay (the failure count grows until `forget`), or after
   * `minDelayMs` when that is longer (a server's Retry-After). Returns the delay used.
   */
  addRateLimited(key: string, minDelayMs = 0): number {
    const n = (this.failures.get(key) ?? 0) + 1
    this.failures.set(key, n)
    const delay = Math.max(backoffDelay(this.backoff, n, this.random), minDelayMs)
    this.addAfter(key, delay)
    return delay
  }

  /** Resets the backoff of `key` (after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key)
  }

  /** Failures counted for `key` since the last `forget`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0
  }

  /** Waits for the next ready key; `undefined` once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const key = this.ready.shift()
      if (key === undefined) this.getters.push(resolve)
      else this.handOut(key, resolve)
    })
  }

  /** Ends processing of `key`; if it was re-added meanwhile, it becomes ready again. */
  done(key: string): void {
    this.processing.delete(key)
    if (!this.dirty.has(key) || this.shuttingDown) return
    const getter = this.getters.shift()
    if (getter) this.handOut(key, getter)
    else this.ready.push(key)
  }

  /** Stops handing out keys: pending `get`s resolve `undefined`, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true
    for (const { handle } of this.waiting.values()) this.clock.clearTimeout(handle)
    this.waiting.clear()
    for (const getter of this.getters.splice(0)) getter(undefined)
  }

  /** Keys ready to be handed out. */
  depth(): number {
    return this.ready.length
  }

  /** Keys being processed now. */
  inFlight(): number {
    return this.processing.size
  }

  /** Keys waiting for a delay (requeueAfter or backoff). */
  delayed(): number {
    return this.waiting.size
  }

  /** The key processed longest, with how long (ms); undefined when nothing is in flight. */
  oldestInFlight(): { key: string; ms: number } | undefined {
    let oldest: { key: string; ms: number } | undefined
    const now = this.clock.now()
    for (const [key, since] of this.processing) {
      if (!oldest || now - since > oldest.ms) oldest = { key, ms: now - since }
    }
    return oldest
  }

  private handOut(key: string, resolve: (key: string) => void): void {
    this.dirty.delete(key)
    this.processing.set(key, this.clock.now())
    resolve(key)
  }
}
