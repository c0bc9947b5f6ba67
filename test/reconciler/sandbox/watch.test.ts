// The sandbox watches while the OpenKruise API is optional (unit level, a stand-in API client and a
// fake clock): missing API → a synced, empty cache that never blocks the controller; the API
// appearing → an error that makes the supervisor start the real watch; Worker keys from labels.

import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { KubeError, type KubeClient } from '../../../reconciler/controller/kube.ts'
import { notFound, type RecordingKube, recordingKube } from '../fake-kube.ts'
import { sandboxApiServed } from '../../../reconciler/sandbox/api-discovery.ts'
import { sandboxWatchSources, SandboxApiAppeared } from '../../../reconciler/sandbox/watch.ts'
import { runtimeEnqueueKeys, runtimeIndexKeys } from '../../../reconciler/backend/runtime-watch.ts'
import { FakeClock } from '../fake-clock.ts'

function kubeWith(served: () => boolean): RecordingKube {
  return recordingKube((req) => {
    if (!served()) throw notFound()
    if (req.path === '/apis/agents.kruise.io/v1alpha1') return { resources: [{ name: 'sandboxes' }, { name: 'sandboxclaims' }] }
    return { items: [], metadata: { resourceVersion: '1' } }
  })
}


t.test('discovery: served or not; other errors propagate', async (t) => {
  t.equal(await sandboxApiServed(kubeWith(() => true), 'sandboxes'), true)
  t.equal(await sandboxApiServed(kubeWith(() => true), 'sandboxsets'), false, 'a plural the group does not list')
  t.equal(await sandboxApiServed(kubeWith(() => false), 'sandboxes'), false)
  const broken: KubeClient = { async close() {}, request: async () => { throw new KubeError('boom', { code: 500, reason: 'InternalError' }) } }
  await t.rejects(sandboxApiServed(broken, 'sandboxes'), { message: 'boom' })
})

t.test('API missing: the cache starts synced and empty, then reports the API once it appears', async (t) => {
  let served = false
  const clock = new FakeClock()
  const kube = kubeWith(() => served)
  const [sandboxes] = sandboxWatchSources({ kubeconfig: new KubeConfig(), kube, scope: { namespace: 'ns', legacyNamespaces: [] }, keys: runtimeIndexKeys, clock, probeEveryMs: 1000 })
  t.equal(sandboxes?.kind, 'Sandbox')
  const informer = sandboxes!.create()
  const errors: unknown[] = []
  informer.on('error', (e) => errors.push(e))
  await informer.start()
  t.same(informer.list(), [], 'an empty cache')
  t.equal(informer.get('x', 'ns'), undefined)
  t.same(await sandboxes!.list(), { items: [], resourceVersion: undefined }, 'verification relists see an empty list, not an error')
  await clock.advance(1000)
  t.same(errors, [], 'still missing: nothing reported')
  served = true
  await clock.advance(1000)
  t.equal(errors.length, 1)
  t.type(errors[0], SandboxApiAppeared, 'the supervisor is told to restart into the real watch')
  await informer.stop()
  await clock.advance(5000)
  t.equal(errors.length, 1, 'a stopped informer probes no more')
})

t.test('Sandboxes and SandboxClaims map to their Worker; SandboxSets (pools) to none', async (t) => {
  const scope = { namespace: undefined, legacyNamespaces: [] }
  const sources = sandboxWatchSources({ kubeconfig: new KubeConfig(), kube: kubeWith(() => true), scope, keys: runtimeIndexKeys })
  t.same(sources.map((s) => s.kind), ['Sandbox', 'SandboxClaim', 'SandboxSet'])
  const pools = sources.find((s) => s.kind === 'SandboxSet')!
  t.same(pools.keys({ apiVersion: 'v', kind: 'SandboxSet', metadata: { namespace: 'ns', name: 'agentteams-builtin', labels: { 'agentteams.io/worker': 'alice' } } }), [], 'a pool change enqueues no Worker')
  const sandboxes = sources.find((s) => s.kind === 'Sandbox')!
  t.same(sandboxes.keys({ apiVersion: 'v', kind: 'Sandbox', metadata: { namespace: 'ns', name: 'sbx', labels: { 'agentteams.io/worker': 'alice' } } }), ['ns/alice'])
  t.same(sandboxes.keys({ apiVersion: 'v', kind: 'Sandbox', metadata: { namespace: 'ns', name: 'pool-sbx' } }), [], 'unlabelled pool sandboxes map to nothing')
})

t.test('a single watched namespace with legacy namespaces: those get informers of their own', async (t) => {
  const scope = { namespace: 'team-a', legacyNamespaces: ['hiclaw', 'team-a'] }
  const keys = runtimeEnqueueKeys(scope, (name) => (name === 'dave' ? ['team-a/dave', 'team-b/dave'] : []))
  const sources = sandboxWatchSources({ kubeconfig: new KubeConfig(), kube: kubeWith(() => true), scope, keys })
  t.same(sources.map((s) => s.kind), ['Sandbox', 'SandboxClaim', 'Sandbox@hiclaw', 'SandboxClaim@hiclaw', 'SandboxSet'], 'the watched namespace is not watched twice')
  const legacyClaims = sources.find((s) => s.kind === 'SandboxClaim@hiclaw')!
  const claim = { apiVersion: 'v', kind: 'SandboxClaim', metadata: { namespace: 'hiclaw', name: 'hiclaw-worker-dave', labels: { 'agentteams.io/worker': 'dave' } } }
  t.same(legacyClaims.keys(claim), ['hiclaw/dave', 'team-a/dave', 'team-b/dave'], 'a legacy-namespace object wakes every Worker of its name')
  t.same(legacyClaims.index!(claim), ['hiclaw/dave'], 'and is indexed under its own namespace')
  const own = { ...claim, metadata: { ...claim.metadata, namespace: 'team-c' } }
  t.same(sources.find((s) => s.kind === 'SandboxClaim')!.keys(own), ['team-c/dave'], 'an object outside the legacy namespaces wakes its own namespace\'s Worker only')
})
