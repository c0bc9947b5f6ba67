// An index over one informer's cache by the owner each object belongs to (the watch source's
// `keys`; for the Worker controller, the `agentteams.io/worker` label), so a reconcile finds "the
// Sandboxes of Worker ns/x" in O(1) instead of scanning the namespace — controller-runtime's field
// indexer, for one field.
// The index is fed by the informer's own add/update/delete events, so it is exactly as fresh as the
// cache; a replacement informer (supervisor restart) brings its own index.

import { type CacheInformer, objectKey, type ObjectWithMeta } from './informer.ts'

/** A cache that can also answer "the objects of owner `key`" (`namespace/owner`). */
export interface OwnerIndexedInformer<T> extends CacheInformer<T> {
  byOwner(key: string): T[]
}

/** Wraps `inner` (unstarted) so that it keeps an index by `keys(obj)`. */
export function indexByOwner<T extends ObjectWithMeta>(inner: CacheInformer<T>, keys: (obj: T) => string[]): OwnerIndexedInformer<T> {
  /** owner key → its objects (arrays: an owner has one or two objects of a kind, and thousands of owners are common). */
  const byOwner = new Map<string, T[]>()
  /** object key → the owner keys it is filed under, to move it when its labels change. */
  const filed = new Map<string, string[]>()
  const remove = (obj: T) => {
    const key = objectKey(obj)
    for (const owner of filed.get(key) ?? []) {
      const bucket = byOwner.get(owner) ?? []
      const at = bucket.findIndex((o) => objectKey(o) === key)
      if (at >= 0) bucket.splice(at, 1)
      if (bucket.length === 0) byOwner.delete(owner)
    }
    filed.delete(key)
  }
  const upsert = (obj: T) => {
    remove(obj)
    const owners = keys(obj)
    if (owners.length === 0) return
    filed.set(objectKey(obj), owners)
    for (const owner of owners) {
      const bucket = byOwner.get(owner)
      if (bucket) bucket.push(obj)
      else byOwner.set(owner, [obj])
    }
  }
  // Registered before anyone else's handlers, so the index is current when they run.
  inner.on('add', upsert)
  inner.on('update', upsert)
  inner.on('delete', remove)
  return {
    on: (verb: never, cb: never) => inner.on(verb, cb),
    start: () => inner.start(),
    stop: () => inner.stop(),
    get: (name, namespace) => inner.get(name, namespace),
    list: (namespace) => inner.list(namespace),
    byOwner: (key) => [...(byOwner.get(key) ?? [])],
  }
}
