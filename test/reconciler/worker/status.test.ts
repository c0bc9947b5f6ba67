// Status bookkeeping: conditions keep their lastTransitionTime unless they flip, fields the
// reconciler does not own survive, and an unchanged status is recognised (so nothing is written).

import t from 'tap'
import { nextStatus, statusChanged } from '../../../reconciler/worker/status.ts'
import type { Worker } from '../../../api/worker.ts'

const T0 = '2026-01-01T00:00:00Z'
const T1 = '2026-01-01T00:05:00Z'
const stored: Worker = {
  metadata: { name: 'w', namespace: 'ns', generation: 3 },
  status: {
    phase: 'Starting',
    backendRuntime: 'pod',
    observedGeneration: 3,
    matrixUserId: '@w:example.org',
    conditions: [
      { type: 'Ready', status: 'False', reason: 'Starting', message: '', lastTransitionTime: T0, observedGeneration: 3 },
      { type: 'SomethingElse', status: 'True', reason: 'Theirs', message: 'kept', lastTransitionTime: T0 },
    ],
  },
}

t.test('a flipped condition gets a new lastTransitionTime; a steady one keeps it', async (t) => {
  const running = nextStatus(stored, { phase: 'Running', message: '', conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: '' }] }, T1)
  t.equal(running.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, T1)
  const again = nextStatus(stored, { phase: 'Starting', message: '', conditions: [{ type: 'Ready', status: 'False', reason: 'Starting', message: 'still pulling' }] }, T1)
  t.equal(again.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, T0, 'same status, new message: the transition time stays')
})

t.test('fields and conditions the reconciler does not own are kept', async (t) => {
  const next = nextStatus(stored, { phase: 'Running', message: '', conditions: [] }, T1)
  t.equal(next['matrixUserId'], '@w:example.org')
  t.equal(next.conditions?.find((c) => c.type === 'SomethingElse')?.message, 'kept')
  t.equal(next.backendRuntime, 'pod', 'backendRuntime stays when the input leaves it out')
  t.equal(next.observedGeneration, 3)
})

t.test('an identical status is not a change; any decided difference is', async (t) => {
  const same = nextStatus(stored, { phase: 'Starting', message: '', conditions: [{ type: 'Ready', status: 'False', reason: 'Starting', message: '' }] }, T1)
  t.equal(statusChanged(stored, same), false)
  const moved = nextStatus(stored, { phase: 'Starting', message: 'waiting', conditions: [{ type: 'Ready', status: 'False', reason: 'Starting', message: '' }] }, T1)
  t.equal(statusChanged(stored, moved), true)
  const newer: Worker = { ...stored, metadata: { ...stored.metadata, generation: 4 } }
  t.equal(statusChanged(newer, nextStatus(newer, { phase: 'Starting', message: '', conditions: [{ type: 'Ready', status: 'False', reason: 'Starting', message: '' }] }, T1)), true, 'a new generation is observed')
})
