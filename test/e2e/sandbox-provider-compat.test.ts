// The sandbox provider as it really behaves (docs/sandbox.md), end to end on a real API server and
// a real MinIO, the tests playing the OpenKruise Agents controller: the warm pool written back the
// way its defaulting webhook does (quantities normalized, pod defaults added) causes no further pool
// write over the passes that follow, while a real drift (image, size, labels) is still put back;
// with a v0.3.0-shaped SandboxClaim CRD (no dynamicVolumesMount[].attributes) the controller says
// at start and on the Worker that the token mount's credentialProviderName is lost, and with the
// current CRD it says nothing of the kind.

import t, { type Test } from 'tap'
import { loadManifests, OPENKRUISE_CRDS } from '../../localcluster/manifests.ts'
import { applyObject } from '../../localcluster/objects.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { workerPath } from '../../api/worker.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import type { SandboxSet } from '../../reconciler/sandbox/objects.ts'
import { defaultedPool } from '../fixtures/openkruise.ts'
import { eventually, findWorker, getJson, waitForPhase } from './reconciler-kit.ts'
import { countWrites, poolWrites, settled, statusWrites, touchWorker, waitForPublished, type Write } from './quiet-kit.ts'
import { bindSandbox, getClaim, startSandboxController, startSandboxSuite } from './sandbox-kit.ts'

const { cp, s3, store, logs, secrets } = await startSandboxSuite(t)
t.setTimeout(10 * 60_000)
const CLAIM_CRD = OPENKRUISE_CRDS.find((f) => f.includes('sandboxclaims')) as string
const STARTUP_WARNING = 'cannot store spec.dynamicVolumesMount[].attributes'
const WORKER_WARNING = 'lost spec.dynamicVolumesMount[].attributes (credentialProviderName=agentteams-token)'
const poolPath = (ns: string) => `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxsets/agentteams-builtin`

async function controller(t: Test, ns: string) {
  const writes: Write[] = []
  const c = await startSandboxController(cp, ns, { store, logs, wrapKube: (kube) => countWrites(kube, writes) })
  t.teardown(() => c.close())
  return writes
}

/** A sandbox Worker through claim and bound Sandbox to Running; its token joins the secrets. */
async function runningSandboxWorker(ns: string, name: string) {
  await createWorker(cp.api, ns, name, { backendRuntime: 'sandbox' })
  const claim = await eventually(`the claim of ${name}`, () => getClaim(cp.api, ns, name))
  await bindSandbox(cp.api, claim)
  const running = await waitForPhase(cp.api, ns, name, 'Running')
  secrets.push((await s3.getObject(depsKeys(name).token))?.toString() ?? '')
  return { claim, running }
}

async function putPool(pool: SandboxSet): Promise<SandboxSet> {
  const r = await cp.api.request('PUT', `${poolPath(pool.metadata.namespace)}`, pool)
  if (r.status !== 200) throw new Error(`PUT pool: HTTP ${r.status} ${r.text}`)
  return r.body
}

const container = (pool: SandboxSet): any => (pool.spec['template'] as any).spec.containers[0]

t.test('the pool as the provider\'s defaulting webhook writes it back: no pool write over the passes after; a real drift is still put back', async (t) => {
  const ns = await createNamespace(cp.api, 'prov-pool')
  const writes = await controller(t, ns)
  await runningSandboxWorker(ns, 'cleo')
  await settled(writes, poolWrites)
  t.equal(poolWrites(writes).length, 1, 'the pool was created once')
  const ours: SandboxSet = await getJson(cp.api, poolPath(ns))
  t.equal(container(ours).resources.requests.cpu, '1000m', 'as this controller writes it')

  // What the provider's webhook does to every SandboxSet write: a typed round trip plus pod defaults.
  const normalized = await putPool(defaultedPool(ours))
  t.equal(container(normalized).resources.requests.cpu, '1')
  t.equal(container(normalized).terminationMessagePath, '/dev/termination-log')
  t.equal((normalized.spec['template'] as any).spec.dnsPolicy, 'ClusterFirst')
  const before = poolWrites(writes).length
  const touches = await touchWorker(cp.api, workerPath(ns, 'cleo'), 20_000)
  t.same(poolWrites(writes).slice(before), [], `no pool write over ${touches} passes after the normalization`)
  t.equal((await getJson(cp.api, poolPath(ns))).metadata.resourceVersion, normalized.metadata.resourceVersion, 'the pool is as the webhook left it')

  const changed = structuredClone(normalized)
  container(changed).image = 'someone.example/else:1'
  await putPool(changed)
  const healed = await eventually('the pool image put back', async () => {
    await touchWorker(cp.api, workerPath(ns, 'cleo'), 1)
    const pool: SandboxSet = await getJson(cp.api, poolPath(ns))
    return container(pool).image === container(ours).image ? pool : undefined
  })
  t.equal(poolWrites(writes).length, before + 1, 'one write put the image back')
  const unlabelled = { ...healed, metadata: { ...healed.metadata, labels: {} } }
  await putPool(unlabelled)
  await eventually('the pool labels put back', async () => {
    await touchWorker(cp.api, workerPath(ns, 'cleo'), 1)
    const pool: SandboxSet = await getJson(cp.api, poolPath(ns))
    return pool.metadata.labels?.['agentteams.io/controller'] === 'worker-runtime-controller' ? pool : undefined
  })
  t.equal(poolWrites(writes).length, before + 2, 'and one more the labels')
})

