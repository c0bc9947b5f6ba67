// What the informer caches keep of an object: everything but metadata.managedFields. The reconciler
// never reads them, yet with several field managers (kubectl, our status writes, the finalizer
// patch) they are a large part of each cached object (a Worker, a SandboxClaim, a Pod).

/**
 * Deletes `metadata.managedFields` from `obj` in place and returns it; anything else, including
 * objects without metadata (an ERROR event's Status), is left as it is. controller-runtime's
 * `cache.TransformStripManagedFields()` does the same for the same reason: cache memory, the
 * OOM pain of docs/reconcile.md.
 *
 * Deleted, never set to `[]`: a PUT carrying an empty list wipes the server's managedFields, while
 * a PUT without the field leaves them unchanged (both measured on kube-apiserver 1.36; the second
 * is test/e2e/cache-managed-fields.test.ts), so a cached object written back keeps its owners.
 */
export function stripManagedFields<T>(obj: T): T {
  const metadata = (obj as { metadata?: unknown } | null | undefined)?.metadata
  if (metadata !== null && typeof metadata === 'object' && 'managedFields' in metadata) delete (metadata as { managedFields?: unknown }).managedFields
  return obj
}
