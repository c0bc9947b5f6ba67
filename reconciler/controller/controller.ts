// The generic controller: supervised informers per watched kind whose handlers only enqueue
// `namespace/name` keys, a work queue, and worker loops that apply the retry contract
// (controller-runtime pkg/reconcile): `{ requeueAfterMs }`, throw → backoff, TerminalError → no retry.

import type { Logger } from 'pino'
import type { BackoffPolicy } from './backoff.ts'
import { systemClock, type Clock } from './clock.ts'
import { describeError, isConflict, retryAfterMs } from './kube.ts'
import { SupervisedInformer, type CacheInformer, type ObjectWithMeta } from './informer.ts'
import { ReconcileResult, type ReconcilerMetrics } from './metrics.ts'
import { indexByOwner } from './owner-index.ts'
import { WorkQueue } from './queue.ts'

/** What a reconcile asks for: nothing (done until the next change) or a timed re-run. */
export interface Result {
  requeueAfterMs?: number
}

/** Read access to one watched kind's cache: by name, by namespace, by owner key (`namespace/owner`). */
export type CacheReader<T> = Pick<SupervisedInformer<T & ObjectWithMeta>, 'get' | 'list' | 'byOwner'>

/** Reconciles the object named by `key` (`namespace/name`). */
export type Reconcile = (key: string) => Promise<Result | void>

/** A failure retrying cannot fix (invalid spec, a bug): logged, not retried until the next change. */
export class TerminalError extends Error {
  override name = 'TerminalError'
}

/** One watched kind: how to build its informer and how its objects map to reconcile keys. */
export interface WatchSource<T extends ObjectWithMeta = ObjectWithMeta> {
  kind: string
  create: () => CacheInformer<T>
  list: () => Promise<{ items: ReadonlyArray<ObjectWithMeta>; resourceVersion?: string | undefined }>
  /** Keys to reconcile when `obj` changes: itself for the primary kind, its owner otherwise. */
  keys: (obj: T) => string[]
  /** Keys the cache's owner index files `obj` under (default `keys`). */
  index?: (obj: T) => string[]
  /** The controller's own kind: its keys are its own names, so its cache needs no owner index. */
  primary?: boolean
  /** True for a change that needs no reconcile: the watch echo of the controller's own write (controller/own-writes.ts). */
  isEcho?: (obj: T) => boolean
}

export interface ControllerOptions {
  /**
   * The controller's name, lower case, after the kind it reconciles (`worker`): its log lines
   * carry the key being reconciled in a field of that name, as controller-runtime's do.
   */
  name: string
  sources: WatchSource<any>[]
  reconcile: Reconcile
  log: Logger
  clock?: Clock
  metrics?: ReconcilerMetrics | undefined
  random?: () => number
  /** Parallel reconciles (of different keys). controller-runtime's default is 1. */
  concurrency?: number
  backoff?: BackoffPolicy
  /** Informer supervision knobs (see informer.ts). */
  staleAfterMs?: number
  relistEveryMs?: number
  /** Liveness fails when one reconcile runs longer than this, or an informer fails this long. */
  stuckAfterMs?: number
}

/** Liveness threshold: 10 min, well beyond a reconcile's few 30 s-bounded API calls. */
export const STUCK_AFTER_MS = 10 * 60_000

/** The controller. Caches run on every replica; workers only while `startWorkers` is in effect. */
export class Controller {
  private readonly o: ControllerOptions
  private readonly clock: Clock
  private readonly informers = new Map<string, SupervisedInformer<any>>()
  private queue: WorkQueue | undefined
  private loops: Promise<void>[] = []
  private lastDequeueAt: number

  constructor(options: ControllerOptions) {
    this.o = options
    this.clock = options.clock ?? systemClock
    this.lastDequeueAt = this.clock.now()
    for (const source of options.sources) {
      this.informers.set(source.kind, new SupervisedInformer({
        kind: source.kind,
        create: source.primary ? source.create : () => indexByOwner(source.create(), source.index ?? source.keys),
        list: source.list,
        onChange: (obj) => {
          if (source.isEcho?.(obj)) return
          for (const key of source.keys(obj)) this.enqueue(key)
        },
        log: options.log,
        clock: this.clock,
        metrics: options.metrics,
        random: options.random ?? Math.random,
        staleAfterMs: options.staleAfterMs,
        relistEveryMs: options.relistEveryMs,
      }))
    }
  }

  /** Starts every informer; returns at once. */
  startCaches(): void {
    for (const informer of this.informers.values()) informer.start()
  }

