// The provider as it really behaves (docs/sandbox.md), unit level, with fixtures in the shape the
// real OpenKruise Agents controller leaves its objects (test/fixtures/openkruise.ts): the claimed
// Sandbox is recognised as the Worker's by its labels and annotations, whether the pool's owner
// reference was removed or moved to the claim; a pool the defaulting webhook normalized is not
// drift, a real change is; a claim stored without its mount attributes is told apart.

import t from 'tap'
import type { KubeObject } from '../../../api/meta.ts'
import type { Worker } from '../../../api/worker.ts'
import { isOwnObject } from '../../../reconciler/backend/contract.ts'
import { RuntimeObjects } from '../../../reconciler/worker/runtime-objects.ts'
import { runtimeIndexKeys } from '../../../reconciler/backend/runtime-watch.ts'
import { droppedAttributesWarning, droppedMountAttributes } from '../../../reconciler/sandbox/compat.ts'
import { desiredSandboxClaim, recordedSpecHash, type SandboxClaim } from '../../../reconciler/sandbox/objects.ts'
import { desiredSandboxSet, sandboxSetUpdate } from '../../../reconciler/sandbox/pool.ts'
import { observeSandbox, SandboxState } from '../../../reconciler/sandbox/status.ts'
import { claimedSandbox, completedClaim, defaultedPool, poolSandbox, PROVIDER_TIME } from '../../fixtures/openkruise.ts'
import { sandboxSettings } from '../../e2e/sandbox-settings.ts'

const settings = sandboxSettings()
const worker: Worker = { metadata: { name: 'alice', namespace: 'team-a', uid: 'uid-alice' }, spec: { backendRuntime: 'sandbox', labels: { team: 'blue' } } }
const created = (): SandboxClaim => {
  const claim = desiredSandboxClaim(settings, { worker, image: 'registry/worker:1', attempt: 1, specHash: 'digest-1' })
  return { ...claim, metadata: { ...claim.metadata, uid: 'claim-uid', creationTimestamp: PROVIDER_TIME } }
}
const now = Date.parse(PROVIDER_TIME) + 5000
const kubeObject = (o: object): KubeObject => o as KubeObject

t.test('the claimed Sandbox of a completed claim is the Worker\'s running runtime, with either owner reference shape', async (t) => {
  const claim = completedClaim(created())
  for (const owner of ['none', 'claim'] as const) {
    const sandbox = claimedSandbox(claim, { owner })
    t.equal(sandbox.metadata.labels?.['agentteams.io/worker'], 'alice', 'the claim\'s spec.labels name the Worker')
    t.same(runtimeIndexKeys(sandbox), ['team-a/alice'], `${owner}: found through the worker label (the watch's index)`)
    t.ok(isOwnObject(sandbox, settings), `${owner}: this controller's, by the controller label the claim carried`)
    const o = observeSandbox({ claim, sandboxes: [sandbox], now, claimTimeout: '5m' })
    t.match(o, { state: SandboxState.Running, reason: 'SandboxReady', sandbox: { metadata: { name: sandbox.metadata.name } }, stale: [] }, `${owner}: Running`)
    t.equal(recordedSpecHash(undefined, sandbox), 'digest-1', `${owner}: the digest the provider copied from spec.annotations outlives the claim`)
  }
})

t.test('the owner annotation (the claim\'s uid) tells a leftover of an earlier claim of the same name', async (t) => {
  const claim = completedClaim(created())
  const earlier = claimedSandbox({ ...claim, metadata: { ...claim.metadata, uid: 'earlier-claim-uid' } }, { name: 'agentteams-builtin-old' })
  const current = claimedSandbox(claim)
  const o = observeSandbox({ claim, sandboxes: [earlier, current], now, claimTimeout: '5m' })
  t.equal(o.state, SandboxState.Running)
  t.equal(o.sandbox?.metadata.name, current.metadata.name)
  t.same(o.stale.map((s) => s.metadata.name), ['agentteams-builtin-old'])
})

