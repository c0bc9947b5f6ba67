// Worker objects through the API client, for the admission probes (and tests' setup): a manifest,
// a create, and a status write through the status subresource (the way the reconciler writes it,
// so admission on `workers` never sees it).

import { API_VERSION, KIND, type Worker, type WorkerSpec, type WorkerStatus, workerPath } from '../api/worker.ts'
import { expectSuccess, type ApiClient } from './api-client.ts'

/** A Worker manifest with the given spec. */
export function workerManifest(namespace: string, name: string, spec: WorkerSpec = {}): Worker {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec }
}

/** Creates a Worker; returns it as stored. */
export async function createWorker(api: ApiClient, namespace: string, name: string, spec: WorkerSpec = {}): Promise<Worker> {
  return expectSuccess(await api.request('POST', workerPath(namespace), workerManifest(namespace, name, spec)), `create Worker ${namespace}/${name}`)
}

/** Merges `status` into the Worker's status through the status subresource; returns the result. */
export async function patchWorkerStatus(api: ApiClient, namespace: string, name: string, status: WorkerStatus): Promise<Worker> {
  const response = await api.request('PATCH', workerPath(namespace, name, 'status'), { status }, { contentType: 'application/merge-patch+json' })
  return expectSuccess(response, `update Worker ${namespace}/${name} status`)
}
