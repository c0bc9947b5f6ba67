// The sandbox watches while the OpenKruise API is optional (unit level, a stand-in API client and a
// fake clock): missing API → a synced, empty cache that never blocks the controller; the API
// appearing → an error that makes the supervisor start the real watch; Worker keys from labels.

import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { KubeError, type KubeClient, type KubeRequest } from '../../reconciler/kube.ts'
import { sandboxApiServed, sandboxWatchSources, SandboxApiAppeared, workerKeys } from '../../reconciler/sandbox-watch.ts'
import { FakeClock } from './fake-clock.ts'

function kubeWith(served: () => boolean): KubeClient & { requests: KubeRequest[] } {
  const requests: KubeRequest[] = []
  return {
    requests,
    async close() {},
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req)
      if (!served()) throw new KubeError('the server could not find the requested resource', { code: 404, reason: 'NotFound' })
      if (req.path === '/apis/agents.kruise.io/v1alpha1') return { resources: [{ name: 'sandboxes' }, { name: 'sandboxclaims' }] } as T
      return { items: [], metadata: { resourceVersion: '1' } } as T
    },
  }
}

const naming = { controllerName: 'wrc', resourcePrefix: 'agentteams-' }

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
  const [sandboxes] = sandboxWatchSources({ kubeconfig: new KubeConfig(), kube, naming, namespace: 'ns', clock, probeEveryMs: 1000 })
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
  const sources = sandboxWatchSources({ kubeconfig: new KubeConfig(), kube: kubeWith(() => true), naming })
  t.same(sources.map((s) => s.kind), ['Sandbox', 'SandboxClaim', 'SandboxSet'])
  const pools = sources.find((s) => s.kind === 'SandboxSet')!
  t.same(pools.keys({ apiVersion: 'v', kind: 'SandboxSet', metadata: { namespace: 'ns', name: 'agentteams-builtin', labels: { 'agentteams.io/worker': 'alice' } } }), [], 'a pool change enqueues no Worker')
  t.same(workerKeys({ apiVersion: 'v', kind: 'Sandbox', metadata: { namespace: 'ns', name: 'sbx', labels: { 'agentteams.io/worker': 'alice' } } }), ['ns/alice'])
  t.same(workerKeys({ apiVersion: 'v', kind: 'Sandbox', metadata: { namespace: 'ns', name: 'pool-sbx' } }), [], 'unlabelled pool sandboxes map to nothing')
})
