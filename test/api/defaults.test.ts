// Defaults (docs/admission.md) and field validation: what an unset field means, idempotence, and
// enum messages that name the field.

import t from 'tap'
import { imageOf, runtimeImageWarning, workerImages } from '../../api/images.ts'
import { runsElsewhere } from '../../api/placement.ts'
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

t.test('enum violations of the fields this project owns name the field and the supported values', async (t) => {
  t.same(validateWorkerFields({ spec: { backendRuntime: 'pod', state: 'Running', runtime: 'hermes' } }), [])
  t.same(validateWorkerFields({}), [])
  t.same(validateWorkerFields({ spec: { backendRuntime: 'vm', state: 'Paused', runtime: 7 as unknown as string } }), [
    'spec.backendRuntime: Unsupported value: "vm": supported values: "pod", "sandbox"',
    'spec.state: Unsupported value: "Paused": supported values: "Running", "Sleeping", "Stopped"',
  ], "spec.runtime is upstream's: the installed CRD decides (docs/runtime-objects.md)")
  t.same(validateWorkerFields({ spec: { runtime: 'qwenpaw' } }), [], "HEAD's qwenpaw")
})

t.test('a runtime with no image of its own: the warning names the image used', async (t) => {
  const images = workerImages({ workerImage: 'hiclaw/worker-agent:latest', copawWorkerImage: 'example.com/copaw:1', hermesWorkerImage: '', openhumanWorkerImage: '', qwenpawWorkerImage: '' })
  t.equal(runtimeImageWarning({ spec: { runtime: 'qwenpaw' } }, images), 'spec.runtime qwenpaw has no image configured here: the Worker runs hiclaw/worker-agent:latest')
  t.ok(runtimeImageWarning({ spec: { runtime: 'qwenpaw' } }, images)!.length <= 120, 'short enough for a warning')
  t.equal(runtimeImageWarning({ spec: { runtime: 'qwenpaw', image: 'example.com/qwen:2' } }, images), undefined, 'spec.image settles it')
  t.equal(runtimeImageWarning({ spec: { runtime: 'copaw' } }, images), undefined, 'a configured image')
  t.equal(runtimeImageWarning({ spec: { runtime: 'openclaw' } }, images), undefined, 'the worker image is openclaw\'s own')
  t.equal(runtimeImageWarning({ spec: {} }, images), undefined)
  t.equal(imageOf({ spec: { runtime: 'copaw' } }, images), 'example.com/copaw:1')
  t.equal(imageOf({ spec: { runtime: 'qwenpaw' } }, images), 'hiclaw/worker-agent:latest')
})

t.test('where a Worker runs: containerManaged false, Remote and Edge are not this controller\'s', async (t) => {
  t.equal(runsElsewhere({ spec: {} }), undefined)
  t.equal(runsElsewhere({ spec: { deployMode: 'Local', containerManaged: true } }), undefined)
  t.match(runsElsewhere({ spec: { containerManaged: false } }), /spec.containerManaged is false/)
  t.match(runsElsewhere({ spec: { deployMode: 'Edge' } }), /spec.deployMode is Edge: the Worker runs outside this cluster/)
  t.match(runsElsewhere({ spec: { deployMode: 'Remote' } }), /spec.deployMode is Remote/)
})
