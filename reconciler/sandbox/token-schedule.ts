// When each Worker's auth token must be rewritten, as this process knows it (docs/deps.md): set
// when it delivers or keeps a token, dropped when the Worker's runtime goes. By Worker uid, so a
// re-created Worker of the same name starts with nothing scheduled.

import type { Worker } from '../../api/worker.ts'

/** The refresh times of the tokens this process delivered or adopted. */
export class TokenSchedule {
  readonly #at = new Map<string, number>()

  /** When the Worker's token must be rewritten (epoch ms); undefined when this process never delivered or kept one. */
  get(worker: Worker): number | undefined {
    return this.#at.get(worker.metadata?.uid ?? '')
  }

  set(worker: Worker, at: number): void {
    this.#at.set(worker.metadata?.uid ?? '', at)
  }

  /** Drops the Worker's schedule (its runtime is gone). */
  forget(worker: Worker): void {
    this.#at.delete(worker.metadata?.uid ?? '')
  }
}
