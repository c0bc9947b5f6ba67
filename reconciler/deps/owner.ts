// Who a deps folder belongs to. docs/deps.md fixes the layout `workers-deps/<worker>/`, keyed by
// the Worker's name alone, so Workers `alice` in two namespaces would share one folder — one's env
// and token overwriting the other's (a cross-tenant leak). The folder records its owner
// (namespace, name, uid) in `workers-deps/<worker>/owner`; writers and cleanup consult it.

import { API_VERSION, KIND, type Worker } from '../../api/worker.ts'

/** The Worker a deps folder belongs to. Identity is the uid; namespace and name are for messages. */
export interface DepsOwner {
  namespace: string
  name: string
  uid: string
}

/** The owner record `worker` writes. */
export function ownerOf(worker: Worker): DepsOwner {
  return { namespace: worker.metadata?.namespace ?? '', name: worker.metadata?.name ?? '', uid: worker.metadata?.uid ?? '' }
}

/** The record's body: a small JSON object with the Worker's identity, no secret. */
export function encodeOwner(owner: DepsOwner): Buffer {
  return Buffer.from(`${JSON.stringify({ apiVersion: API_VERSION, kind: KIND, ...owner })}\n`, 'utf8')
}

/** The owner in a record's body; undefined when it is not a record this controller wrote. */
export function decodeOwner(body: Uint8Array): DepsOwner | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>
    const { namespace, name, uid } = parsed
    if (typeof namespace === 'string' && typeof name === 'string' && typeof uid === 'string' && uid !== '') return { namespace, name, uid }
  } catch {
    // Not JSON: not ours.
  }
  return undefined
}

/**
 * Runs async work one at a time per key (here: per deps folder), so a check of the owner record
 * and the writes it allows cannot interleave with another Worker's in this process. Only the
 * leader reconciles, so this closes the race between two same-named Workers reconciled at once.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Runs `work` after every earlier `run` with the same key has settled. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve()
    const result = before.then(work, work)
    const tail = result.catch(() => {})
    this.#tails.set(key, tail)
    try {
      return await result
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }
}
