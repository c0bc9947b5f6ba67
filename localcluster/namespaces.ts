// Namespaces the local control plane needs before anything is put in them (the admission probe's
// namespace): created when missing, left as they are otherwise.

import { expectSuccess, type ApiClient } from './api-client.ts'

/** Creates namespace `name` unless it exists. */
export async function ensureNamespace(api: ApiClient, name: string): Promise<void> {
  const response = await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  if (response.status !== 409) expectSuccess(response, `create Namespace ${name}`)
}
