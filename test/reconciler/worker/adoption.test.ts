// What an adopted Worker reports (reconciler/worker/adoption.ts): phase from the adopted objects, the
// backend they run on, RuntimeAdopted pinned to the generation of the adoption, a spec change
// reported and not applied, the switch guarded, and which adopted objects have ended.

import t from 'tap'
import type { KubeObject } from '../../../api/meta.ts'
import type { Worker } from '../../../api/worker.ts'
import { adopt, releasedCondition } from '../../../reconciler/worker/adoption.ts'
import type { RuntimeObject } from '../../../reconciler/worker/runtime-objects.ts'

const now = Date.parse('2026-12-06T12:00:00Z')
const legacyPod = (phase: string, name = 'hiclaw-worker-dave', ready = phase === 'Running'): RuntimeObject => ({
  kind: 'Pod', backend: 'pod', own: false, ambiguous: false,
  object: { metadata: { name, namespace: 'ns', uid: name, labels: { 'agentteams.io/controller': 'hiclaw-controller' } }, status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } } as KubeObject,
})
const dave = (generation: number, extra: Partial<Worker> = {}): Worker => ({ metadata: { name: 'dave', namespace: 'ns', generation }, spec: {}, status: { phase: 'Running' }, ...extra })
const input = (worker: Worker, foreign: RuntimeObject[]) => ({ worker, foreign, defaultBackendRuntime: 'pod' as const, now, claimTimeout: '5m' })
const cond = (a: ReturnType<typeof adopt>, type: string) => a.status.conditions.find((c) => c.type === type)

t.test('a running legacy Pod: Running on pod, adopted at this generation', async (t) => {
  const a = adopt(input(dave(3), [legacyPod('Running')]))
  t.match(a.status, { phase: 'Running', backendRuntime: 'pod', message: '' })
  t.match(cond(a, 'RuntimeAdopted'), { status: 'True', reason: 'LegacyRuntimeAdopted', observedGeneration: 3, message: /^adopted Pod ns\/hiclaw-worker-dave \(made by hiclaw-controller\): it keeps running as it is/ })
  t.match(cond(a, 'Ready'), { status: 'True' })
  t.match(cond(a, 'BackendSwitchBlocked'), { status: 'False' })
  t.same(a.finished, [])
})

t.test('a later generation: the change is reported against the generation of the adoption', async (t) => {
  const first = adopt(input(dave(3), [legacyPod('Running')]))
  const adopted = { ...cond(first, 'RuntimeAdopted')!, lastTransitionTime: '2026-12-06T11:00:00Z' }
  const later = adopt(input(dave(5, { status: { phase: 'Running', backendRuntime: 'pod', conditions: [adopted as never] } }), [legacyPod('Running')]))
  t.match(cond(later, 'RuntimeAdopted'), { reason: 'SpecChangedSinceAdoption', observedGeneration: 3 })
  t.match(later.status.message, 'generation 3 → 5')
})

t.test('a switch asked for while the adopted runtime runs is blocked with the rule\'s message', async (t) => {
  const a = adopt(input(dave(1, { spec: { backendRuntime: 'sandbox' } }), [legacyPod('Running')]))
  t.match(cond(a, 'BackendSwitchBlocked'), { status: 'True', message: /current=pod, desired=sandbox/ })
  t.match(a.status.message, /cannot be changed until the Worker is Stopped/)
})

t.test('two legacy Pods: the running one shows; a finished one is to be removed', async (t) => {
  const a = adopt(input(dave(1), [legacyPod('Failed', 'agentteams-worker-dave'), legacyPod('Running')]))
  t.equal(a.status.phase, 'Running')
  t.same(a.finished.map((o) => o.object.metadata?.name), ['agentteams-worker-dave'])
  const dead = adopt(input(dave(1), [legacyPod('Failed')]))
  t.equal(dead.status.phase, 'Failed')
  t.equal(dead.finished.length, 1)
  t.equal(adopt(input(dave(1), [legacyPod('Pending')])).status.phase, 'Starting')
})

t.test('a #988 claim and its Sandbox: read as the sandbox backend reads its own', async (t) => {
  const claim: RuntimeObject = {
    kind: 'SandboxClaim', backend: 'sandbox', own: false, ambiguous: false,
    object: { metadata: { name: 'hiclaw-worker-dave', namespace: 'ns', uid: 'claim-uid' }, spec: { replicas: 1 }, status: { phase: 'Completed', claimedReplicas: 1, conditions: [{ type: 'Completed', status: 'True' }] } } as KubeObject,
  }
  const sandbox: RuntimeObject = {
    kind: 'Sandbox', backend: 'sandbox', own: false, ambiguous: false,
    object: { metadata: { name: 'sbx', namespace: 'ns', uid: 's', annotations: { 'agents.kruise.io/owner': 'claim-uid' } }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject,
  }
  const a = adopt(input(dave(1, { status: { phase: 'Running', backendRuntime: 'sandbox' } }), [claim, sandbox]))
  t.match(a.status, { phase: 'Running', backendRuntime: 'sandbox' })
  t.match(cond(a, 'RuntimeAdopted')?.message, 'SandboxClaim ns/hiclaw-worker-dave (made by an unlabelled controller), Sandbox ns/sbx')
})

t.test('released: only where the adoption was recorded', async (t) => {
  t.equal(releasedCondition(dave(1), 'gone'), undefined, 'no condition is added to a Worker that never adopted anything')
  const adopted = dave(1, { status: { conditions: [{ type: 'RuntimeAdopted', status: 'True', reason: 'LegacyRuntimeAdopted', message: '', lastTransitionTime: '' }] } })
  t.match(releasedCondition(adopted, 'gone'), { status: 'False', reason: 'LegacyRuntimeGone', message: 'gone' })
})
