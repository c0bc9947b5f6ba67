// The test provider (sandbox-provider.ts) behaves as OpenKruise Agents was seen to behave
// (docs/sandbox.md), on the claims the real controller makes: a claimed Sandbox leaves the pool
// with the claim's labels and annotations, is Running and Ready with podInfo from its Pod, the claim
// is Completed, the pool refills, an empty pool gets a Sandbox made for the claim — and every
// Sandbox is backed by a Pod that runs on the fake Node and goes with its Sandbox (garbage collection).

import t from 'tap'
import { createNamespace } from '../harness/namespaces.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { workerPath } from '../../api/worker.ts'
import type { Sandbox } from '../../reconciler/sandbox/objects.ts'
import { eventually, findWorker, getJson, podPath, waitForPhase } from './reconciler-kit.ts'
import { bindSandbox, getClaim, poolSandboxes, startSandboxController, startSandboxSuite } from './sandbox-kit.ts'
import { PROVIDER_ANNOTATION, PROVIDER_LABEL } from './sandbox-provider.ts'

const { cp, store, logs } = await startSandboxSuite(t)
const POOL = 'agentteams-builtin'

async function controller(t: { teardown(fn: () => unknown): void }, ns: string, prewarmSize: number) {
  const c = await startSandboxController(cp, ns, { store, logs, settings: { prewarmSize } })
  t.teardown(() => c.close())
}

const claimOf = (ns: string, worker: string) => eventually(`the claim of ${worker}`, () => getClaim(cp.api, ns, worker))
const podOf = (sandbox: Sandbox) => getJson(cp.api, podPath(sandbox.metadata.namespace, sandbox.metadata.name))

t.test('a claim takes a Sandbox from the warm pool: the claim owns it, it runs on a real Pod, and the pool refills', async (t) => {
  const ns = await createNamespace(cp.api, 'provider-pool')
  await controller(t, ns, 1)
  await createWorker(cp.api, ns, 'alice', { backendRuntime: 'sandbox', image: 'example.com/alice:3', labels: { team: 'blue' } })
  const claim = await claimOf(ns, 'alice')
  const sandbox = await bindSandbox(cp.api, claim)

  t.equal(sandbox.metadata.labels?.[PROVIDER_LABEL.pool], POOL, 'it came from the pool')
  t.same(sandbox.metadata.ownerReferences ?? [], [], 'it lost the SandboxSet owner reference')
  t.equal(sandbox.metadata.labels?.[PROVIDER_LABEL.claimed], 'true')
  t.equal(sandbox.metadata.labels?.[PROVIDER_LABEL.claimName], claim.metadata.name)
  for (const [key, value] of Object.entries(claim.spec.labels ?? {})) t.equal(sandbox.metadata.labels?.[key], value, `the claim's label ${key}`)
  t.equal(sandbox.metadata.annotations?.[PROVIDER_ANNOTATION.owner], claim.metadata.uid, "annotation owner: the claim's uid")
  t.ok(sandbox.metadata.annotations?.[PROVIDER_ANNOTATION.claimTimestamp], 'annotation claim-timestamp')

  const pod = await podOf(sandbox)
  t.equal(pod.metadata.ownerReferences?.[0]?.uid, sandbox.metadata.uid, 'its Pod (same name) is controlled by the Sandbox')
  t.equal(pod.spec.nodeName, cp.nodeName, 'and runs on the fake Node')
  t.equal(pod.status.phase, 'Running')
  t.equal(pod.spec.containers[0].image, 'example.com/alice:3', "the claim's image swapped in place")
  t.equal(sandbox.status?.phase, 'Running')
  t.same((sandbox.status as any)?.podInfo, { nodeName: cp.nodeName, podIP: pod.status.podIP, podUID: pod.metadata.uid }, 'podInfo from the Pod')
  t.equal((sandbox.status as any)?.sandboxIp, pod.status.podIP)
  const conditions = sandbox.status?.conditions ?? []
  t.same(conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Ready=True/PodReady', 'InplaceUpdate=True/Succeeded'])
  t.ok(conditions.every((c) => typeof c.reason === 'string' && typeof c.message === 'string'), 'every condition has a reason and a message')

  const completed = await getClaim(cp.api, ns, 'alice')
  t.equal(completed?.status?.phase, 'Completed')
  t.equal(completed?.status?.claimedReplicas, 1)
  t.match(completed?.status?.conditions, [{ type: 'Completed', status: 'True', reason: 'AllReplicasClaimed' }])

  const stock = await poolSandboxes(cp.api, ns, POOL)
  t.equal(stock.length, 1, 'the pool refilled to its size')
  t.equal(stock[0]?.metadata.ownerReferences?.[0]?.['kind'], 'SandboxSet', 'with a Sandbox the SandboxSet owns')
  t.equal((await podOf(stock[0] as Sandbox))?.status?.phase, 'Running', 'warm: its Pod already runs')
  t.equal((await waitForPhase(cp.api, ns, 'alice', 'Running')).status?.backendRuntime, 'sandbox')

  await cp.api.request('DELETE', workerPath(ns, 'alice'))
  await eventually('the Worker to be gone', async () => ((await findWorker(cp.api, ns, 'alice')) === undefined ? true : undefined))
  await eventually("the claimed Sandbox's Pod to go with it (garbage collection)", async () => ((await podOf(sandbox)) === undefined ? true : undefined), 120_000)
  t.equal((await poolSandboxes(cp.api, ns, POOL)).length, 1, 'the pool is left alone')
})

t.test('an empty pool: the claim gets a Sandbox made for it, owned by no pool, with a Pod from the claimed template', async (t) => {
  const ns = await createNamespace(cp.api, 'provider-empty')
  await controller(t, ns, 0)
  await createWorker(cp.api, ns, 'bob', { backendRuntime: 'sandbox', labels: { team: 'red' } })
  const claim = await claimOf(ns, 'bob')
  const sandbox = await bindSandbox(cp.api, claim)
  t.same(sandbox.metadata.ownerReferences ?? [], [], 'no owner reference')
  t.equal(sandbox.metadata.annotations?.[PROVIDER_ANNOTATION.priority], '100', 'marked as made on no stock')
  t.equal(sandbox.metadata.annotations?.[PROVIDER_ANNOTATION.owner], claim.metadata.uid)
  const pod = await podOf(sandbox)
  t.equal(pod.metadata.labels?.team, 'red', "the Pod carries the claim's labels (the pod template's)")
  t.equal(pod.metadata.labels?.[PROVIDER_ANNOTATION.owner], claim.metadata.uid, "and the owner label with the claim's uid")
  t.equal(pod.status.phase, 'Running')
  t.same(await poolSandboxes(cp.api, ns, POOL), [], 'the pool stays empty')
  await waitForPhase(cp.api, ns, 'bob', 'Running')
})
