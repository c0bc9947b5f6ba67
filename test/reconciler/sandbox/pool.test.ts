// The warm pool a namespace gets (docs/sandbox.md): its size (0 allowed), the runtimes the deps mounts
// need, the default image; and drift that is semantic — defaults the provider adds, or quantities
// it re-encodes (`1000m` → `1`), are not drift; a changed desired field is.

import t from 'tap'
import { contains, desiredSandboxSet, sandboxSetUpdate } from '../../../reconciler/sandbox/pool.ts'
import type { SandboxSettings } from '../../../reconciler/sandbox/objects.ts'
import { sandboxSettings } from '../../e2e/sandbox-settings.ts'

const settings: SandboxSettings = sandboxSettings({ controllerName: 'wrc' })

t.test('the warm pool: size from config (0 allowed), runtimes for the mounts, default image', async (t) => {
  const pool = desiredSandboxSet({ ...settings, prewarmSize: 0 }, 'team-a')
  t.equal(pool.metadata.name, 'agentteams-builtin')
  t.equal(pool.metadata.namespace, 'team-a')
  t.equal(pool.spec.replicas, 0)
  t.same(pool.spec['runtimes'], [{ name: 'csi' }, { name: 'agent-runtime' }])
  t.match(pool.spec, { template: { spec: { automountServiceAccountToken: false, containers: [{ name: 'worker', image: /agent-runtime/ }] } } })
  t.equal(pool.metadata.labels?.['agentteams.io/controller'], 'wrc')
  const custom = desiredSandboxSet({ ...settings, agentRuntimeImage: 'mirror/agent-runtime:1' }, 'ns')
  t.match(custom.spec, { template: { spec: { containers: [{ image: 'mirror/agent-runtime:1' }] } } })
})

t.test('pool drift: none when the server only added defaults; an update when a desired field changed', async (t) => {
  const desired = desiredSandboxSet(settings, 'team-a')
  const stored = structuredClone(desired) as any
  stored.metadata = { ...stored.metadata, resourceVersion: '7', uid: 'u', labels: { ...stored.metadata.labels, extra: 'kept' } }
  stored.spec.updateStrategy = { maxUnavailable: '20%' }
  stored.spec.template.spec.containers[0].terminationMessagePath = '/dev/termination-log'
  t.equal(sandboxSetUpdate(stored, desired), undefined, 'defaults and extra labels are not drift')

  const resized = desiredSandboxSet({ ...settings, prewarmSize: 3 }, 'team-a')
  const update = sandboxSetUpdate(stored, resized)
  t.ok(update, 'a new size is drift')
  t.equal(update?.spec.replicas, 3)
  t.equal(update?.metadata.resourceVersion, '7', 'the update is guarded by the stored resourceVersion')
  t.equal(update?.metadata.labels?.['extra'], 'kept', 'foreign labels survive')

  const scaled = structuredClone(stored)
  scaled.spec.replicas = 9
  t.ok(sandboxSetUpdate(scaled, desired), 'someone scaling the pool by hand is drift too: config owns the size')
})

t.test('contains: arrays must match in length and order', async (t) => {
  t.ok(contains({ a: [1, { b: 2, c: 3 }] }, { a: [1, { b: 2 }] }))
  t.notOk(contains({ a: [1, 2, 3] }, { a: [1, 2] }))
  t.notOk(contains({ a: { b: 1 } }, { a: { b: 2 } }))
  t.notOk(contains(undefined, { a: 1 }))
})
