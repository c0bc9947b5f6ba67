// Time as a dependency: every timer in the reconciler goes through a Clock, so tests drive
// backoff, requeues, watchdogs and lease expiry with a fake clock instead of sleeping.

/** Opaque timer handle returned by `Clock.setTimeout`. */
export type TimerHandle = object

/** Wall time in ms and one-shot timers. */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** The real clock. Timers are unref'd: pending requeues never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref()
    return t
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const handle = clock.setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort() {
      clock.clearTimeout(handle)
      done()
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
