// Worker objects through the API client, for the harness's probes and test setup: create, read,
// and write status through the status subresource (the way the reconciler does, so admission on
// `workers` never sees it).

import { API_VERSION, KIND, PLURAL, type Worker, type WorkerSpec, type WorkerStatus } from '../api/worker.ts'
import { stringify } from 'yaml'
import { expectSuccess, type ApiClient } from './api-client.ts'

/** REST path of the Worker collection in `namespace`, or of one Worker. */
export function workerPath(namespace: string, name?: string): string {
  return `/apis/${API_VERSION}/namespaces/${namespace}/${PLURAL}${name === undefined ? '' : `/${name}`}`
}

/** A Worker manifest with the given spec. */
export function workerManifest(namespace: string, name: string, spec: WorkerSpec = {}): Worker {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec }
}

/** The same manifest as YAML, for `kubectl apply -f -`. */
export function workerYaml(namespace: string, name: string, spec: WorkerSpec = {}): string {
  return stringify(workerManifest(namespace, name, spec))
}

/** Creates a Worker; returns it as stored. */
export async function createWorker(api: ApiClient, namespace: string, name: string, spec: WorkerSpec = {}): Promise<Worker> {
  return expectSuccess(await api.request('POST', workerPath(namespace), workerManifest(namespace, name, spec)), `create Worker ${namespace}/${name}`)
}

/** Reads a Worker. */
export async function getWorker(api: ApiClient, namespace: string, name: string): Promise<Worker> {
  return expectSuccess(await api.request('GET', workerPath(namespace, name)), `get Worker ${namespace}/${name}`)
}

/** Merges `status` into the Worker's status through the status subresource; returns the result. */
export async function patchWorkerStatus(api: ApiClient, namespace: string, name: string, status: WorkerStatus): Promise<Worker> {
  const response = await api.request('PATCH', `${workerPath(namespace, name)}/status`, { status }, { contentType: 'application/merge-patch+json' })
  return expectSuccess(response, `update Worker ${namespace}/${name} status`)
}
