// Latency summaries for the benchmarks: nearest-rank quantiles over measured milliseconds
// (performance.now()), so p50/p99 mean the same thing in every table.

/** The q-quantile (0..1) of `values` by nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/** p50/p99/mean of a latency sample, rounded to 0.01 ms. */
export function summarize(ms: readonly number[]): { n: number; p50: number; p99: number; mean: number } {
  const r = (x: number) => Math.round(x * 100) / 100
  return { n: ms.length, p50: r(quantile(ms, 0.5)), p99: r(quantile(ms, 0.99)), mean: r(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)) }
}
