// Bounded concurrency for the benchmarks' load generators: N callers, like N kubectl clients or
// N connections, each taking the next item when its previous call settled.

/** Runs `fn` over `items` with at most `limit` calls in flight; resolves when all settled (first error rethrown). */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  let failure: unknown
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && failure === undefined) {
      const i = next++
      try {
        await fn(items[i] as T, i)
      } catch (error) {
        failure ??= error
      }
    }
  }))
  if (failure !== undefined) throw failure
}
