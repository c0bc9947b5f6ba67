// The informer cache drops metadata.managedFields, on a real API server: objects cached from the
// initial list and from later watch events (ADDED, MODIFIED) have none while the server still
// tracks them, and a cached object written back with PUT leaves the server's managedFields intact.
// Informer lists and verification relists (metadata only) come in pages.

import t from 'tap'
import type { KubernetesObject } from '@kubernetes/client-node'
import { expectSuccess } from '../../localcluster/api-client.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { kubeconfigFor } from './reconciler-kit.ts'
import { createKubeClient } from '../../reconciler/controller/kube.ts'
import { createListWatch, listCollection } from '../../reconciler/controller/list-watch.ts'

interface ConfigMap extends KubernetesObject {
  data?: Record<string, string>
}

const cp = await startSuiteControlPlane(t)
const ns = await createNamespace(cp.api, 'cache-managed-fields')
const collection = { path: `/api/v1/namespaces/${ns}/configmaps` }
const kubeconfig = kubeconfigFor(cp)
const kube = createKubeClient(kubeconfig)
t.teardown(() => kube.close())

const configMapPath = (name: string) => `${collection.path}/${name}`
/** The field managers the server records for `name`, read directly (not through the cache). */
async function serverManagers(name: string): Promise<string[]> {
  const stored = expectSuccess(await cp.api.request('GET', configMapPath(name)), `get ConfigMap ${name}`)
  return (stored.metadata.managedFields ?? []).map((f: { manager: string }) => f.manager).sort()
}
/** Writes under a named field manager, the way `kubectl create` / `kubectl patch` do. */
async function createConfigMap(name: string, manager: string): Promise<void> {
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'cache-test' }, annotations: { note: 'kept' } }, data: { a: '1' } }
  expectSuccess(await cp.api.request('POST', `${collection.path}?fieldManager=${manager}`, body), `create ConfigMap ${name}`)
}
async function patchConfigMap(name: string, manager: string, data: Record<string, string>): Promise<string> {
  const patched = expectSuccess(
    await cp.api.request('PATCH', `${configMapPath(name)}?fieldManager=${manager}`, { data }, { contentType: 'application/merge-patch+json' }),
    `patch ConfigMap ${name}`,
  )
  return patched.metadata.resourceVersion
}

// Two managers before the informer starts, so the listed copy has something to strip.
await createConfigMap('listed', 'kubectl-create')
await patchConfigMap('listed', 'kubectl-edit', { b: '2' })

const informer = createListWatch<ConfigMap>(kubeconfig, kube, collection)
const errors: unknown[] = []
informer.on('error', (error) => void errors.push(error))
const delivered: ConfigMap[] = []
informer.on('add', (obj) => void delivered.push(obj))
informer.on('update', (obj) => void delivered.push(obj))
await informer.start()
t.teardown(() => informer.stop())

/** Waits until the cache holds `name` at `resourceVersion` (or any version when not given). */
const cached = (name: string, resourceVersion?: string) =>
  pollUntil(`ConfigMap ${ns}/${name} in the cache${resourceVersion ? ` at ${resourceVersion}` : ''}`, async () => {
    const obj = informer.get(name, ns)
    return obj && (resourceVersion === undefined || obj.metadata?.resourceVersion === resourceVersion) ? obj : undefined
  }, { timeoutMs: 30_000 })

t.test('listed: the cached copy has no managedFields; the server still has both managers', async (t) => {
  const obj = await cached('listed')
  t.notOk(obj.metadata && 'managedFields' in obj.metadata, 'no managedFields in the cache')
  t.same(obj.metadata?.labels, { app: 'cache-test' }, 'labels kept')
  t.same(obj.metadata?.annotations, { note: 'kept' }, 'annotations kept')
  t.ok(obj.metadata?.resourceVersion, 'resourceVersion kept')
  t.same(obj.data, { a: '1', b: '2' })
  t.same(await serverManagers('listed'), ['kubectl-create', 'kubectl-edit'])
})

t.test('watched: an ADDED and a MODIFIED event are cached without managedFields', async (t) => {
  await createConfigMap('watched', 'kubectl-create')
  const added = await cached('watched')
  t.notOk(added.metadata && 'managedFields' in added.metadata, 'ADDED: no managedFields')
  const rv = await patchConfigMap('listed', 'kubectl-patch', { c: '3' })
  const modified = await cached('listed', rv)
  t.notOk(modified.metadata && 'managedFields' in modified.metadata, 'MODIFIED: no managedFields')
  t.same(modified.data, { a: '1', b: '2', c: '3' })
  t.same(await serverManagers('watched'), ['kubectl-create'])
  t.same(await serverManagers('listed'), ['kubectl-create', 'kubectl-edit', 'kubectl-patch'])
  t.ok(delivered.length >= 3, 'handlers saw the list item and both events')
  t.notOk(delivered.some((o) => o.metadata && 'managedFields' in o.metadata), 'no handler saw managedFields')
})

