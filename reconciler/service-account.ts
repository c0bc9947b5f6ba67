// The Worker's own ServiceAccount `<prefix>worker-<worker>` (product.md §6): the identity its auth
// token is issued for, on either backend. Created before the runtime, removed only when the Worker
// is deleted (by the finalizer), never when it merely stops.

import type { Worker } from '../api/worker.ts'
import { ownerReference, runtimeLabels, runtimeName, type RuntimeNaming } from './backend.ts'
import { ignoreNotFound, isAlreadyExists, type KubeClient, resourcePath } from './kube.ts'

const path = (namespace: string | undefined, name?: string) => resourcePath({ group: '', version: 'v1', plural: 'serviceaccounts', namespace, name })

/** Typed failure of a ServiceAccount call: `<verb> ServiceAccount <ns/name>: <cause>`. */
export class ServiceAccountError extends Error {
  override name = 'ServiceAccountError'
}

/** Creates the Worker's ServiceAccount when missing (no token automount). Returns its name. */
export async function ensureServiceAccount(kube: KubeClient, naming: RuntimeNaming, worker: Worker): Promise<string> {
  const name = runtimeName(naming, worker)
  const namespace = worker.metadata?.namespace
  const existing = await ignoreNotFound(kube.request({ method: 'GET', path: path(namespace, name) })).catch((cause) => {
    throw new ServiceAccountError(`get ServiceAccount ${namespace}/${name}: ${cause.message}`, { cause })
  })
  if (existing) return name
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

/** Deletes the Worker's ServiceAccount; a missing one is fine. */
export async function deleteServiceAccount(kube: KubeClient, naming: RuntimeNaming, worker: Worker): Promise<void> {
  const name = runtimeName(naming, worker)
  const namespace = worker.metadata?.namespace
  await ignoreNotFound(kube.request({ method: 'DELETE', path: path(namespace, name) })).catch((cause) => {
    throw new ServiceAccountError(`delete ServiceAccount ${namespace}/${name}: ${cause.message}`, { cause })
  })
}
