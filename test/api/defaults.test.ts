// Defaults (product.md §4) and field validation: what an unset field means, idempotence, and
// enum messages that name the field.

import t from 'tap'
import { defaultWorker, desiredState, workerName } from '../../api/defaults.ts'
import { validateWorkerFields } from '../../api/validation.ts'
import type { Worker } from '../../api/worker.ts'

t.test('defaults fill only unset fields and never touch status', async (t) => {
  const original: Worker = { metadata: { name: 'a' }, spec: { runtime: 'copaw', extra: { keep: true } }, status: { phase: 'Running' } }
  const defaulted = defaultWorker(original, { defaultBackendRuntime: 'sandbox' })
  t.same(defaulted.spec, { runtime: 'copaw', extra: { keep: true }, backendRuntime: 'sandbox', state: 'Running' })
  t.same(defaulted.status, { phase: 'Running' })
  t.same(original.spec, { runtime: 'copaw', extra: { keep: true } }, 'the input is not mutated')
  t.same(defaultWorker(defaulted, { defaultBackendRuntime: 'pod' }), defaulted, 'a second pass changes nothing')
  const set = defaultWorker({ spec: { backendRuntime: 'pod', state: 'Stopped' } }, { defaultBackendRuntime: 'sandbox' })
  t.same(set.spec, { backendRuntime: 'pod', state: 'Stopped' })
  t.same(defaultWorker({ metadata: { name: 'b' } }, { defaultBackendRuntime: 'pod' }).spec, { backendRuntime: 'pod', state: 'Running' }, 'a missing spec is created')
})

t.test('desired state and worker name', async (t) => {
  t.equal(desiredState({}), 'Running')
  t.equal(desiredState({ spec: { state: 'Sleeping' } }), 'Sleeping')
  t.equal(workerName({ metadata: { name: 'cr' } }), 'cr')
  t.equal(workerName({ metadata: { name: 'cr' }, spec: { workerName: 'alice' } }), 'alice')
})

t.test('enum violations name the field and the supported values', async (t) => {
  t.same(validateWorkerFields({ spec: { backendRuntime: 'pod', state: 'Running', runtime: 'hermes' } }), [])
  t.same(validateWorkerFields({}), [])
  t.same(validateWorkerFields({ spec: { backendRuntime: 'vm', state: 'Paused', runtime: 7 as unknown as string } }), [
    'spec.backendRuntime: Unsupported value: "vm": supported values: "pod", "sandbox"',
    'spec.state: Unsupported value: "Paused": supported values: "Running", "Sleeping", "Stopped"',
    'spec.runtime: Unsupported value: 7: supported values: "openclaw", "copaw", "hermes", "openhuman"',
  ])
})
