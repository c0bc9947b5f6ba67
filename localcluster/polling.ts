// Polling until a condition holds, the one waiting primitive of the harness: readiness of etcd
// and kube-apiserver, CRDs established, webhooks enforced. Deadlines are generous because the
// machines are small and shared; a wait ends early when a watched process has died.

import { setTimeout as sleep } from 'node:timers/promises'

export interface PollOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number
  /** Pause between attempts (default 200 ms). */
  intervalMs?: number
  /** Checked before each attempt; a returned string aborts the wait with that reason. */
  abortIf?: () => string | undefined
}

/** A wait that ran out of time or was aborted; `cause` is the last attempt's error, if any. */
export class WaitError extends Error {
  override name = 'WaitError'
}

/**
 * Calls `attempt` until it returns a value other than undefined and returns that value.
 * Exceptions count as "not yet"; the last one becomes the WaitError's cause. `what` names the
 * awaited condition in the error: `wait for <what>: ...`.
 */
export async function pollUntil<T>(what: string, attempt: () => Promise<T | undefined>, options: PollOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const intervalMs = options.intervalMs ?? 200
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    const aborted = options.abortIf?.()
    if (aborted !== undefined) throw new WaitError(`wait for ${what}: ${aborted}`, { cause: lastError })
    try {
      const value = await attempt()
      if (value !== undefined) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : ''
      throw new WaitError(`wait for ${what}: not reached within ${timeoutMs} ms${detail}`, { cause: lastError })
    }
    await sleep(intervalMs)
  }
}
