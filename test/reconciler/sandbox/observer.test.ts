// Observing a Worker's sandbox runtime (unit level: a stand-in OpenKruise API and caches): only
// this controller's claim and Sandboxes count (the upstream controller's are adopted elsewhere), a
// claim created here counts before the cache shows it, and a missing API is undefined, not empty.

import t from 'tap'
import type { Worker } from '../../../api/worker.ts'
import { SandboxApiDiscovery } from '../../../reconciler/sandbox/api-discovery.ts'
import { CreatedClaims } from '../../../reconciler/sandbox/claim-memory.ts'
import { desiredSandboxClaim } from '../../../reconciler/sandbox/objects.ts'
import { SandboxObserver } from '../../../reconciler/sandbox/observer.ts'
import { SandboxState } from '../../../reconciler/sandbox/status.ts'
import { claimedSandbox, completedClaim } from '../../fixtures/openkruise.ts'
import { sandboxSettings, WORKER_IMAGE } from '../../e2e/sandbox-settings.ts'
import { FakeClock } from '../fake-clock.ts'
import { FakeKruise } from './fake-kruise.ts'

const alice: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1' }, spec: {} }

function setup(hidden = new Set<string>()) {
  const clock = new FakeClock()
  const api = new FakeKruise(clock)
  const created = new CreatedClaims(clock)
  const observer = new SandboxObserver({ kube: api, caches: api.caches(hidden), settings: sandboxSettings(), clock, discovery: new SandboxApiDiscovery(api, clock), created })
  return { api, created, observer }
}

/** Alice's claim as `controllerName` makes it, stored with uid c1 and completed by the provider. */
function claimOf(controllerName = 'worker-runtime-controller') {
  const claim = desiredSandboxClaim(sandboxSettings({ controllerName }), { worker: alice, image: WORKER_IMAGE, attempt: 1 })
  return completedClaim({ ...claim, metadata: { ...claim.metadata, uid: 'c1' } })
}

t.test("this controller's claim and Sandbox make a running runtime", async (t) => {
  const { api, observer } = setup()
  const claim = claimOf()
  api.put('sandboxclaims', claim)
  api.put('sandboxes', claimedSandbox(claim))
  const seen = await observer.cached(alice)
  t.equal(seen?.observation.state, SandboxState.Running)
  t.equal(seen?.claim?.metadata.uid, 'c1')
  t.equal(seen?.sandboxes.length, 1)
  t.equal((await observer.live(alice))?.observation.state, SandboxState.Running, 'the API server says the same')
})

t.test("another controller's claim and Sandbox of the same name are not this backend's", async (t) => {
  const { api, observer } = setup()
  const claim = claimOf('hiclaw-controller')
  api.put('sandboxclaims', claim)
  api.put('sandboxes', claimedSandbox(claim))
  const seen = await observer.cached(alice)
  t.equal(seen?.observation.state, SandboxState.Absent)
  t.same(seen?.sandboxes, [])
})

t.test('a claim created here counts until the cache shows it', async (t) => {
  const claim = claimOf()
  const { created, observer } = setup(new Set([claim.metadata.name]))
  created.remember(`ns/${claim.metadata.name}`, claim)
  t.equal((await observer.cached(alice))?.claim?.metadata.uid, 'c1')
})

t.test('without the API: undefined from the caches and from the API server', async (t) => {
  const { api, observer } = setup()
  api.served = false
  t.equal(await observer.cached(alice), undefined)
  t.equal(await observer.live(alice), undefined)
})
