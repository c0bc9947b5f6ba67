// The echo filter for the reconciler's own Worker writes: the exact versions its writes returned are
// echoes (once each, in order, even when the watch skipped some); any other version is a real change
// and forgets what was noted; only successful Worker PATCH/PUT responses are noted.

import t from 'tap'
import type { KubeClient, KubeRequest } from '../../../reconciler/controller/kube.ts'
import { KEEP_MS, OwnWrites, trackOwnWrites } from '../../../reconciler/controller/own-writes.ts'

t.test('the versions our writes produced are echoes, once each', async (t) => {
  const writes = new OwnWrites()
  writes.note('ns/alice', '10')
  writes.note('ns/alice', '11')
  writes.note('ns/alice', '12')
  t.ok(writes.isEcho('ns/alice', '10'), 'the finalizer write comes back')
  t.ok(writes.isEcho('ns/alice', '11'), 'then the first status write')
  t.notOk(writes.isEcho('ns/alice', '10'), 'an echo counts once')
  t.notOk(writes.isEcho('ns/bob', '12'), "another Worker's event is never an echo")
})

t.test('a version the watch skipped does not hold the later ones back', async (t) => {
  const writes = new OwnWrites()
  for (const rv of ['10', '11', '12']) writes.note('ns/alice', rv)
  t.ok(writes.isEcho('ns/alice', '12'), 'a relist delivered only the last version: still ours')
  t.equal(writes.size(), 0, 'nothing left to remember')
})

t.test("someone else's change is a real event and forgets our pending versions", async (t) => {
  const writes = new OwnWrites()
  writes.note('ns/alice', '10')
  t.notOk(writes.isEcho('ns/alice', '9'), "the user's edit, delivered before our echo")
  t.notOk(writes.isEcho('ns/alice', '10'), 'forgotten: a version after a real change is reconciled again (an extra pass, never a missed one)')
  t.notOk(writes.isEcho('ns/alice', undefined), 'an object without a version is never an echo')
  writes.note('ns/alice', undefined)
  t.equal(writes.size(), 0, 'a write without a version notes nothing')
})

t.test('trackOwnWrites notes successful Worker writes only', async (t) => {
  const answers: Record<string, unknown> = {
    'PATCH /apis/agentteams.io/v1beta1/namespaces/ns/workers/alice': { metadata: { resourceVersion: '20' } },
    'PATCH /apis/agentteams.io/v1beta1/namespaces/ns/workers/alice/status': { metadata: { resourceVersion: '21' } },
    'POST /api/v1/namespaces/ns/events': { metadata: { resourceVersion: '22' } },
    'GET /apis/agentteams.io/v1beta1/namespaces/ns/workers/alice': { metadata: { resourceVersion: '21' } },
  }
  const fake: KubeClient = {
    close: async () => {},
    request: async <T>(r: KubeRequest): Promise<T> => {
      if (r.path.endsWith('/bob/status')) throw new Error('409 Conflict')
      return answers[`${r.method} ${r.path}`] as T
    },
  }
  const writes = new OwnWrites()
  const kube = trackOwnWrites(fake, writes, { group: 'agentteams.io', version: 'v1beta1', plural: 'workers' })
  await kube.request({ method: 'PATCH', path: '/apis/agentteams.io/v1beta1/namespaces/ns/workers/alice', body: {} })
  await kube.request({ method: 'PATCH', path: '/apis/agentteams.io/v1beta1/namespaces/ns/workers/alice/status', body: {} })
  await kube.request({ method: 'POST', path: '/api/v1/namespaces/ns/events', body: {} })
  await kube.request({ method: 'GET', path: '/apis/agentteams.io/v1beta1/namespaces/ns/workers/alice' })
  await t.rejects(kube.request({ method: 'PATCH', path: '/apis/agentteams.io/v1beta1/namespaces/ns/workers/bob/status', body: {} }), /409/)
  t.equal(writes.size(), 1, 'one Worker written: the Event, the read and the failed write note nothing')
  t.ok(writes.isEcho('ns/alice', '20'))
  t.ok(writes.isEcho('ns/alice', '21'))
})

const worker = (uid: string, resourceVersion: string) => ({ metadata: { uid, resourceVersion } })

