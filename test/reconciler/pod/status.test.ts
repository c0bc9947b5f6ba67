// The Pod → runtime state table of docs/backends.md, with the detail a user sees in status.message.

import t from 'tap'
import { mapPodStatus, type Pod } from '../../../reconciler/pod/status.ts'

const pod = (status: Pod['status'], metadata: Pod['metadata'] = {}): Pod => ({ metadata, status })
const ready = [{ type: 'Ready', status: 'True' }]

t.test('the mapping table', async (t) => {
  const cases: Array<[string, Pod | undefined, string, RegExp | undefined]> = [
    ['no Pod', undefined, 'NotFound', undefined],
    ['Pending, nothing known yet', pod({ phase: 'Pending' }), 'Starting', /pending/],
    ['ContainerCreating', pod({ phase: 'Pending', containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'ContainerCreating' } } }] }), 'Starting', /^ContainerCreating$/],
    ['image pull failing', pod({ phase: 'Pending', containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } }] }), 'Starting', /ImagePullBackOff: Back-off pulling image/],
    ['Running and Ready', pod({ phase: 'Running', conditions: ready }), 'Running', undefined],
    ['Running, not ready', pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }), 'Starting', /not ready/],
    ['crash looping', pod({ phase: 'Running', containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s' } } }] }), 'Starting', /CrashLoopBackOff/],
    ['Failed (evicted)', pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }), 'Failed', /low on resource/],
    ['Succeeded (exited)', pod({ phase: 'Succeeded', containerStatuses: [{ name: 'worker', state: { terminated: { reason: 'Completed', exitCode: 0 } } }] }), 'Failed', /exited: Completed \(exit code 0\)/],
    ['being deleted', pod({ phase: 'Running', conditions: ready }, { deletionTimestamp: '2026-01-01T00:00:00Z' }), 'Stopping', /being deleted/],
    ['phase Unknown', pod({ phase: 'Unknown' }), 'Unknown', /Unknown/],
  ]
  for (const [name, input, state, message] of cases) {
    const got = mapPodStatus(input)
    t.equal(got.state, state, `${name} → ${state}`)
    if (message) t.match(got.message, message, `${name}: message`)
    else t.notOk(got.message, `${name}: no message`)
  }
})

t.test('every state carries the reason the Worker\'s Ready condition shows', async (t) => {
  const cases: Array<[Pod, string]> = [
    [pod({ phase: 'Pending' }), 'PodPending'],
    [pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }), 'PodNotReady'],
    [pod({ phase: 'Running', conditions: ready }), 'PodReady'],
    [pod({ phase: 'Failed', reason: 'Evicted' }), 'PodFailed'],
    [pod({ phase: 'Succeeded' }), 'PodSucceeded'],
    [pod({ phase: 'Running' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }), 'PodDeleting'],
    [pod({ phase: 'Unknown' }), 'PodPhaseUnknown'],
  ]
  for (const [input, reason] of cases) t.equal(mapPodStatus(input).reason, reason, `phase ${input.status?.phase} → ${reason}`)
  t.equal(mapPodStatus(undefined).reason, undefined, 'no Pod: no reason')
})
