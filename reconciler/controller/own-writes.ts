// Recognises the watch echo of the controller's own writes to its primary kind (for the Worker
// controller: the finalizer and status writes), so they do not queue another reconcile: the pass
// that wrote a version already acted on everything in it.
// A sandbox Worker's first pass writes three times; without this each write came back as an event
// and a no-op pass (about half of all reconciles during a burst). Only the exact resourceVersion
// a write returned counts as an echo; any other change (the user's, another controller's, a
// deletion) enqueues as before.
//
// It also lets a pass read its own writes. Every such write carries the resourceVersion it was
// based on, so the controller's writes form one chain of versions; until the informer has caught
// up, a cached object still at a version of that chain is older than the last write, and the
// object that write returned is used instead. Without this, a pass started by another object's
// event (a claim appearing) read the Worker from before the pass that created the claim wrote its
// status, wrote the same status again from that stale version, and got a 409 and a retry.
//
// The watch may deliver a write's echo before the write's own response is handled; then the
// informer already holds that version when it is noted, and nothing is kept. Whatever is kept is
// dropped once the echo arrives, and in any case after KEEP_MS.

import type { V1ObjectMeta } from '@kubernetes/client-node'
import { systemClock, type Clock } from './clock.ts'
import type { KubeClient, ResourceRef } from './kube.ts'

/** How many versions per key are remembered (a Worker pass writes at most three). */
const KEEP = 4
/** How long a write is remembered at most; its echo normally arrives within milliseconds. */
export const KEEP_MS = 60_000
/** Every this many notes, entries older than KEEP_MS are swept (echoes that never came). */
const SWEEP_EVERY = 256

export interface OwnWritesOptions {
  /** The resourceVersion the informer holds for a key, if any. */
  cachedVersion?: (key: string) => string | undefined
  clock?: Clock
}

interface Written {
  /** Versions our writes produced whose echo has not arrived, oldest first. */
  versions: string[]
  /** The versions our writes were based on (their preconditions): all older than `latest`. */
  basedOn: Set<string>
  /** What the last write returned. */
  latest?: ObjectWithVersion | undefined
  /** When the last write was noted. */
  at: number
}

interface ObjectWithVersion {
  metadata?: Pick<V1ObjectMeta, 'uid' | 'resourceVersion'>
}

/** The resourceVersions this controller's own writes produced, per key (`namespace/name`). */
export class OwnWrites {
  readonly #versions = new Map<string, Written>()
  readonly #cachedVersion: (key: string) => string | undefined
  readonly #clock: Clock
  #notes = 0

  constructor(options: OwnWritesOptions = {}) {
    this.#cachedVersion = options.cachedVersion ?? (() => undefined)
    this.#clock = options.clock ?? systemClock
  }

  /**
   * Notes that a write to `key` produced `resourceVersion`; `basedOn` is the version it required
   * (its precondition) and `object` what it returned.
   */
  note(key: string, resourceVersion: string | undefined, basedOn?: string, object?: ObjectWithVersion): void {
    if (!resourceVersion) return
    const now = this.#clock.now()
    if (++this.#notes % SWEEP_EVERY === 0) this.#sweep(now)
    if (this.#cachedVersion(key) === resourceVersion) {
      // The echo came first: the informer holds this version, and the earlier ones are behind it.
      this.#versions.delete(key)
      return
    }
    const written = this.#versions.get(key) ?? { versions: [], basedOn: new Set<string>(), at: now }
    written.at = now
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
   * is a version that write was based on — the same object, older than what we wrote.
   */
  freshest<T extends ObjectWithVersion>(key: string, cached: T | undefined): T | undefined {
    const written = this.#versions.get(key)
    const latest = written?.latest
    const version = cached?.metadata?.resourceVersion
    if (!written || !latest || !version || cached?.metadata?.uid !== latest.metadata?.uid) return cached
    if (this.#clock.now() - written.at > KEEP_MS) return cached
    return written.basedOn.has(version) ? (latest as T) : cached
  }

  #sweep(now: number): void {
    for (const [key, written] of this.#versions) if (now - written.at > KEEP_MS) this.#versions.delete(key)
  }

  /**
   * True, once, when `resourceVersion` is one our own write produced. Any other version of the key
   * forgets what was noted: the earlier echoes can no longer arrive in order, and nothing is kept
   * for an object that changed or went away.
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

  /** Keys with versions noted (for tests and memory checks). */
  size(): number {
    return this.#versions.size
  }
}

/** The path of one namespaced object of `kind` or of its status: `namespace` and `name` captured. */
function objectPathPattern(kind: Pick<ResourceRef, 'group' | 'version' | 'plural'>): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${escape(kind.group)}/${escape(kind.version)}`
  return new RegExp(`^${base}/namespaces/([^/]+)/${escape(kind.plural)}/([^/]+)(?:/status)?$`)
}

/**
 * `kube`, noting in `writes` the resourceVersion every successful PATCH or PUT of a `kind` object
 * (or its status) returns, under the key `namespace/name`.
 */
export function trackOwnWrites(kube: KubeClient, writes: OwnWrites, kind: Pick<ResourceRef, 'group' | 'version' | 'plural'>): KubeClient {
  const objectWrite = objectPathPattern(kind)
  return {
    close: () => kube.close(),
    async request<T>(req: Parameters<KubeClient['request']>[0]): Promise<T> {
      const result = await kube.request<T>(req)
      const match = req.method === 'PATCH' || req.method === 'PUT' ? objectWrite.exec(req.path) : null
      if (match) {
        const written = result as ObjectWithVersion | undefined
        const basedOn = (req.body as ObjectWithVersion | undefined)?.metadata?.resourceVersion
        writes.note(`${match[1]}/${match[2]}`, written?.metadata?.resourceVersion, basedOn, written)
      }
      return result
    },
  }
}