t.test('a pass reads its own writes while the cache still holds an older version of the chain', async (t) => {
  const writes = new OwnWrites()
  // Created at 10; the finalizer write (based on 10) returned 11, the status write (based on 11) 12.
  writes.note('ns/alice', '11', '10', worker('u1', '11'))
  writes.note('ns/alice', '12', '11', worker('u1', '12'))
  t.same(writes.freshest('ns/alice', worker('u1', '10')), worker('u1', '12'), 'the cache from before the finalizer: our last write is newer')
  t.same(writes.freshest('ns/alice', worker('u1', '11')), worker('u1', '12'), 'the cache from between our writes: the same')
  t.same(writes.freshest('ns/alice', worker('u1', '12')), worker('u1', '12'), 'the cache caught up: the cached object')
  t.same(writes.freshest('ns/alice', worker('u1', '13')), worker('u1', '13'), 'a version our writes were not based on is newer (they form one chain): the cache wins')
  t.same(writes.freshest('ns/alice', worker('u2', '10')), worker('u2', '10'), 'a re-created Worker (another uid) is never replaced')
  t.equal(writes.freshest('ns/alice', undefined), undefined, 'a Worker gone from the cache stays gone')
  t.same(writes.freshest('ns/bob', worker('u3', '10')), worker('u3', '10'), 'another Worker: the cache')
})

t.test('what a pass reads around is forgotten once the cache has it, or someone else wrote', async (t) => {
  const writes = new OwnWrites()
  writes.note('ns/alice', '11', '10', worker('u1', '11'))
  t.ok(writes.isEcho('ns/alice', '11'))
  t.same(writes.freshest('ns/alice', worker('u1', '10')), worker('u1', '10'), 'nothing is kept after the last echo')
  writes.note('ns/alice', '12', '11', worker('u1', '12'))
  t.notOk(writes.isEcho('ns/alice', '14'), "the user's edit")
  t.same(writes.freshest('ns/alice', worker('u1', '11')), worker('u1', '11'))
  t.equal(writes.size(), 0)
})

t.test('a write without a precondition breaks the chain: the cache is used', async (t) => {
  const writes = new OwnWrites()
  writes.note('ns/alice', '11', '10', worker('u1', '11'))
  writes.note('ns/alice', '13', undefined, worker('u1', '13'))
  t.same(writes.freshest('ns/alice', worker('u1', '10')), worker('u1', '10'), 'another writer may have come between: no overlay')
  t.ok(writes.isEcho('ns/alice', '13'), 'the echo filter still knows the version')
})

t.test('trackOwnWrites records the precondition and the returned Worker', async (t) => {
  const fake: KubeClient = {
    close: async () => {},
    request: async <T>(r: KubeRequest): Promise<T> => ({ metadata: { uid: 'u1', resourceVersion: String(Number((r.body as any).metadata.resourceVersion) + 1) } }) as T,
  }
  const writes = new OwnWrites()
  const kube = trackOwnWrites(fake, writes, { group: 'agentteams.io', version: 'v1beta1', plural: 'workers' })
  await kube.request({ method: 'PATCH', path: '/apis/agentteams.io/v1beta1/namespaces/ns/workers/alice', body: { metadata: { resourceVersion: '10', finalizers: ['x'] } } })
  await kube.request({ method: 'PATCH', path: '/apis/agentteams.io/v1beta1/namespaces/ns/workers/alice/status', body: { metadata: { resourceVersion: '11' }, status: {} } })
  t.same(writes.freshest('ns/alice', worker('u1', '10')), worker('u1', '12'))
})

t.test('an echo that arrived before the write was noted leaves nothing behind', async (t) => {
  const cache = new Map<string, string>([['ns/alice', '10']])
  const writes = new OwnWrites({ cachedVersion: (key) => cache.get(key) })
  writes.note('ns/alice', '11', '10', worker('u1', '11'))
  // The watch delivers 12 (the informer stores it) before the status write's response is handled.
  cache.set('ns/alice', '12')
  t.notOk(writes.isEcho('ns/alice', '12'), 'not known yet: treated as a change (one extra pass at most)')
  writes.note('ns/alice', '12', '11', worker('u1', '12'))
  t.equal(writes.size(), 0, 'the informer already holds it: nothing is kept for this Worker')
  t.same(writes.freshest('ns/alice', worker('u1', '12')), worker('u1', '12'))
})

t.test('a write whose echo never comes is forgotten after KEEP_MS', async (t) => {
  let now = 1_000_000
  const clock = { now: () => now, setTimeout: () => ({}), clearTimeout: () => {} }
  const writes = new OwnWrites({ clock })
  writes.note('ns/alice', '11', '10', worker('u1', '11'))
  now += KEEP_MS + 1
  t.same(writes.freshest('ns/alice', worker('u1', '10')), worker('u1', '10'), 'too old to trust: the cache')
  for (let i = 0; i < 300; i++) writes.note(`ns/w${i}`, '2', '1', worker(`w${i}`, '2'))
  t.equal(writes.size(), 300, 'the sweep dropped the stale entry and kept the fresh ones')
})
