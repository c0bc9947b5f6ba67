// The cache transform: metadata.managedFields is deleted (not emptied), everything else is kept
// exactly, and objects without metadata (an ERROR event's Status) pass through unchanged.

import t from 'tap'
import { stripManagedFields } from '../../../reconciler/controller/cache-transform.ts'

const managedFields = [
  { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'agentteams.io/v1beta1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { '.': {}, 'f:image': {} } } },
  { manager: 'worker-runtime-controller', operation: 'Update', apiVersion: 'agentteams.io/v1beta1', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:phase': {} } } },
]

function worker() {
  return {
    apiVersion: 'agentteams.io/v1beta1',
    kind: 'Worker',
    metadata: {
      name: 'alice',
      namespace: 'team-a',
      uid: 'uid-alice',
      resourceVersion: '4711',
      generation: 2,
      labels: { team: 'blue' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}' },
      finalizers: ['agentteams.io/runtime'],
      managedFields: structuredClone(managedFields),
    },
    spec: { backendRuntime: 'pod', image: 'registry/worker:1' },
    status: { phase: 'Running' },
  }
}

t.test('managedFields is deleted; every other field stays as it was', async (t) => {
  const obj = worker()
  const expected = worker()
  delete (expected.metadata as { managedFields?: unknown }).managedFields
  const result = stripManagedFields(obj)
  t.equal(result, obj, 'the same object, changed in place')
  t.notOk('managedFields' in obj.metadata, 'the property is gone, not set to [] (an empty list would reset them on a write)')
  t.same(obj, expected)
  t.equal(obj.metadata.resourceVersion, '4711')
  t.same(obj.metadata.labels, { team: 'blue' })
  t.same(obj.metadata.annotations, { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}' })
})

t.test('an object without managedFields is left alone', async (t) => {
  const obj = worker()
  delete (obj.metadata as { managedFields?: unknown }).managedFields
  const before = structuredClone(obj)
  t.same(stripManagedFields(obj), before)
})

t.test('objects without metadata pass through unchanged', async (t) => {
  const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' }
  t.same(stripManagedFields(structuredClone(status)), status, 'a watch ERROR event')
  t.same(stripManagedFields({ metadata: null }), { metadata: null })
  t.same(stripManagedFields({ metadata: 'not an object' }), { metadata: 'not an object' })
  t.equal(stripManagedFields(undefined), undefined)
  t.equal(stripManagedFields(null), null)
})
