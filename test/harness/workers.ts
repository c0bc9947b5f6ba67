// Worker helpers only tests use: a Worker as YAML for `kubectl apply -f -`, and a read through the
// harness's API client.

import { stringify } from 'yaml'
import { type Worker, type WorkerSpec, workerPath } from '../../api/worker.ts'
import { expectSuccess, type ApiClient } from '../../localcluster/api-client.ts'
import { workerManifest } from '../../localcluster/workers.ts'

/** The same manifest as YAML, for `kubectl apply -f -`. */
export function workerYaml(namespace: string, name: string, spec: WorkerSpec = {}): string {
  return stringify(workerManifest(namespace, name, spec))
}

/** Reads a Worker. */
export async function getWorker(api: ApiClient, namespace: string, name: string): Promise<Worker> {
  return expectSuccess(await api.request('GET', workerPath(namespace, name)), `get Worker ${namespace}/${name}`)
}
