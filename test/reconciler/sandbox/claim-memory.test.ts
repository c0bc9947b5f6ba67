// Read-your-writes of created claims: a claim just created counts until the cache shows that very
// claim (same uid) or a minute has passed; an older claim of the same name in the cache does not
// hide it; expired entries do not pile up.

import t from 'tap'
import { CREATED_MEMORY_MS, CreatedClaims } from '../../../reconciler/sandbox/claim-memory.ts'
import type { SandboxClaim } from '../../../reconciler/sandbox/objects.ts'
import { FakeClock } from '../fake-clock.ts'

const claim = (uid: string): SandboxClaim => ({
  apiVersion: 'agents.kruise.io/v1alpha1',
  kind: 'SandboxClaim',
  metadata: { name: 'agentteams-worker-alice', namespace: 'ns', uid, managedFields: [{ manager: 'x' }] },
  spec: { templateName: 'agentteams-builtin' },
})
const KEY = 'ns/agentteams-worker-alice'

t.test('a created claim counts until the cache shows the same claim', async (t) => {
  const clock = new FakeClock()
  const created = new CreatedClaims(clock)
  t.equal(created.resolve(KEY, undefined), undefined, 'nothing created, nothing cached')
  created.remember(KEY, claim('new'))
  t.equal(created.resolve(KEY, undefined)?.metadata.uid, 'new', 'not cached yet: the created one')
  t.equal(created.resolve(KEY, undefined)?.metadata.managedFields, undefined, 'kept without managedFields, as the cache keeps objects')
  t.equal(created.resolve(KEY, claim('old'))?.metadata.uid, 'new', 'the cache still shows the claim this one replaced')
  t.equal(created.resolve(KEY, claim('new'))?.metadata.uid, 'new', 'caught up')
  t.equal(created.size(), 0, 'and forgotten once the cache has it')
  t.equal(created.resolve(KEY, claim('old'))?.metadata.uid, 'old', 'from then on the cache decides')
})

t.test('the memory expires, and forget drops a deleted claim', async (t) => {
  const clock = new FakeClock()
  const created = new CreatedClaims(clock)
  created.remember(KEY, claim('new'))
  await clock.advance(CREATED_MEMORY_MS + 1)
  t.equal(created.resolve(KEY, undefined), undefined, 'a minute later the cache decides, even if it never showed it')
  created.remember(KEY, claim('again'))
  created.forget(KEY)
  t.equal(created.resolve(KEY, undefined), undefined, 'forgotten')
})

t.test('expired entries of Workers never reconciled again are dropped on the next remember', async (t) => {
  const clock = new FakeClock()
  const created = new CreatedClaims(clock)
  for (let i = 0; i < 100; i++) created.remember(`ns/claim-${i}`, claim(`u${i}`))
  t.equal(created.size(), 100)
  await clock.advance(CREATED_MEMORY_MS + 1)
  created.remember(KEY, claim('new'))
  t.equal(created.size(), 1, 'only the fresh one is kept')
})
