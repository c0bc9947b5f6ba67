// Create-or-update and delete of the few kinds the harness installs, through the API client: the
// REST path of each kind, POST when absent, PUT with the stored resourceVersion when present
// (envtest's InstallCRDs does the same), DELETE tolerating 404.

import { expectSuccess, type ApiClient } from './api-client.ts'
import { loadManifests, type Manifest } from './manifests.ts'

/** Plural and scope of each kind the harness handles (the built-in kinds' REST names). */
const KINDS: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  MutatingWebhookConfiguration: { plural: 'mutatingwebhookconfigurations', namespaced: false },
  ValidatingWebhookConfiguration: { plural: 'validatingwebhookconfigurations', namespaced: false },
  ValidatingAdmissionPolicy: { plural: 'validatingadmissionpolicies', namespaced: false },
  ValidatingAdmissionPolicyBinding: { plural: 'validatingadmissionpolicybindings', namespaced: false },
  Worker: { plural: 'workers', namespaced: true },
}

/** Names an object in messages: `Kind ns/name` or `Kind name`. */
export function describeObject(object: Pick<Manifest, 'kind' | 'metadata'>): string {
  const { name, namespace } = object.metadata
  return `${object.kind} ${namespace ? `${namespace}/` : ''}${name}`
}

/** The REST path of `object` (or of its collection when `collection` is true). */
export function objectPath(object: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>, collection = false): string {
  const kind = KINDS[object.kind]
  if (!kind) throw new Error(`resolve path of ${describeObject(object)}: kind not known to the harness`)
  const prefix = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`
  const ns = kind.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : ''
  return `${prefix}${ns}/${kind.plural}${collection ? '' : `/${object.metadata.name}`}`
}

/** Creates `object`, or replaces the stored one (keeping its resourceVersion); returns the result. */
export async function applyObject(api: ApiClient, object: Manifest): Promise<Manifest> {
  const current = await api.request('GET', objectPath(object))
  if (current.status === 404) {
    return expectSuccess(await api.request('POST', objectPath(object, true), object), `create ${describeObject(object)}`)
  }
  expectSuccess(current, `get ${describeObject(object)}`)
  const replacement = { ...object, metadata: { ...object.metadata, resourceVersion: current.body.metadata.resourceVersion } }
  return expectSuccess(await api.request('PUT', objectPath(object), replacement), `update ${describeObject(object)}`)
}

/** Deletes `object`; an object that is already gone counts as deleted. */
export async function deleteObject(api: ApiClient, object: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<void> {
  const response = await api.request('DELETE', objectPath(object))
  if (response.status !== 404) expectSuccess(response, `delete ${describeObject(object)}`)
}

/** Applies every object of a manifest file, in order (e.g. a ValidatingAdmissionPolicy and its binding). */
export async function applyManifestFile(api: ApiClient, file: string): Promise<Manifest[]> {
  const applied: Manifest[] = []
  for (const object of await loadManifests(file)) applied.push(await applyObject(api, object))
  return applied
}

/** Deletes every object of a manifest file, in reverse order. */
export async function deleteManifestFile(api: ApiClient, file: string): Promise<void> {
  for (const object of (await loadManifests(file)).reverse()) await deleteObject(api, object)
}
