// The transition rule of docs/backend-runtime.md as a table: old phase × old status.backendRuntime (set or
// unset) × old spec value × new spec value, against an independent statement of the rule.

import t from 'tap'
import {
  appliedBackendRuntime,
  backendSwitchBlockedMessage,
  checkBackendRuntimeChange,
  checkBackendSwitch,
  desiredBackendRuntime,
} from '../../api/backend-runtime.ts'
import type { Worker } from '../../api/worker.ts'

const LEGACY_MESSAGE =
  'spec.backendRuntime cannot be changed until the Worker is Stopped; current=pod, desired=sandbox ' +
  '(status.phase=Running; status.backendRuntime is unset, so the Worker counts as a legacy pod). ' +
  'Set spec.state=Stopped, wait until status.phase is Stopped, then change spec.backendRuntime.'

function worker(spec: string | undefined, phase?: string, recorded?: string): Worker {
  const w: Worker = { apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', metadata: { name: 'alice', namespace: 'team' }, spec: {} }
  if (spec !== undefined) w.spec = { backendRuntime: spec }
  if (phase !== undefined || recorded !== undefined) {
    w.status = {}
    if (phase !== undefined) w.status.phase = phase
    if (recorded !== undefined) w.status.backendRuntime = recorded
  }
  return w
}

t.test('the legacy pod → sandbox switch of a running Worker is denied with the full message', async (t) => {
  const verdict = checkBackendRuntimeChange(worker(undefined, 'Running'), worker('sandbox', 'Running'), 'pod')
  t.same(verdict, { allowed: false, message: LEGACY_MESSAGE })
})

t.test('the message names status.backendRuntime when it is recorded', async (t) => {
  const verdict = checkBackendRuntimeChange(worker('sandbox', 'Sleeping', 'sandbox'), worker('pod'), 'pod')
  t.equal(verdict.allowed, false)
  if (!verdict.allowed) {
    t.equal(
      verdict.message,
      'spec.backendRuntime cannot be changed until the Worker is Stopped; current=sandbox, desired=pod ' +
        '(status.phase=Sleeping; status.backendRuntime=sandbox). ' +
        'Set spec.state=Stopped, wait until status.phase is Stopped, then change spec.backendRuntime.',
    )
  }
})

t.test('the whole table agrees with the rule as the spec states it', async (t) => {
  const phases = [undefined, 'Pending', 'Starting', 'Running', 'Updating', 'Stopping', 'Sleeping', 'Stopped', 'Failed']
  const recordedValues = [undefined, 'pod', 'sandbox']
  const specValues = [undefined, 'pod', 'sandbox']
  let denied = 0
  let cases = 0
  for (const defaultRuntime of ['pod', 'sandbox'] as const) {
    for (const phase of phases) {
      for (const recorded of recordedValues) {
        for (const oldSpec of specValues) {
          for (const newSpec of specValues) {
            const oldW = worker(oldSpec, phase, recorded)
            const newW = worker(newSpec, phase, recorded)
            // Independent statement of docs/backend-runtime.md.
            const desiredOld = oldSpec ?? defaultRuntime
            const desiredNew = newSpec ?? defaultRuntime
            const applied = recorded ?? (phase !== undefined ? 'pod' : undefined)
            const expectDeny = desiredOld !== desiredNew && desiredNew !== applied && applied !== undefined && phase !== 'Stopped'
            const verdict = checkBackendRuntimeChange(oldW, newW, defaultRuntime)
            cases++
            if (verdict.allowed === expectDeny) {
              t.fail(`default=${defaultRuntime} phase=${phase} recorded=${recorded} ${oldSpec}→${newSpec}: expected ${expectDeny ? 'deny' : 'allow'}`)
            }
            if (!verdict.allowed) {
              denied++
              t.match(verdict.message, `current=${applied}, desired=${desiredNew} (status.phase=${phase ?? 'unset'}`)
            }
          }
        }
      }
    }
  }
  t.equal(cases, 2 * 9 * 3 * 3 * 3)
  t.ok(denied > 0 && denied < cases, `${denied} of ${cases} combinations denied`)
})

t.test('named cases from the issue', async (t) => {
  const allow = (o: Worker, n: Worker) => checkBackendRuntimeChange(o, n, 'pod').allowed
  t.ok(allow(worker('sandbox', 'Running'), worker('sandbox', 'Running')), 'unrelated update to a Worker that already has a mismatch')
  t.ok(allow(worker('sandbox', 'Running'), worker('pod', 'Running')), 'switching back to the applied backend')
  t.ok(allow(worker(undefined, 'Stopped'), worker('sandbox', 'Stopped')), 'any change while Stopped')
  t.ok(allow(worker('pod'), worker('sandbox')), 'any change before the first reconcile')
  t.notOk(allow(worker('pod', 'Sleeping', 'pod'), worker('sandbox')), 'Sleeping is guarded too')
  t.notOk(allow(worker('pod', 'Stopping', 'pod'), worker('sandbox')), 'Stopping is guarded: the runtime is gone only at Stopped')
  t.ok(allow(worker('pod', 'Running', 'pod'), worker('', 'Running', 'pod')), 'clearing the field to the default (pod) changes nothing')
})

t.test('desired and applied backends', async (t) => {
  t.equal(desiredBackendRuntime(worker(undefined), 'sandbox'), 'sandbox')
  t.equal(desiredBackendRuntime(worker(''), 'pod'), 'pod')
  t.equal(appliedBackendRuntime(worker('sandbox')), undefined, 'never run')
  t.equal(appliedBackendRuntime(worker('sandbox', 'Pending')), 'pod', 'a phase without a recorded backend is a legacy pod')
  t.equal(appliedBackendRuntime(worker('pod', 'Running', 'sandbox')), 'sandbox')
})

t.test('the reconciler form checks reality, not the phase', async (t) => {
  const legacy = worker('sandbox', 'Running')
  t.same(checkBackendSwitch(legacy, { defaultBackendRuntime: 'pod', appliedRuntimeExists: true }), { allowed: false, message: LEGACY_MESSAGE })
  t.same(checkBackendSwitch(legacy, { defaultBackendRuntime: 'pod', appliedRuntimeExists: false }), { allowed: true })
  t.same(checkBackendSwitch(worker('sandbox'), { defaultBackendRuntime: 'pod', appliedRuntimeExists: true }), { allowed: true }, 'never run')
  t.same(checkBackendSwitch(worker('pod', 'Running', 'pod'), { defaultBackendRuntime: 'pod', appliedRuntimeExists: true }), { allowed: true }, 'no switch')
  t.equal(
    backendSwitchBlockedMessage({ current: 'pod', desired: 'sandbox', phase: undefined, recordedBackendRuntime: undefined }).includes('status.phase=unset'),
    true,
  )
})