t.test('a cached object written back with PUT keeps the server-side managedFields', async (t) => {
  const before = await serverManagers('listed')
  const obj = structuredClone(informer.get('listed', ns))
  t.ok(obj, 'cached')
  if (!obj?.metadata) return
  obj.metadata.labels = { ...obj.metadata.labels, edited: 'true' }
  const written = await kube.request<ConfigMap>({ method: 'PUT', path: configMapPath('listed'), query: { fieldManager: 'cache-writer' }, body: obj })
  t.equal(written.metadata?.labels?.['edited'], 'true', 'the PUT took effect')
  const after = await serverManagers('listed')
  t.same(after, [...before, 'cache-writer'].sort(), 'earlier managers kept; the writer added')
  const echoed = await cached('listed', written.metadata?.resourceVersion)
  t.notOk(echoed.metadata && 'managedFields' in echoed.metadata, 'the MODIFIED event of the write is stripped too')
})

t.test('the informer reported no errors', async (t) => {
  t.same(errors, [])
})

t.test('a verification relist reads metadata only, page by page, as one snapshot', async (t) => {
  const pagedNs = await createNamespace(cp.api, 'relist-pages')
  const pages = { path: `/api/v1/namespaces/${pagedNs}/configmaps` }
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { payload: 'x'.repeat(1000) } }
    expectSuccess(await cp.api.request('POST', pages.path, body), `create ConfigMap ${name}`)
  }
  const requests: Array<{ query?: Record<string, string | undefined>; accept?: string }> = []
  const counted = { close: () => kube.close(), request: <T>(r: Parameters<typeof kube.request>[0]) => (requests.push({ query: r.query, accept: r.accept }), kube.request<T>(r)) }
  const listed = await listCollection(counted, pages, 2)
  t.same(listed.items.map((o) => o.metadata.name).sort(), ['a', 'b', 'c', 'd', 'e'], 'every object, across pages')
  t.equal(requests.length, 3, 'five objects in pages of two: three requests')
  t.ok(requests.slice(1).every((r) => r.query?.['continue']), 'later pages continue the first')
  t.ok(listed.items.every((o) => Object.keys(o).join() === 'metadata' && o.metadata.resourceVersion), 'name, namespace and resourceVersion only: no data')
  const direct = expectSuccess(await cp.api.request('GET', pages.path), 'list directly')
  const created = Math.max(...direct.items.map((o: ConfigMap) => Number(o.metadata?.resourceVersion)))
  t.ok(Number(listed.resourceVersion) >= created && Number(listed.resourceVersion) <= Number(direct.metadata.resourceVersion), "the list's resourceVersion is the snapshot's: at or after the last create, not after a later list")
  const raw = await kube.request<{ kind?: string; items: Array<Record<string, unknown>> }>({ method: 'GET', path: pages.path, query: { limit: '2' }, accept: requests[0]!.accept })
  t.equal(raw.kind, 'PartialObjectMetadataList', 'the API server answers metadata only')
  t.notOk(raw.items.some((o) => 'data' in o), 'no payload crosses the wire')
})

t.test("an informer's first list comes in pages and fills the cache from one snapshot", async (t) => {
  const pagedNs = await createNamespace(cp.api, 'informer-pages')
  const pages = { path: `/api/v1/namespaces/${pagedNs}/configmaps` }
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    expectSuccess(await cp.api.request('POST', `${pages.path}?fieldManager=kubectl-create`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } }), `create ConfigMap ${name}`)
  }
  const lists: Array<Record<string, string | undefined>> = []
  const counted = { close: () => kube.close(), request: <T>(r: Parameters<typeof kube.request>[0]) => (r.method === 'GET' && lists.push(r.query ?? {}), kube.request<T>(r)) }
  const paged = createListWatch<ConfigMap>(kubeconfig, counted, pages, 2)
  const paginationErrors: unknown[] = []
  paged.on('error', (error) => void paginationErrors.push(error))
  await paged.start()
  t.teardown(() => paged.stop())
  t.equal(lists.length, 3, 'five objects in pages of two: three list requests')
  t.same(paged.list(pagedNs).map((o) => o.metadata?.name).sort(), ['a', 'b', 'c', 'd', 'e'], 'every object cached')
  t.ok(paged.list(pagedNs).every((o) => o.data?.['n'] === o.metadata?.name && !o.metadata?.managedFields), 'whole objects, without managedFields')
  expectSuccess(await cp.api.request('POST', pages.path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f' }, data: { n: 'f' } }), 'create ConfigMap f')
  await pollUntil('the watch, started from the snapshot, to deliver f', async () => (paged.get('f', pagedNs) ? true : undefined))
  t.same(paginationErrors, [], 'no informer errors')
})
