// Which objects are a Worker's runtime (docs/runtime-objects.md), decided without an API server: the
// worker label or, unlabelled, a legacy name; owner references that give an object to someone else;
// namesakes in legacy namespaces (their own namespace's Worker first, ambiguous when several).

import t from 'tap'
import type { KubeObject } from '../../../api/meta.ts'
import type { Worker } from '../../../api/worker.ts'
import { RuntimeObjects } from '../../../reconciler/worker/runtime-objects.ts'

const dave: Worker = { metadata: { name: 'dave', namespace: 'team-a', uid: 'dave-uid' } }

function finder(workerNamespaces: string[] = ['team-a'], cached: KubeObject[] = []) {
  return new RuntimeObjects({
    naming: { controllerName: 'worker-runtime-controller', resourcePrefix: 'agentteams-' },
    legacyPrefixes: ['hiclaw-', 'agentteams-'],
    legacyNamespaces: ['hiclaw-system'],
    kube: { close: async () => {}, request: async () => ({ items: [] }) as never },
    kinds: ['Pod'],
    cache: (_kind, namespace) => ({ byOwner: (key) => cached.filter((o) => `${o.metadata?.namespace}/${o.metadata?.labels?.['agentteams.io/worker']}` === key && o.metadata?.namespace === namespace) }),
    workerNamespaces: () => workerNamespaces,
  })
}

const pod = (metadata: KubeObject['metadata']): KubeObject => ({ metadata: { namespace: 'team-a', uid: 'p', ...metadata } })
const labelled = (worker: string, controller = 'hiclaw-controller') => ({ 'agentteams.io/worker': worker, 'agentteams.io/controller': controller })

t.test('the worker label decides when it is there; a legacy name only when it is not', async (t) => {
  const f = finder()
  const names = f.names(dave)
  t.same([...names], ['agentteams-worker-dave', 'hiclaw-worker-dave'])
  t.match(f.classify('Pod', pod({ name: 'anything', labels: labelled('dave') }), dave, names), { own: false, backend: 'pod', ambiguous: false })
  t.equal(f.classify('Pod', pod({ name: 'hiclaw-worker-dave', labels: labelled('erin') }), dave, names), undefined, "a legacy name labelled for another Worker is that Worker's")
  t.ok(f.classify('Pod', pod({ name: 'hiclaw-worker-dave' }), dave, names), 'unlabelled, the exact legacy name')
  t.equal(f.classify('Pod', pod({ name: 'hiclaw-worker-dave-old' }), dave, names), undefined, 'a name that merely starts like it')
  t.equal(f.classify('Pod', pod({ name: 'hiclaw-worker-dav' }), dave, names), undefined)
  t.match(f.classify('Pod', pod({ name: 'agentteams-worker-dave', labels: labelled('dave', 'worker-runtime-controller') }), dave, names), { own: true })
})

t.test('owner references give an object to someone else', async (t) => {
  const f = finder()
  const names = f.names(dave)
  const owned = (kind: string, uid: string, controller = true) => ({ name: 'hiclaw-worker-dave', labels: labelled('dave'), ownerReferences: [{ apiVersion: 'v1', kind, name: 'owner', uid, controller }] })
  t.ok(f.classify('Pod', pod(owned('Worker', 'dave-uid')), dave, names), 'owned by this Worker')
  t.equal(f.classify('Pod', pod(owned('Worker', 'other-uid')), dave, names), undefined, 'owned by another Worker (a namesake, an earlier incarnation)')
  t.equal(f.classify('Pod', pod(owned('Worker', 'other-uid', false)), dave, names), undefined, 'even as a plain owner')
  t.equal(f.classify('Pod', pod(owned('ReplicaSet', 'rs')), dave, names), undefined, 'controlled by a ReplicaSet')
  t.equal(f.classify('Pod', pod(owned('Sandbox', 'sbx')), dave, names), undefined, 'the Pod behind a Sandbox is not a runtime of its own')
  t.ok(f.classify('Pod', pod({ ...owned('ConfigMap', 'cm', false) }), dave, names), 'a plain, non-controller owner decides nothing')
  t.ok(f.classify('Sandbox', pod(owned('SandboxClaim', 'claim')), dave, names), 'a claimed Sandbox is controlled by its claim')
  t.equal(f.classify('Sandbox', pod(owned('SandboxSet', 'pool')), dave, names), undefined, 'a pool Sandbox is nobody\'s runtime')
})

t.test('in a legacy namespace: the namesake there wins; several elsewhere make it ambiguous', async (t) => {
  const elsewhere = pod({ namespace: 'hiclaw-system', name: 'hiclaw-worker-dave', labels: labelled('dave') })
  t.match(finder(['team-a']).classify('Pod', elsewhere, dave, finder().names(dave)), { ambiguous: false }, 'the only Worker of the name: its runtime')
  t.equal(finder(['team-a', 'hiclaw-system']).classify('Pod', elsewhere, dave, finder().names(dave)), undefined, "a Worker of that name lives there: it is that one's")
  t.match(finder(['team-a', 'team-b']).classify('Pod', elsewhere, dave, finder().names(dave)), { ambiguous: true }, 'two candidates: counted, never deleted')
  const ownedByDave = { ...elsewhere, metadata: { ...elsewhere.metadata, ownerReferences: [{ apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', name: 'dave', uid: 'dave-uid' }] } }
  t.match(finder(['team-a', 'team-b']).classify('Pod', ownedByDave, dave, finder().names(dave)), { ambiguous: false }, 'an owner reference settles it')
})

t.test('cached() looks in the Worker namespace and the legacy namespaces; remove() spares ambiguous and deleting objects', async (t) => {
  const objects = [
    pod({ name: 'hiclaw-worker-dave', uid: 'a', labels: labelled('dave') }),
    pod({ namespace: 'hiclaw-system', name: 'hiclaw-worker-dave', uid: 'b', labels: labelled('dave') }),
    pod({ namespace: 'elsewhere', name: 'hiclaw-worker-dave', uid: 'c', labels: labelled('dave') }),
  ]
  const found = finder(['team-a', 'team-b'], objects).cached(dave)
  t.same(found.map((o) => [o.object.metadata?.uid, o.ambiguous]), [['a', false], ['b', true]], 'not from namespaces outside the set')
  const deleted: string[] = []
  const f = new RuntimeObjects({
    naming: { controllerName: 'c', resourcePrefix: 'p-' }, legacyPrefixes: [], legacyNamespaces: [], kinds: ['Pod'], cache: () => undefined, workerNamespaces: () => [],
    kube: { close: async () => {}, request: async (req) => { deleted.push(`${req.path} uid=${(req.body as any).preconditions.uid}`); return {} as never } },
  })
  const deleting = { ...found[0]!, object: pod({ name: 'x', uid: 'd', deletionTimestamp: '2026-01-01T00:00:00Z' }) }
  const removed = await f.remove(dave, [...found, deleting])
  t.same(deleted, ['/api/v1/namespaces/team-a/pods/hiclaw-worker-dave uid=a'], 'one DELETE, with the uid precondition')
  t.equal(removed.length, 1)
})
