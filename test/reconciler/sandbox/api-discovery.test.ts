// Discovery of the sandbox API: "served" is remembered for 30 s (one request per period, not per
// reconcile), "not served" is asked again every time, and a failed discovery names what it asked.

import t from 'tap'
import { KubeError } from '../../../reconciler/controller/kube.ts'
import { notFound, type RecordingKube, recordingKube } from '../fake-kube.ts'
import { API_SERVED_MEMORY_MS, SandboxApiDiscovery } from '../../../reconciler/sandbox/api-discovery.ts'
import { FakeClock } from '../fake-clock.ts'

function discoveryServer(answer: () => 'served' | 'absent' | 'down'): RecordingKube {
  return recordingKube(() => {
    const a = answer()
    if (a === 'down') throw new KubeError('connect ECONNREFUSED', { code: 0, reason: 'NetworkError' })
    if (a === 'absent') throw notFound()
    return { resources: [{ name: 'sandboxes' }, { name: 'sandboxclaims' }, { name: 'sandboxsets' }] }
  })
}

t.test('served is remembered for 30 s', async (t) => {
  const clock = new FakeClock()
  const kube = discoveryServer(() => 'served')
  const discovery = new SandboxApiDiscovery(kube, clock)
  t.equal(await discovery.served(), true)
  t.equal(await discovery.served(), true)
  t.equal(kube.requests.length, 1, 'one discovery request')
  t.equal(kube.requests[0]?.path, '/apis/agents.kruise.io/v1alpha1')
  await clock.advance(API_SERVED_MEMORY_MS)
  await discovery.served()
  t.equal(kube.requests.length, 2, 'asked again after the period')
})

t.test('not served is never remembered: CRDs installed meanwhile are found at once', async (t) => {
  let installed = false
  const kube = discoveryServer(() => (installed ? 'served' : 'absent'))
  const discovery = new SandboxApiDiscovery(kube, new FakeClock())
  t.equal(await discovery.served(), false)
  t.equal(await discovery.served(), false)
  installed = true
  t.equal(await discovery.served(), true)
  t.equal(kube.requests.length, 3)
})

t.test('a failed discovery keeps the API error and names the group', async (t) => {
  const discovery = new SandboxApiDiscovery(discoveryServer(() => 'down'), new FakeClock())
  await t.rejects(discovery.served(), { name: 'KubeError', message: 'discover API agents.kruise.io/v1alpha1: connect ECONNREFUSED' })
})
