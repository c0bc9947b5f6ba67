// Recognises the watch echo of the controller's own Worker writes (finalizer, status), so they do
// not queue another reconcile: the pass that wrote a version already acted on everything in it.
// A sandbox Worker's first pass writes three times; without this each write came back as an event
// and a no-op pass (about half of all reconciles during a burst). Only the exact resourceVersion
// a write returned counts as an echo; any other change (the user's, another controller's, a
// deletion) enqueues as before.
//
// It also lets a pass read its own writes. Every Worker write carries the resourceVersion it was
// based on, so the controller's writes form one chain of versions; until the informer has caught
// up, a cached Worker still at a version of that chain is older than the last write, and the
// object that write returned is used instead. Without this, a pass started by another object's
// event (a claim appearing) read the Worker from before the pass that created the claim wrote its
// status, wrote the same status again from that stale version, and got a 409 and a retry.

import { GROUP, PLURAL, VERSION } from '../api/worker.ts'
import type { KubeClient } from './kube.ts'

/** How many versions per Worker are remembered (a pass writes at most three). */
const KEEP = 4

interface Written {
  /** Versions our writes produced whose echo has not arrived, oldest first. */
  versions: string[]
  /** The versions our writes were based on (their preconditions): all older than `latest`. */
  basedOn: Set<string>
  /** What the last write returned. */
  latest?: ObjectWithVersion | undefined
}

interface ObjectWithVersion {
  metadata?: { uid?: string; resourceVersion?: string }
}

/** The resourceVersions this controller's own writes produced, per Worker key (`namespace/name`). */
export class OwnWrites {
  readonly #versions = new Map<string, Written>()

  /**
   * Notes that a write to `key` produced `resourceVersion`; `basedOn` is the version it required
   * (its precondition) and `object` what it returned.
   */
  note(key: string, resourceVersion: string | undefined, basedOn?: string, object?: ObjectWithVersion): void {
    if (!resourceVersion) return
    const written = this.#versions.get(key) ?? { versions: [], basedOn: new Set<string>() }
    written.versions = [...written.versions, resourceVersion].slice(-KEEP)
    if (basedOn && object?.metadata?.resourceVersion === resourceVersion) {
      written.basedOn.add(basedOn)
      written.latest = object
    } else {
      // A write without a precondition may have raced another writer: no chain to rely on.
      written.basedOn.clear()
      written.latest = undefined
    }
    this.#versions.set(key, written)
  }

  /**
   * `cached` (the informer's copy of `key`), or the object our last write returned when `cached`
   * is a version that write was based on — the same Worker, older than what we wrote.
   */
  freshest<T extends ObjectWithVersion>(key: string, cached: T | undefined): T | undefined {
    const latest = this.#versions.get(key)?.latest
    const version = cached?.metadata?.resourceVersion
    if (!latest || !version || cached?.metadata?.uid !== latest.metadata?.uid) return cached
    return this.#versions.get(key)?.basedOn.has(version) ? (latest as T) : cached
  }

  /**
   * True, once, when `resourceVersion` is one our own write produced. Any other version of the key
   * forgets what was noted: the earlier echoes can no longer arrive in order, and nothing is kept
   * for a Worker that changed or went away.
   */
  isEcho(key: string, resourceVersion: string | undefined): boolean {
    const written = this.#versions.get(key)
    if (!written) return false
    const at = resourceVersion ? written.versions.indexOf(resourceVersion) : -1
    if (at < 0) {
      this.#versions.delete(key)
      return false
    }
    written.versions.splice(0, at + 1)
    // The informer now holds our last write (or a later version): nothing left to read around it.
    if (written.versions.length === 0) this.#versions.delete(key)
    return true
  }

  /** Worker keys with versions noted (for tests and memory checks). */
  size(): number {
    return this.#versions.size
  }
}

const WORKER_WRITE = new RegExp(`^/apis/${GROUP.replace(/\./g, '\\.')}/${VERSION}/namespaces/([^/]+)/${PLURAL}/([^/]+)(?:/status)?$`)

/** `kube`, noting in `writes` the resourceVersion every successful Worker PATCH or PUT returns. */
export function trackOwnWrites(kube: KubeClient, writes: OwnWrites): KubeClient {
  return {
    close: () => kube.close(),
    async request<T>(req: Parameters<KubeClient['request']>[0]): Promise<T> {
      const result = await kube.request<T>(req)
      const match = req.method === 'PATCH' || req.method === 'PUT' ? WORKER_WRITE.exec(req.path) : null
      if (match) {
        const written = result as ObjectWithVersion | undefined
        const basedOn = (req.body as ObjectWithVersion | undefined)?.metadata?.resourceVersion
        writes.note(`${match[1]}/${match[2]}`, written?.metadata?.resourceVersion, basedOn, written)
      }
      return result
    },
  }
}
