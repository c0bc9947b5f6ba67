// Status that converges on any Worker CRD (docs/runtime-objects.md): what a status write's response lacks
// is learned as pruned and left out of later comparisons, so an unchanged status on upstream's CRD
// (no status.conditions) is not written again; a field seen kept again counts again. The API server
// itself is in test/e2e/status-convergence.test.ts.

import t from 'tap'
import type { Worker } from '../../../api/worker.ts'
import type { KubeClient, KubeRequest } from '../../../reconciler/controller/kube.ts'
import { nextStatus, recordBackendRuntime, statusChanged, writeStatus } from '../../../reconciler/worker/status.ts'
import { PrunedFields } from '../../../reconciler/worker/status-pruning.ts'

const T0 = '2026-01-01T00:00:00Z'
const T1 = '2026-01-01T00:05:00Z'
const ready = { type: 'Ready', status: 'True' as const, reason: 'Running', message: '' }

/** An API server double for the status subresource: stores what `keep` keeps of each patch. */
function server(keep: (status: Record<string, unknown>) => Record<string, unknown>) {
  const requests: KubeRequest[] = []
  let version = 10
  const kube: KubeClient = {
    close: async () => {},
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req)
      const body = req.body as { status: Record<string, unknown> }
      const status = Object.fromEntries(Object.entries(body.status).filter(([, v]) => v !== null))
      return { metadata: { name: 'w', namespace: 'ns', resourceVersion: String(++version) }, status: keep(status) } as T
    },
  }
  return { kube, requests }
}
const withoutConditions = ({ conditions: _, ...rest }: Record<string, unknown>) => rest

t.test('learn: a field sent but missing from the response is pruned; nested and array paths too', async (t) => {
  const changes: Array<{ pruned: string[]; kept: string[] }> = []
  const p = new PrunedFields({ onChange: (c) => changes.push(c) })
  p.learn({ phase: 'Running', conditions: [{ type: 'Ready', observedGeneration: 2 }], deep: { a: 1, b: 2 } }, { phase: 'Running', conditions: [{ type: 'Ready' }], deep: { a: 1 } })
  t.same(p.list(), ['conditions[].observedGeneration', 'deep.b'])
  t.same(changes, [{ pruned: ['conditions[].observedGeneration', 'deep.b'], kept: [] }], 'one change report per write')
  p.learn({ message: null, other: undefined }, {})
  t.same(p.list(), ['conditions[].observedGeneration', 'deep.b'], 'null and undefined set nothing, so they teach nothing')
  t.equal(changes.length, 1, 'a write that teaches nothing new reports nothing')
  p.learn({ deep: { b: 3 } }, { deep: { b: 3 } })
  t.same(p.list(), ['conditions[].observedGeneration'], 'kept again (the CRD was upgraded): it counts again')
  t.same(changes[1], { pruned: [], kept: ['deep.b'] })
})

t.test('strip: removes exactly the pruned paths, in objects and array elements', async (t) => {
  const p = new PrunedFields()
  const value = { phase: 'Running', conditions: [{ type: 'Ready', observedGeneration: 2 }] }
  t.equal(p.strip(value), value, 'nothing learned: the value itself')
  p.learn({ conditions: [{ type: 'Ready', observedGeneration: 2 }] }, { conditions: [{ type: 'Ready' }] })
  t.same(p.strip(value), { phase: 'Running', conditions: [{ type: 'Ready' }] })
  t.same(value.conditions[0], { type: 'Ready', observedGeneration: 2 }, 'the input is not changed')
})

t.test('on a CRD without status.conditions the first pass writes, the same pass again does not', async (t) => {
  const { kube, requests } = server(withoutConditions)
  const pruned = new PrunedFields()
  const worker: Worker = { metadata: { name: 'w', namespace: 'ns', generation: 1, resourceVersion: '9' }, status: {} }
  const first = nextStatus(worker, { phase: 'Running', backendRuntime: 'pod', message: '', conditions: [ready] }, T0)
  t.equal(statusChanged(worker, first, pruned), true)
  const stored = await writeStatus(kube, worker, first, pruned)
  t.same(stored.status, { phase: 'Running', backendRuntime: 'pod', observedGeneration: 1 }, 'the server kept no conditions')
  t.same(pruned.list(), ['conditions'])

  const again = nextStatus(stored, { phase: 'Running', backendRuntime: 'pod', message: '', conditions: [ready] }, T1)
  t.equal(statusChanged(stored, again), true, 'compared as computed, it would be written on every pass')
  t.equal(statusChanged(stored, again, pruned), false, 'compared as the server keeps it, nothing changed')
  const moved = nextStatus(stored, { phase: 'Failed', backendRuntime: 'pod', message: 'boom', conditions: [ready] }, T1)
  t.equal(statusChanged(stored, moved, pruned), true, 'a change the server keeps is still written')
  t.equal(requests.length, 1)
})

t.test('our CRD keeps conditions: nothing is learned and conditions are compared', async (t) => {
  const { kube } = server((s) => s)
  const pruned = new PrunedFields()
  const worker: Worker = { metadata: { name: 'w', namespace: 'ns', generation: 1, resourceVersion: '9' }, status: {} }
  const stored = await writeStatus(kube, worker, nextStatus(worker, { phase: 'Running', message: '', conditions: [ready] }, T0), pruned)
  t.same(pruned.list(), [])
  const flipped = nextStatus(stored, { phase: 'Running', message: '', conditions: [{ ...ready, status: 'False' }] }, T1)
  t.equal(statusChanged(stored, flipped, pruned), true)
})

t.test('the race-closure write: learned like any status write, skipped once the CRD is known to drop backendRuntime', async (t) => {
  const { kube, requests } = server(({ backendRuntime: _, ...rest }) => rest)
  const pruned = new PrunedFields()
  const worker: Worker = { metadata: { name: 'w', namespace: 'ns', resourceVersion: '9' }, status: { phase: 'Running' } }
  await recordBackendRuntime(kube, worker, 'pod', pruned)
  t.same(pruned.list(), ['backendRuntime'])
  t.equal(await recordBackendRuntime(kube, worker, 'pod', pruned), worker, 'nothing to record: the Worker as it is')
  t.equal(requests.length, 1, 'and no second request')
  const plain = server((s) => s)
  await recordBackendRuntime(plain.kube, worker, 'pod', new PrunedFields())
  await recordBackendRuntime(plain.kube, worker, 'pod')
  t.equal(plain.requests.length, 2, 'a CRD that keeps it gets the write every time it is needed')
})
