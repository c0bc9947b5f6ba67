// The Worker's own ServiceAccount `<prefix>worker-<worker>` (docs/deps.md): the identity its auth
// token is issued for, on either backend. Created before the runtime, removed only when the Worker
// is deleted (by the finalizer), never when it merely stops.

import type { KubeObject } from '../../api/meta.ts'
import type { Worker } from '../../api/worker.ts'
import { isOwnObject, ownerReference, runtimeLabels, runtimeName, type RuntimeNaming } from './contract.ts'
import { ignoreNotFound, isAlreadyExists, isConflict, type KubeClient, resourcePath } from '../controller/kube.ts'

const path = (namespace: string | undefined, name?: string) => resourcePath({ group: '', version: 'v1', plural: 'serviceaccounts', namespace, name })

/** Typed failure of a ServiceAccount call: `<verb> ServiceAccount <ns/name>: <cause>`. */
export class ServiceAccountError extends Error {
  override name = 'ServiceAccountError'
}

/** Where a ServiceAccount already seen can be looked up without a request (the reconciler's informer cache). */
export interface ServiceAccountCache {
  get(name: string, namespace?: string): KubeObject | undefined
}

/**
 * Makes sure the Worker's ServiceAccount exists (no token automount) and returns its name, with at
 * most one request: none when `cache` already holds it, otherwise a create that takes AlreadyExists
 * as success (a GET first would add a round trip for every new Worker). A stale cache entry is
 * harmless: the token request that follows fails and the reconcile is retried.
 */
export async function ensureServiceAccount(kube: KubeClient, naming: RuntimeNaming, worker: Worker, cache?: ServiceAccountCache): Promise<string> {
  const name = runtimeName(naming, worker)
  const namespace = worker.metadata?.namespace
  if (cache?.get(name, namespace)) return name
  const body = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, labels: runtimeLabels(naming, worker), ownerReferences: [ownerReference(worker)] },
    automountServiceAccountToken: false,
  }
  try {
    await kube.request({ method: 'POST', path: path(namespace), body })
  } catch (cause) {
    if (!isAlreadyExists(cause)) throw new ServiceAccountError(`create ServiceAccount ${namespace}/${name}: ${(cause as Error).message}`, { cause })
  }
  return name
}

/**
 * Deletes the Worker's ServiceAccount when this controller made it (`cache` holds only those); a
 * missing one is fine. Another controller's account of the same name (the upstream controller's,
 * with the same prefix) is never deleted (docs/runtime-objects.md). The uid precondition spares a
 * replacement. One that is not cached (yet) is left to garbage collection: it is owned by the Worker.
 */
export async function deleteServiceAccount(kube: KubeClient, naming: RuntimeNaming, worker: Worker, cache?: ServiceAccountCache): Promise<void> {
  const name = runtimeName(naming, worker)
  const namespace = worker.metadata?.namespace
  const account = cache?.get(name, namespace)
  if (!isOwnObject(account, naming)) return
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: account?.metadata?.uid } }
  await ignoreNotFound(kube.request({ method: 'DELETE', path: path(namespace, name), body })).catch((cause) => {
    if (isConflict(cause)) return
    throw new ServiceAccountError(`delete ServiceAccount ${namespace}/${name}: ${cause.message}`, { cause })
  })
}