t.test('runtime objects: the claimed Sandbox is the Worker\'s; a pool Sandbox is nobody\'s', async (t) => {
  const f = new RuntimeObjects({
    naming: settings,
    legacyPrefixes: ['hiclaw-'],
    legacyNamespaces: [],
    kube: { close: async () => {}, request: async () => ({ items: [] }) as never },
    kinds: ['Sandbox'],
    cache: () => undefined,
    workerNamespaces: () => ['team-a'],
  })
  const names = f.names(worker)
  const claim = completedClaim(created())
  t.match(f.classify('Sandbox', kubeObject(claimedSandbox(claim)), worker, names), { own: true, backend: 'sandbox' }, 'pool owner reference removed')
  t.match(f.classify('Sandbox', kubeObject(claimedSandbox(claim, { owner: 'claim' })), worker, names), { own: true }, 'owner reference moved to the claim')
  const pool = poolSandbox(desiredSandboxSet(settings, 'team-a'))
  t.equal(runtimeIndexKeys(pool).length, 0, 'a pool Sandbox carries no worker label: no Worker is enqueued for it')
  const mislabelled = { ...pool, metadata: { ...pool.metadata, labels: { ...pool.metadata.labels, 'agentteams.io/worker': 'alice' } } }
  t.equal(f.classify('Sandbox', kubeObject(mislabelled), worker, names), undefined, 'even labelled, a Sandbox its SandboxSet controls is not a runtime')
})

t.test('the pool as the defaulting webhook writes it back is not drift; a real change still is', async (t) => {
  const desired = desiredSandboxSet(settings, 'team-a')
  const stored = { ...defaultedPool(desired), metadata: { ...desired.metadata, resourceVersion: '7', uid: 'u' } }
  const container = (stored.spec['template'] as any).spec.containers[0]
  t.equal(container.resources.requests.cpu, '1', 'the fixture normalizes 1000m to 1, as the webhook does')
  t.equal(container.terminationMessagePath, '/dev/termination-log', 'and adds the pod defaults')
  t.equal(sandboxSetUpdate(stored, desired), undefined, 'normalized quantities and added defaults: no update')

  const image = structuredClone(stored)
  ;(image.spec['template'] as any).spec.containers[0].image = 'someone/else:1'
  t.equal((sandboxSetUpdate(image, desired)?.spec['template'] as any)?.spec.containers[0].image, (desired.spec['template'] as any).spec.containers[0].image, 'a changed image is put back')
  const cpu = structuredClone(stored)
  ;(cpu.spec['template'] as any).spec.containers[0].resources.limits.cpu = '2'
  t.ok(sandboxSetUpdate(cpu, desired), 'a changed quantity is drift')
  const scaled = { ...structuredClone(stored), spec: { ...structuredClone(stored.spec), replicas: 4 } }
  t.equal(sandboxSetUpdate(scaled, desired)?.spec.replicas, 1, 'a changed size is put back')
  const unlabelled = { ...structuredClone(stored), metadata: { ...stored.metadata, labels: {} } }
  t.same(sandboxSetUpdate(unlabelled, desired)?.metadata.labels, desired.metadata.labels, 'removed labels are put back')
})

t.test('a claim stored without its mount attributes (OpenKruise Agents v0.3.0) is told apart', async (t) => {
  const claim = created()
  t.same(droppedMountAttributes(claim.spec.dynamicVolumesMount ?? [], claim), [], 'stored as sent: nothing dropped')
  t.equal(droppedAttributesWarning(settings, worker, claim), undefined)
  t.equal(droppedAttributesWarning(settings, worker, undefined), undefined, 'no claim: nothing to tell')
  const pruned = structuredClone(claim)
  for (const m of pruned.spec.dynamicVolumesMount ?? []) delete m.attributes
  t.same(droppedMountAttributes(claim.spec.dynamicVolumesMount ?? [], pruned), ['credentialProviderName=agentteams-token'])
  t.match(droppedAttributesWarning(settings, worker, pruned), /^SandboxClaim agentteams-worker-alice lost spec\.dynamicVolumesMount\[\]\.attributes \(credentialProviderName=agentteams-token\): .*v0\.3\.0.*upgrade OpenKruise Agents/)
  const other = structuredClone(claim)
  other.spec.dynamicVolumesMount = other.spec.dynamicVolumesMount?.filter((m) => !m.attributes)
  t.same(droppedMountAttributes(claim.spec.dynamicVolumesMount ?? [], other), [], 'a mount the claim does not have is not this check\'s business')
})
