// Prometheus metrics of the reconciler (docs/operations.md observability): reconcile outcomes and
// duration, queue depth and retries, informer restarts, relist misses and last-event age, and
// leadership. Registered on the caller's Registry; nothing global.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

const P = 'worker_runtime_controller_'
export const METRIC_RECONCILE_TOTAL = `${P}reconcile_total`
export const METRIC_RECONCILE_DURATION = `${P}reconcile_duration_seconds`
export const METRIC_QUEUE_DEPTH = `${P}workqueue_depth`
export const METRIC_QUEUE_RETRIES = `${P}workqueue_retries_total`
export const METRIC_INFORMER_RESTARTS = `${P}informer_restarts_total`
export const METRIC_RELIST_MISSES = `${P}informer_relist_misses_total`
export const METRIC_LAST_EVENT_AGE = `${P}informer_last_event_age_seconds`
export const METRIC_LEADER = `${P}leader`
/** Set by the start-up CRD checks (sandbox/crd-checks.ts), per capability: 1 the installed CRD stores it, 0 not. */
export const METRIC_CRD_CAPABILITY = `${P}crd_capability`

/** How one reconcile ended. */
export const ReconcileResult = { Success: 'success', Requeue: 'requeue', Error: 'error', Terminal: 'terminal' } as const
export type ReconcileResult = (typeof ReconcileResult)[keyof typeof ReconcileResult]

/** Why an informer was restarted. */
export const RestartReason = { Error: 'error', RelistMiss: 'relist_miss' } as const
export type RestartReason = (typeof RestartReason)[keyof typeof RestartReason]

/** The reconciler's metric handles. Sources (`watchQueue`, `watchInformer`) are sampled at scrape time. */
export interface ReconcilerMetrics {
  reconciled(result: ReconcileResult, seconds: number): void
  retried(): void
  informerRestarted(kind: string, reason: RestartReason): void
  relistMissed(kind: string, count: number): void
  /** Registers the source of the last-event age (ms) of informer `kind`. */
  watchInformer(kind: string, lastEventAgeMs: () => number): void
  /** Registers the source of the ready-queue depth. */
  watchQueue(depth: () => number): void
  setLeader(leading: boolean): void
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create()
}

/**
 * Duration buckets in seconds: a reconcile is a handful of API calls (ms) but can wait on a slow
 * API server up to the 30 s request timeout (kube.ts).
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/**
 * Registers (or reuses) the reconciler metrics on `registry`; `subject` names what is reconciled in
 * the metrics' help texts (`Worker`).
 */
export function createReconcilerMetrics(registry: Registry, subject = 'object'): ReconcilerMetrics {
  const registers = [registry]
  const informers = new Map<string, () => number>()
  let queueDepth: () => number = () => 0
  const total = reuse(registry, METRIC_RECONCILE_TOTAL, () => new Counter({ name: METRIC_RECONCILE_TOTAL, help: `Reconciles of ${subject}s by result (success, requeue, error, terminal).`, labelNames: ['result'] as const, registers }))
  const duration = reuse(registry, METRIC_RECONCILE_DURATION, () => new Histogram({ name: METRIC_RECONCILE_DURATION, help: `Time one ${subject} reconcile took.`, buckets: DURATION_BUCKETS, registers }))
  const retries = reuse(registry, METRIC_QUEUE_RETRIES, () => new Counter({ name: METRIC_QUEUE_RETRIES, help: 'Keys re-queued with backoff after a failed reconcile.', registers }))
  const restarts = reuse(registry, METRIC_INFORMER_RESTARTS, () => new Counter({ name: METRIC_INFORMER_RESTARTS, help: 'Informer restarts by watched kind and reason (error, relist_miss).', labelNames: ['kind', 'reason'] as const, registers }))
  const misses = reuse(registry, METRIC_RELIST_MISSES, () => new Counter({ name: METRIC_RELIST_MISSES, help: 'Objects a periodic or staleness relist found that the watch had not delivered.', labelNames: ['kind'] as const, registers }))
  const leader = reuse(registry, METRIC_LEADER, () => new Gauge({ name: METRIC_LEADER, help: '1 while this instance holds the reconciler lease.', registers }))
  reuse(registry, METRIC_QUEUE_DEPTH, () => new Gauge({
    name: METRIC_QUEUE_DEPTH,
    help: `${subject} keys ready to be reconciled.`,
    registers,
    collect() {
      this.set(queueDepth())
    },
  }))
  reuse(registry, METRIC_LAST_EVENT_AGE, () => new Gauge({
    name: METRIC_LAST_EVENT_AGE,
    help: 'Seconds since the informer of a kind last received an event or completed a list.',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      for (const [kind, age] of informers) this.labels(kind).set(age() / 1000)
    },
  }))
  return {
    reconciled(result, seconds) {
      total.labels(result).inc()
      duration.observe(seconds)
    },
    retried: () => retries.inc(),
    informerRestarted: (kind, reason) => restarts.labels(kind, reason).inc(),
    relistMissed: (kind, count) => misses.labels(kind).inc(count),
    watchInformer: (kind, age) => void informers.set(kind, age),
    watchQueue(depth) {
      queueDepth = depth
    },
    setLeader: (leading) => leader.set(leading ? 1 : 0),
  }
}
