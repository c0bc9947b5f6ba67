// Exponential backoff with jitter, shared by the work queue (per-key retries), the informer
// supervisor (restarts) and leader election. Defaults follow kube-rs' watcher DefaultBackoff
// (kube-runtime/src/watcher.rs: 800 ms → 30 s, factor 2, jittered).

/** Shape of one backoff curve. */
export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number
  /** Upper bound of any delay, jitter included. */
  maxMs: number
  factor: number
  /** Fraction (0..1) of the delay that may be randomly taken off, so retries spread out. */
  jitter: number
}

/**
 * kube-rs DefaultBackoff: 800 ms, doubling, capped at 30 s. A capped 30 s (rather than client-go's
 * 1000 s) means a failed reconcile is retried within half a minute of its cause being fixed.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 800, maxMs: 30_000, factor: 2, jitter: 0.5 })

/**
 * The delay before retry number `failures` (1 = after the first failure):
 * `min(max, base · factor^(failures-1))`, minus up to `jitter` of it. Never above `maxMs`.
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(failures))
  const raw = Math.min(policy.maxMs, policy.baseMs * Math.pow(policy.factor, Math.min(n - 1, 64)))
  return Math.round(raw * (1 - policy.jitter * random()))
}
