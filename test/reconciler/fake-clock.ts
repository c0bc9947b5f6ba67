// A manual clock for unit tests: timers fire only when the test advances time, in due order,
// with pending promise callbacks flushed between them.

import type { Clock, TimerHandle } from '../../reconciler/controller/clock.ts'

interface Timer {
  at: number
  seq: number
  fn: () => void
}

export class FakeClock implements Clock {
  private time: number
  private seq = 0
  private readonly timers = new Set<Timer>()

  constructor(start = 1_700_000_000_000) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn }
    this.timers.add(timer)
    return timer
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as Timer)
  }

  /** Pending timers' due times, relative to now. */
  pending(): number[] {
    return [...this.timers].map((t) => t.at - this.time).sort((a, b) => a - b)
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await flush()
      const next = [...this.timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (!next) break
      this.timers.delete(next)
      this.time = Math.max(this.time, next.at)
      next.fn()
    }
    this.time = end
    await flush()
  }
}

/** Lets queued promise callbacks and immediates run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
