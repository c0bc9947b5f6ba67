// Recognises the watch echo of the controller's own Worker writes (finalizer, status), so they do
// not queue another reconcile: the pass that wrote a version already acted on everything in it.
// A sandbox Worker's first pass writes three times; without this each write came back as an event
// and a no-op pass (about half of all reconciles during a burst). Only the exact resourceVersion
// a write returned counts as an echo; any other change (the user's, another controller's, a
// deletion) enqueues as before.

import { GROUP, PLURAL, VERSION } from '../api/worker.ts'
import type { KubeClient } from './kube.ts'

/** How many versions per Worker are remembered (a pass writes at most three). */
const KEEP = 4

/** The resourceVersions this controller's own writes produced, per Worker key (`namespace/name`). */
export class OwnWrites {
  readonly #versions = new Map<string, string[]>()

  /** Notes that a write to `key` produced `resourceVersion`. */
  note(key: string, resourceVersion: string | undefined): void {
    if (!resourceVersion) return
    const versions = this.#versions.get(key) ?? []
    versions.push(resourceVersion)
    this.#versions.set(key, versions.slice(-KEEP))
  }

  /**
   * True, once, when `resourceVersion` is one our own write produced. Any other version of the key
   * forgets what was noted: the earlier echoes can no longer arrive in order, and nothing is kept
   * for a Worker that changed or went away.
   */
  isEcho(key: string, resourceVersion: string | undefined): boolean {
    const versions = this.#versions.get(key)
    if (!versions) return false
    const at = resourceVersion ? versions.indexOf(resourceVersion) : -1
    if (at < 0) {
      this.#versions.delete(key)
      return false
    }
    versions.splice(0, at + 1)
    if (versions.length === 0) this.#versions.delete(key)
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
      if (match) writes.note(`${match[1]}/${match[2]}`, (result as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion)
      return result
    },
  }
}