t.test('a v0.3.0 SandboxClaim CRD (no mount attributes): a start-up warning, and the Worker says its token mount lost credentialProviderName', async (t) => {
  const [current] = await loadManifests(CLAIM_CRD)
  const old = structuredClone(current!) as any
  const mount = old.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.dynamicVolumesMount.items
  t.ok(mount.properties.attributes, 'our test CRD has the field')
  delete mount.properties.attributes
  await applyObject(cp.api, old)
  const published = (has: boolean) => (doc: any) =>
    doc?.components?.schemas?.['io.kruise.agents.v1alpha1.SandboxClaim']?.properties?.spec?.properties?.dynamicVolumesMount?.items?.properties?.attributes !== undefined === has
  await waitForPublished(cp.api, 'agents.kruise.io', 'v1alpha1', 'no mount attributes', published(false))
  t.teardown(async () => {
    await applyObject(cp.api, current!)
    await waitForPublished(cp.api, 'agents.kruise.io', 'v1alpha1', 'mount attributes', published(true))
  })

  const warningsBefore = logs.lines.filter((l) => l.includes(STARTUP_WARNING)).length
  const ns = await createNamespace(cp.api, 'prov-v030')
  const writes = await controller(t, ns)
  await eventually('the start-up warning', async () => (logs.lines.filter((l) => l.includes(STARTUP_WARNING)).length > warningsBefore ? true : undefined))
  const { claim, running } = await runningSandboxWorker(ns, 'dora')
  t.equal(claim.spec.dynamicVolumesMount?.find((m) => m.mountPath === '/var/run/secrets/agentteams')?.attributes, undefined, 'the API server pruned the attributes')
  t.match(running.status?.message, WORKER_WARNING, 'the Running Worker says what was lost')
  const events = (await getJson(cp.api, `/api/v1/namespaces/${ns}/events`)).items.filter((e: any) => e.involvedObject.name === 'dora' && e.reason === 'ClaimFieldsDropped')
  t.equal(events.length, 1, 'and a Warning Event says it when the claim is created')
  t.equal(events[0]?.type, 'Warning')
  await settled(writes, statusWrites)
  const before = statusWrites(writes).length
  await touchWorker(cp.api, workerPath(ns, 'dora'), 10_000)
  t.equal(statusWrites(writes).length, before, 'the warning is the same on every pass: no status write of its own')
})

t.test('the current SandboxClaim CRD: attributes kept, no warning', async (t) => {
  await waitForPublished(cp.api, 'agents.kruise.io', 'v1alpha1', 'mount attributes', (doc) =>
    doc?.components?.schemas?.['io.kruise.agents.v1alpha1.SandboxClaim']?.properties?.spec?.properties?.dynamicVolumesMount?.items?.properties?.attributes !== undefined)
  const warningsBefore = logs.lines.filter((l) => l.includes(STARTUP_WARNING)).length
  const ns = await createNamespace(cp.api, 'prov-current')
  await controller(t, ns)
  const { claim, running } = await runningSandboxWorker(ns, 'emma')
  t.same(claim.spec.dynamicVolumesMount?.find((m) => m.mountPath === '/var/run/secrets/agentteams')?.attributes, { credentialProviderName: 'agentteams-token' })
  t.notMatch(running.status?.message ?? '', 'lost spec.dynamicVolumesMount')
  t.equal(logs.lines.filter((l) => l.includes(STARTUP_WARNING)).length, warningsBefore, 'no start-up warning from this controller')
  t.equal((await findWorker(cp.api, ns, 'emma'))?.status?.phase, 'Running')
})

t.test('no secret value appears in any log line of this file', async (t) => {
  t.ok(logs.lines.length > 20, `the controllers logged (${logs.lines.length} lines at debug level)`)
  t.same(logs.leaks(secrets), [], 'no log line holds a token or the S3 secret key')
})
