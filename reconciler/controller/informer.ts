// Keeps one kind's cache alive and honest. client-node's informer stops for good on most errors
// and its watch can go silent (docs/reconcile.md): this supervisor restarts it with jittered
// backoff, relists when the watch has been quiet too long and periodically, and counts what it missed.

import type { V1ObjectMeta } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { backoffDelay, type BackoffPolicy } from './backoff.ts'
import { systemClock, sleep, type Clock, type TimerHandle } from './clock.ts'
import { describeError, retryAfterMs } from './kube.ts'
import { RestartReason, type ReconcilerMetrics } from './metrics.ts'

/** The parts of a Kubernetes object the supervisor reads. */
export interface ObjectWithMeta {
  metadata?: Pick<V1ObjectMeta, 'name' | 'namespace' | 'resourceVersion'>
}

/** `namespace/name` of an object: its key in a cache and, for the primary kind, in the queue. */
export function objectKey(o: ObjectWithMeta): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`
}

/** The namespace (undefined for a cluster-scoped key `/name`) and name of an objectKey. */
export function parseObjectKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/')
  return { namespace: key.slice(0, Math.max(0, slash)) || undefined, name: key.slice(slash + 1) }
}

/** The subset of client-node's `Informer & ObjectCache` (ListWatch) used here. */
export interface CacheInformer<T> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void
  start(): Promise<void>
  stop(): Promise<void>
  get(name: string, namespace?: string): T | undefined
  list(namespace?: string): ReadonlyArray<T>
  /** The objects filed under owner `key` (`namespace/owner`), when the cache keeps that index (controller/owner-index.ts). */
  byOwner?(key: string): T[]
}

/** Restart pacing: client-node's own reconnect pacing is 1 s → 30 s (cache.ts). */
export const RESTART_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.5 })
/** Relist when no event arrived for this long: Pepr's staleness bar (docs/reconcile.md, ≤ 5 min). */
export const STALE_AFTER_MS = 5 * 60_000
/** Relist at least this often: KFC's 10 min (docs/reconcile.md). */
export const RELIST_EVERY_MS = 10 * 60_000
/** A mismatch between a relist and the cache must outlive this grace to count as a miss. */
export const MISS_GRACE_MS = 2000

export interface SupervisedInformerOptions<T extends ObjectWithMeta> {
  /** Kind name for logs and metrics (`Worker`, `Pod`). */
  kind: string
  /** A fresh, unstarted informer (client-node ListWatch); called for every (re)start. */
  create: () => CacheInformer<T>
  /** One list call with the informer's path and selectors, for verification relists. */
  list: () => Promise<{ items: ReadonlyArray<ObjectWithMeta>; resourceVersion?: string | undefined }>
  /** Called for every object that was added, changed or deleted (level-based: enqueue only). */
  onChange: (obj: T) => void
  log: Logger
  clock?: Clock
  metrics?: ReconcilerMetrics | undefined
  random?: () => number
  restartBackoff?: BackoffPolicy
  staleAfterMs?: number
  relistEveryMs?: number
  missGraceMs?: number
}

const rvNumber = (rv: string | undefined): number => (rv && /^\d+$/.test(rv) ? Number(rv) : NaN)

/**
 * One supervised informer. `get`/`list` read the current cache, which stays readable while a
 * replacement starts. A replacement only takes over once its list completed; the objects it
 * reported meanwhile, and those that vanished, are then passed to `onChange`.
 */
export class SupervisedInformer<T extends ObjectWithMeta> {
  readonly kind: string
  private readonly o: SupervisedInformerOptions<T>
  private readonly clock: Clock
  private current: CacheInformer<T> | undefined
  private starting: CacheInformer<T> | undefined
  private buffered: T[] = []
  private failures = 0
  private restartTimer: TimerHandle | undefined
  private watchdog: TimerHandle | undefined
  private stopped = true
  private verifying = false
  private everSynced = false
  private lastEventAt: number
  private lastVerifyAt: number
  private failingSince: number | undefined
  private readonly abort = new AbortController()

  constructor(options: SupervisedInformerOptions<T>) {
    this.o = options
    this.kind = options.kind
    this.clock = options.clock ?? systemClock
    this.lastEventAt = this.lastVerifyAt = this.clock.now()
    options.metrics?.watchInformer(this.kind, () => this.clock.now() - this.lastEventAt)
  }

  /** Starts the first informer and the watchdog; returns at once (see `hasSynced`). */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    void this.launch()
    this.armWatchdog()
  }

  /** Stops every informer and timer. */
  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    if (this.restartTimer) this.clock.clearTimeout(this.restartTimer)
    if (this.watchdog) this.clock.clearTimeout(this.watchdog)
    const all = [this.current, this.starting].filter((i): i is CacheInformer<T> => i !== undefined)
    this.starting = undefined
    await Promise.all(all.map((i) => i.stop().catch(() => undefined)))
  }

  /** True once a full list has been loaded into the cache (stays true across restarts). */
  hasSynced(): boolean {
    return this.everSynced
  }

  /** Liveness: true, or why this cache cannot be trusted (failing to restart for `afterMs`). */
  health(afterMs: number): true | string {
    const since = this.failingSince
    if (since !== undefined && this.clock.now() - since > afterMs) {
      return `${this.kind} informer failing for ${Math.round((this.clock.now() - since) / 1000)} s`
    }
    return true
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace)
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.current?.list(namespace) ?? []
  }

  /** The cached objects of owner `key` (`namespace/owner`); empty when the cache keeps no owner index. */
  byOwner(key: string): T[] {
    return this.current?.byOwner?.(key) ?? []
  }

  /** Lists now and compares with the cache; restarts the informer when the watch missed changes. Resolves the misses. */
  async relist(): Promise<number> {
    if (this.verifying || this.stopped || !this.current) return 0
    this.verifying = true
    this.lastVerifyAt = this.clock.now()
    try {
      const misses = await this.countMisses()
      if (misses > 0 && !this.stopped) {
        this.o.metrics?.relistMissed(this.kind, misses)
        this.o.metrics?.informerRestarted(this.kind, RestartReason.RelistMiss)
        this.o.log.warn({ kind: this.kind, misses }, 'relist found changes the watch never delivered; restarting the informer')
        await this.launch()
      }
      return misses
    } catch (error) {
      this.o.log.warn({ kind: this.kind, err: describeError(error) }, 'verification relist failed')
      return 0
    } finally {
      this.verifying = false
    }
  }

  private async countMisses(): Promise<number> {
    const listed = await this.o.list()
    const suspects = (): { listedAhead: ObjectWithMeta[]; cachedOnly: T[] } => {
      const byKey = new Map(listed.items.map((o) => [objectKey(o), o]))
      const listedAhead = listed.items.filter((o) => {
        const cached = this.cacheGet(o)
        if (!cached) return true
        if (cached.metadata?.resourceVersion === o.metadata?.resourceVersion) return false
        // The cache may legitimately be ahead of the list (an event after the list was served).
        return !(rvNumber(cached.metadata?.resourceVersion) > rvNumber(o.metadata?.resourceVersion))
      })
      const listRv = rvNumber(listed.resourceVersion)
      const cachedOnly = this.list().filter((o) => !byKey.has(objectKey(o)) && !(rvNumber(o.metadata?.resourceVersion) > listRv))
      return { listedAhead, cachedOnly }
    }
    const first = suspects()
    if (first.listedAhead.length + first.cachedOnly.length === 0) return 0
    // Events in flight when the list was served arrive within the grace; only what remains is a miss.
    await sleep(this.clock, this.o.missGraceMs ?? MISS_GRACE_MS, this.abort.signal)
    const second = suspects()
    return second.listedAhead.length + second.cachedOnly.length
  }

  private cacheGet(o: ObjectWithMeta): T | undefined {
    return this.get(o.metadata?.name ?? '', o.metadata?.namespace || undefined)
  }

  /** Starts a fresh informer; it replaces the current one once its list is loaded. */
  private async launch(): Promise<void> {
    if (this.stopped) return
    const previousStarting = this.starting
    let inst: CacheInformer<T>
    try {
      inst = this.o.create()
    } catch (error) {
      this.scheduleRestart(error)
      return
    }
    this.starting = inst
    this.buffered = []
    let failed = false
    if (previousStarting) void previousStarting.stop().catch(() => undefined)
    const deliver = (obj: T) => {
      if (inst === this.current) {
        this.lastEventAt = this.clock.now()
        this.o.onChange(obj)
      } else if (inst === this.starting) this.buffered.push(obj)
    }
    inst.on('add', deliver)
    inst.on('update', deliver)
    inst.on('delete', deliver)
    inst.on('connect', () => {
      if (inst === this.current) this.failingSince = undefined
    })
    inst.on('error', (err) => {
      failed = true
      if (inst === this.current || inst === this.starting) this.onError(inst, err)
    })
    try {
      await inst.start()
    } catch (error) {
      failed = true
      this.onError(inst, error)
    }
    if (failed || this.stopped || inst !== this.starting) return
    this.takeOver(inst)
  }

  private takeOver(inst: CacheInformer<T>): void {
    const old = this.current
    this.current = inst
    this.starting = undefined
    this.everSynced = true
    this.failures = 0
    this.failingSince = undefined
    this.lastEventAt = this.lastVerifyAt = this.clock.now()
    const seen = new Set<string>()
    for (const obj of this.buffered.splice(0)) {
      seen.add(objectKey(obj))
      this.o.onChange(obj)
    }
    if (old) {
      // Objects the old cache held that the fresh list no longer has were deleted unseen.
      for (const obj of old.list()) {
        if (!seen.has(objectKey(obj)) && !this.cacheGet(obj)) this.o.onChange(obj)
      }
      void old.stop().catch(() => undefined)
    }
  }

  private onError(inst: CacheInformer<T>, error: unknown): void {
    if (this.stopped) return
    if (inst === this.starting) this.starting = undefined
    void inst.stop().catch(() => undefined)
    this.scheduleRestart(error)
  }

  private scheduleRestart(error: unknown): void {
    this.failures++
    this.failingSince ??= this.clock.now()
    // A 429 (API Priority and Fairness, storage re-initializing) says when to come back: honour it.
    const delay = Math.max(backoffDelay(this.o.restartBackoff ?? RESTART_BACKOFF, this.failures, this.o.random), retryAfterMs(error) ?? 0)
    this.o.metrics?.informerRestarted(this.kind, RestartReason.Error)
    this.o.log.warn({ kind: this.kind, err: describeError(error), retryInMs: delay }, 'informer stopped on an error; restarting')
    if (this.restartTimer) this.clock.clearTimeout(this.restartTimer)
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined
      if (!this.starting) void this.launch()
    }, delay)
  }

  private armWatchdog(): void {
    const stale = this.o.staleAfterMs ?? STALE_AFTER_MS
    const every = this.o.relistEveryMs ?? RELIST_EVERY_MS
    const tick = Math.max(100, Math.min(stale, every) / 4)
    this.watchdog = this.clock.setTimeout(() => {
      if (this.stopped) return
      const now = this.clock.now()
      const quiet = now - this.lastEventAt >= stale && now - this.lastVerifyAt >= stale
      if (quiet || now - this.lastVerifyAt >= every) void this.relist()
      this.armWatchdog()
    }, tick)
  }
}