  /** True once every informer has loaded its first full list. */
  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced())
  }

  /** The cache of `kind` (read-only use: objects are shared with the informer), indexed by the source's `keys`. */
  cache<T extends ObjectWithMeta>(kind: string): CacheReader<T> {
    const informer = this.informers.get(kind)
    if (!informer) throw new Error(`read cache of kind ${kind}: not watched by controller ${this.o.name}`)
    return informer
  }

  /** Queues `key` for a reconcile (ignored while workers are stopped). */
  enqueue(key: string): void {
    this.queue?.add(key)
  }

  /**
   * Waits for the caches (or `signal`), then runs the worker loops and queues every known key.
   * Resolves once the workers run; a no-op when they already do.
   */
  async startWorkers(signal?: AbortSignal): Promise<void> {
    if (this.queue) return
    while (!this.hasSynced()) {
      if (signal?.aborted) return
      await new Promise((resolve) => this.clock.setTimeout(() => resolve(undefined), 100))
    }
    if (signal?.aborted || this.queue) return
    const queue = new WorkQueue({ clock: this.clock, backoff: this.o.backoff, random: this.o.random })
    this.queue = queue
    this.o.metrics?.watchQueue(() => queue.depth())
    this.lastDequeueAt = this.clock.now()
    const concurrency = Math.max(1, this.o.concurrency ?? 1)
    this.loops = Array.from({ length: concurrency }, () => this.work(queue))
    for (const source of this.o.sources) {
      for (const obj of this.informers.get(source.kind)!.list()) for (const key of source.keys(obj)) queue.add(key)
    }
    this.o.log.info({ controller: this.o.name, concurrency }, 'workers started')
  }

  /** Stops taking work and waits for the reconciles in flight to finish. */
  async stopWorkers(): Promise<void> {
    const queue = this.queue
    if (!queue) return
    this.queue = undefined
    queue.shutDown()
    await Promise.all(this.loops)
    this.loops = []
    this.o.log.info({ controller: this.o.name }, 'workers stopped')
  }

  /** Stops the workers (draining) and then every informer. */
  async stop(): Promise<void> {
    await this.stopWorkers()
    await Promise.all([...this.informers.values()].map((i) => i.stop()))
  }

  /** Liveness: true, or what is stuck (a reconcile, the queue, an informer). */
  health(): true | string {
    const limit = this.o.stuckAfterMs ?? STUCK_AFTER_MS
    for (const informer of this.informers.values()) {
      const h = informer.health(limit)
      if (h !== true) return h
    }
    const queue = this.queue
    if (!queue) return true
    const oldest = queue.oldestInFlight()
    if (oldest && oldest.ms > limit) return `reconcile of ${oldest.key} in flight for ${Math.round(oldest.ms / 1000)} s`
    const idleWorkers = queue.inFlight() < Math.max(1, this.o.concurrency ?? 1)
    const waited = this.clock.now() - this.lastDequeueAt
    if (queue.depth() > 0 && idleWorkers && waited > limit) return `work queue stalled: ${queue.depth()} keys waiting for ${Math.round(waited / 1000)} s`
    return true
  }

  private async work(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.get()
      if (key === undefined) return
      this.lastDequeueAt = this.clock.now()
      try {
        await this.process(queue, key)
      } finally {
        queue.done(key)
      }
    }
  }

  private async process(queue: WorkQueue, key: string): Promise<void> {
    const started = this.clock.now()
    const log = this.o.log.child({ [this.o.name]: key })
    const seconds = () => (this.clock.now() - started) / 1000
    try {
      const result = (await this.o.reconcile(key)) ?? {}
      queue.forget(key)
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) {
        queue.addAfter(key, result.requeueAfterMs)
        this.o.metrics?.reconciled(ReconcileResult.Requeue, seconds())
      } else {
        this.o.metrics?.reconciled(ReconcileResult.Success, seconds())
      }
    } catch (error) {
      if (error instanceof TerminalError) {
        queue.forget(key)
        this.o.metrics?.reconciled(ReconcileResult.Terminal, seconds())
        log.error({ err: describeError(error) }, `reconcile failed; not retrying until the ${this.o.name} changes`)
        return
      }
      const delay = queue.addRateLimited(key, retryAfterMs(error) ?? 0)
      this.o.metrics?.reconciled(ReconcileResult.Error, seconds())
      this.o.metrics?.retried()
      const fields = { err: describeError(error), retryInMs: delay, retries: queue.retries(key) }
      if (isConflict(error)) log.debug(fields, 'reconcile hit a write conflict; retrying')
      else log.warn(fields, 'reconcile failed; retrying with backoff')
    }
  }
}
