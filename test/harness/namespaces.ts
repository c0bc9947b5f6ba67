// Fresh namespaces for tests: each test gets a new random one. A test may delete its namespace
// when the control plane runs nodes (kube-controller-manager's namespace controller finishes the
// deletion); without them a deleted namespace would stay Terminating forever (docs/local-cluster.md),
// so the others are left to vanish with the control plane.

import { randomBytes } from 'node:crypto'
import { expectSuccess, type ApiClient } from '../../localcluster/api-client.ts'
import { pollUntil } from '../../localcluster/polling.ts'

/** Creates namespace `<prefix>-<random>` (a valid DNS label) and returns its name. */
export async function createNamespace(api: ApiClient, prefix = 'test'): Promise<string> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`
  expectSuccess(await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), `create Namespace ${name}`)
  return name
}

/**
 * Waits until the ServiceAccount controller has given namespace `ns` its `default` ServiceAccount:
 * with the ServiceAccount admission of a control plane with nodes, a Pod that names no
 * ServiceAccount is refused until then (as in any cluster, right after `kubectl create namespace`).
 */
export async function waitForDefaultServiceAccount(api: ApiClient, ns: string): Promise<void> {
  await pollUntil(`ServiceAccount ${ns}/default`, async () => ((await api.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 })
}
