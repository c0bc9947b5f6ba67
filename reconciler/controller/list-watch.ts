// The informers' list and watch (docs/architecture.md): lists in pages (a start with thousands of
// objects never holds one response of tens of MB as text), verification relists of metadata only,
// and client-node's ListWatch with managedFields stripped before its cache stores an object.

import type { KubeConfig, KubernetesListObject, KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node'
import { stripManagedFields } from './cache-transform.ts'
import { ListWatch, Watch } from './client-node.ts'
import type { CacheInformer, ObjectWithMeta } from './informer.ts'
import type { KubeClient, ObjectList } from './kube.ts'

/** A collection to list and watch: its REST path (no name) and label selector. */
export interface Collection {
  path: string
  labelSelector?: string | undefined
}

/** Page size of every list (client-go's reflector pages its lists by 500 too). */
export const LIST_PAGE_SIZE = 500
/** Ask for PartialObjectMetadataList: only metadata, whatever the kind (the API server converts). */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'

/** The identity of a listed object: all a verification relist compares. */
export interface ListedObject {
  metadata: Pick<V1ObjectMeta, 'name' | 'namespace' | 'resourceVersion'>
}

/**
 * Lists `collection` in pages of `pageSize`, one consistent snapshot across the pages, handing each
 * item to `keep`; resolves with what `keep` returned and the snapshot's resourceVersion (every
 * page carries it). No response holds the whole collection as text.
 */
async function listPages<I, O>(kube: KubeClient, collection: Collection, pageSize: number, keep: (item: I) => O, accept?: string): Promise<{ items: O[]; resourceVersion: string | undefined }> {
  const items: O[] = []
  let resourceVersion: string | undefined
  let next: string | undefined
  do {
    const page = await kube.request<ObjectList<I>>({
      method: 'GET',
      path: collection.path,
      query: { labelSelector: collection.labelSelector, limit: String(pageSize), continue: next },
      ...(accept ? { accept } : {}),
    })
    for (const item of page.items ?? []) items.push(keep(item))
    resourceVersion ??= page.metadata?.resourceVersion
    next = page.metadata?.continue || undefined
  } while (next)
  return { items, resourceVersion }
}

/**
 * Lists `collection` for a verification relist: names, namespaces and resourceVersions only, as
 * metadata-only pages. Every few minutes this runs for each watched kind; whole objects would
 * briefly hold a second copy of the cache (about 20 MB of JSON with 5,000 Workers) where this
 * holds a few hundred KB.
 */
export function listCollection(kube: KubeClient, collection: Collection, pageSize = LIST_PAGE_SIZE): Promise<{ items: ListedObject[]; resourceVersion: string | undefined }> {
  const identity = (o: ListedObject): ListedObject => ({ metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, resourceVersion: o.metadata?.resourceVersion } })
  return listPages(kube, collection, pageSize, identity, METADATA_ONLY)
}

/**
 * client-node's Watch, handing the callback each event's object with managedFields stripped.
 * ListWatch (cache.js) stores the object its watch callback receives, and offers no transform hook.
 */
class StrippingWatch extends Watch {
  override watch(...[path, queryParams, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    return super.watch(path, queryParams, (phase, apiObj, watchObj) => callback(phase, stripManagedFields(apiObj), watchObj), done)
  }
}

/**
 * A fresh, unstarted client-node informer (ListWatch) on `collection`: lists through `kube` in
 * pages of `pageSize` (listPages: a start with thousands of objects never holds one response of
 * tens of MB as text), watches through
 * client-node's Watch with `kubeconfig`'s credentials. Every object it caches, listed or watched,
 * has no `metadata.managedFields` (see stripManagedFields).
 */
export function createListWatch<T extends ObjectWithMeta>(kubeconfig: KubeConfig, kube: KubeClient, collection: Collection, pageSize = LIST_PAGE_SIZE): CacheInformer<T> {
  const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
    const { items, resourceVersion } = await listPages<KubernetesObject, KubernetesObject>(kube, collection, pageSize, stripManagedFields)
    // The watch starts from the snapshot's resourceVersion.
    return { items, metadata: { resourceVersion } }
  }
  // client-node types what it caches as its generated models (timestamps as Date); the objects are
  // the JSON as the API server sent it, which is what T describes.
  return new ListWatch<KubernetesObject>(collection.path, new StrippingWatch(kubeconfig), list, false, collection.labelSelector) as unknown as CacheInformer<T>
}
