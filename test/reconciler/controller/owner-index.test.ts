// The owner index over an informer cache: objects are found by the Worker they belong to, follow
// their labels when those change, leave when deleted, and a restarted informer starts a fresh index.

import t from 'tap'
import { indexByOwner } from '../../../reconciler/controller/owner-index.ts'
import { FakeInformer, FakeServer, type Obj } from '../fake-informer.ts'

/** The fake's objects carry no labels: the test files each object under the worker its name says (`<worker>.<n>`). */
const ownerOf = (o: Obj): string[] => (o.metadata.name.includes('.') ? [`${o.metadata.namespace}/${o.metadata.name.split('.')[0]}`] : [])
const names = (objs: Obj[]) => objs.map((o) => o.metadata.name).sort()

t.test('objects are found by owner from the first list on, and follow adds, updates and deletes', async (t) => {
  const server = new FakeServer()
  server.put('alice.0')
  server.put('unowned')
  const informer = indexByOwner(new FakeInformer(server), ownerOf)
  const seen: string[] = []
  informer.on('add', (o: Obj) => seen.push(`${o.metadata.name}:${names(informer.byOwner('ns/alice')).join(',')}`))
  await informer.start()
  t.same(names(informer.byOwner('ns/alice')), ['alice.0'], 'listed objects are indexed')
  t.same(informer.byOwner('ns/bob'), [], 'an owner with nothing is empty')
  server.put('alice.1')
  server.put('bob.0')
  t.same(names(informer.byOwner('ns/alice')), ['alice.0', 'alice.1'])
  t.same(names(informer.byOwner('ns/bob')), ['bob.0'])
  t.ok(seen.includes('alice.1:alice.0,alice.1'), 'handlers registered later already see the index updated')
  const updated = server.put('alice.1')
  t.equal(informer.byOwner('ns/alice').find((o) => o.metadata.name === 'alice.1'), updated, 'an update replaces the indexed object')
  server.remove('alice.0')
  t.same(names(informer.byOwner('ns/alice')), ['alice.1'], 'a deleted object leaves the index')
  t.same(names(informer.list() as Obj[]), ['alice.1', 'bob.0', 'unowned'], 'list and get still read the cache itself')
  t.equal(informer.get('bob.0')?.metadata.name, 'bob.0')
})

t.test('an object whose owner changes moves to the new owner', async (t) => {
  const server = new FakeServer()
  let owner = 'ns/alice'
  const informer = indexByOwner(new FakeInformer(server), () => [owner])
  await informer.start()
  server.put('sbx')
  t.same(names(informer.byOwner('ns/alice')), ['sbx'])
  owner = 'ns/bob'
  server.put('sbx')
  t.same(informer.byOwner('ns/alice'), [], 'gone from the old owner')
  t.same(names(informer.byOwner('ns/bob')), ['sbx'], 'filed under the new one')
})
