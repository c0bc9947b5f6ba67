// Fresh namespaces for tests. Without a controller-manager a deleted namespace stays Terminating
// forever (real-cluster.md §3.7), so each test gets a new random one and none is ever deleted;
// they vanish with the control plane.

import { randomBytes } from 'node:crypto'
import { expectSuccess, type ApiClient } from './api-client.ts'

/** Creates namespace `<prefix>-<random>` (a valid DNS label) and returns its name. */
export async function createNamespace(api: ApiClient, prefix = 'test'): Promise<string> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`
  expectSuccess(await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), `create Namespace ${name}`)
  return name
}

/** Creates namespace `name` unless it exists. */
export async function ensureNamespace(api: ApiClient, name: string): Promise<void> {
  const response = await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  if (response.status !== 409) expectSuccess(response, `create Namespace ${name}`)
}
