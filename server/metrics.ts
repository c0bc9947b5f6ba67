// Prometheus metrics of the admission webhooks: latency per webhook, decisions by webhook and
// result, requests in flight. Registered on the Registry the caller passes (no global default
// registry), so tests and several servers in one process never share counters.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** How an admission request ended. */
export const AdmissionResult = { Allowed: 'allowed', Denied: 'denied', Patched: 'patched', Errored: 'errored' } as const
export type AdmissionResult = (typeof AdmissionResult)[keyof typeof AdmissionResult]

/** Metric names (exported so dashboards and tests use the same strings). */
export const METRIC_LATENCY = 'worker_runtime_controller_admission_duration_seconds'
export const METRIC_DECISIONS = 'worker_runtime_controller_admission_decisions_total'
export const METRIC_IN_FLIGHT = 'worker_runtime_controller_admission_in_flight_requests'

/**
 * Latency buckets in seconds: from 0.5 ms (a keep-alive review costs ~0.07 ms of CPU,
 * docs/measurements.md) up to 30 s, the largest webhook `timeoutSeconds` the API server accepts,
 * so slow outliers stay visible (Gatekeeper #1504, #4036 asked for exactly that).
 */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** The metric handles of one webhook, bound to its label once (cheap on the hot path). */
export interface BoundWebhookMetrics {
  started(): void
  finished(seconds: number): void
  decided(result: AdmissionResult): void
}

/** The admission metrics of one registry. */
export interface WebhookMetrics {
  forWebhook(webhook: string): BoundWebhookMetrics
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create()
}

/** Registers (or reuses, when already there) the admission metrics on `registry`. */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry]
  const latency = reuse(registry, METRIC_LATENCY, () => new Histogram({
    name: METRIC_LATENCY,
    help: 'Time from the request arriving to the response being sent, per admission webhook.',
    labelNames: ['webhook'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers,
  }))
  const decisions = reuse(registry, METRIC_DECISIONS, () => new Counter({
    name: METRIC_DECISIONS,
    help: 'Admission decisions per webhook and result (allowed, denied, patched, errored).',
    labelNames: ['webhook', 'result'] as const,
    registers,
  }))
  const inFlight = reuse(registry, METRIC_IN_FLIGHT, () => new Gauge({
    name: METRIC_IN_FLIGHT,
    help: 'Admission requests being handled, per webhook.',
    labelNames: ['webhook'] as const,
    registers,
  }))
  return {
    forWebhook(webhook) {
      const timer = latency.labels(webhook)
      const gauge = inFlight.labels(webhook)
      const results = new Map(Object.values(AdmissionResult).map((r) => [r, decisions.labels(webhook, r)]))
      return {
        started: () => gauge.inc(),
        finished(seconds) {
          gauge.dec()
          timer.observe(seconds)
        },
        decided: (result) => results.get(result)?.inc(),
      }
    },
  }
}
