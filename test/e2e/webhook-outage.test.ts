// What the webhook configurations promise beyond the happy path, on a real kube-apiserver: the
// reconciler's status writes never reach the webhooks (so nothing can block them, not even an
// outage); an UPDATE reaches the validating webhook only when it changes spec.backendRuntime or
// spec.state (its matchCondition), yet everything the webhook would deny is still
// sent; and while the webhook server is down those changes and every create fail closed
// (failurePolicy Fail) with an error that names it, until the configuration is deleted.

import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { METRIC_DECISIONS } from '../../server/metrics.ts'
import { WEBHOOK_DENIAL_PREFIX, waitForBackendRuleLifted } from '../../localcluster/admission-probes.ts'
import { waitForCrd } from '../../localcluster/crds.ts'
import { MANIFESTS, loadManifests } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { applyObject } from '../../localcluster/objects.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { unregisterWebhooks } from '../../localcluster/webhooks.ts'
import { workerManifest } from '../../localcluster/workers.ts'
import { workerPath } from '../../api/worker.ts'
import { workerYaml } from '../harness/workers.ts'
import { LEGACY_TO_SANDBOX } from './expected-messages.ts'

const { cp, webhook } = await startWebhookSuite(t)

/** The validating webhook's label on the admission metrics (server/app.ts). */
const VALIDATING = 'validate-workers'

const setStatus = (ns: string, name: string, status: Record<string, unknown>) =>
  cp.kubectl(['patch', 'worker', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })])
const patchSpec = (ns: string, name: string, spec: Record<string, unknown>) =>
  cp.kubectl(['patch', 'worker', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })])

/** Admission reviews the webhook server has answered so far, of all results: of one webhook, or of both. */
async function reviewsAnswered(webhookName?: string): Promise<number> {
  const metric = await webhook.registry.getSingleMetric(METRIC_DECISIONS)?.get()
  const values = (metric?.values ?? []).filter((v) => webhookName === undefined || v.labels['webhook'] === webhookName)
  return values.reduce((sum, v) => sum + v.value, 0)
}

/** Counts the validating webhook's calls step by step: `expect(n, what)` checks the calls since the last check. */
async function validatingCalls(t: Test) {
  let last = await reviewsAnswered(VALIDATING)
  return async (expected: number, what: string) => {
    const now = await reviewsAnswered(VALIDATING)
    t.equal(now - last, expected, what)
    last = now
  }
}

/** The spec edits the validating webhook never judges, each one field. */
const UNJUDGED_EDITS: Array<[string, Record<string, unknown>]> = [
  ['spec.env', { env: { LOG_LEVEL: 'debug' } }],
  ['spec.image', { image: 'example.com/worker:2' }],
  ['spec.resources', { resources: { limits: { cpu: '1' } } }],
  ['spec.labels', { labels: { team: 'blue' } }],
  // Upstream's field: whatever the installed CRD admits is admitted (docs/runtime-objects.md).
  ['spec.runtime', { runtime: 'hermes' }],
]

t.test('status writes never reach the webhook server', async (t) => {
  const ns = await createNamespace(cp.api, 'status-calls')
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'w', {}) })).code, 0)
  const before = await reviewsAnswered()
  for (const phase of ['Pending', 'Starting', 'Running', 'Stopping', 'Stopped']) {
    t.equal((await setStatus(ns, 'w', { phase, backendRuntime: 'pod' })).code, 0, `status.phase=${phase}`)
  }
  t.equal(await reviewsAnswered(), before, 'five status writes, no admission review')
  t.equal((await cp.kubectl(['label', 'worker', 'w', '-n', ns, 'team=blue'])).code, 0)
  t.equal(await reviewsAnswered(), before, 'a metadata-only update of a defaulted Worker reaches neither webhook')
  t.equal((await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"state":"Sleeping"}}'])).code, 0)
  t.equal(await reviewsAnswered(), before + 1, 'a state change of a defaulted Worker is judged, not defaulted again')
  t.equal((await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/state"}]'])).code, 0)
  t.equal(await reviewsAnswered(), before + 3, 'dropping spec.state (Sleeping) is defaulted (Running), and judged since the state changed')
  t.match((await cp.kubectl(['get', 'worker', 'w', '-n', ns, '-o', 'jsonpath={.spec.state}'])).stdout, 'Running', 'and the default is back')
})

t.test('an UPDATE reaches the validating webhook only when it changes backendRuntime or state', async (t) => {
  const ns = await createNamespace(cp.api, 'guarded-fields')
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'w', { image: 'example.com/worker:1' }) })).code, 0)
  const expectCalls = await validatingCalls(t)
  for (const [field, spec] of UNJUDGED_EDITS) {
    const edited = await patchSpec(ns, 'w', spec)
    t.equal(edited.code, 0, `${field}: ${edited.stderr}`)
    await expectCalls(0, `an update of ${field} alone makes no validating call`)
  }
  const dropped = await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec"}]'])
  t.equal(dropped.code, 0, dropped.stderr)
  await expectCalls(0, 'removing spec is not judged: the mutating webhook puts both guarded fields back as they were (their defaults)')
  t.equal((await patchSpec(ns, 'w', { state: 'Sleeping' })).code, 0)
  await expectCalls(1, 'a change of spec.state is judged')
  t.equal((await patchSpec(ns, 'w', { backendRuntime: 'sandbox' })).code, 0, 'a Worker never run may change backend')
  await expectCalls(1, 'a change of spec.backendRuntime is judged')

  // A legacy Worker (phase Running, no status.backendRuntime): edits go through unjudged, the unsafe switch is denied (docs/backend-runtime.md).
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'legacy', { image: 'example.com/worker:1' }) })).code, 0)
  t.equal((await setStatus(ns, 'legacy', { phase: 'Running' })).code, 0)
  await expectCalls(1, 'the create is judged')
  t.equal((await patchSpec(ns, 'legacy', { env: { LOG_LEVEL: 'debug' }, image: 'example.com/worker:2' })).code, 0)
  await expectCalls(0, 'an env and image edit of the running legacy Worker is not judged')
  const switched = await patchSpec(ns, 'legacy', { backendRuntime: 'sandbox', env: { LOG_LEVEL: 'info' } })
  t.equal(switched.code, 1, 'switching it to sandbox is refused')
  t.match(switched.stderr, /^Error from server \(Forbidden\): /)
  t.match(switched.stderr, WEBHOOK_DENIAL_PREFIX + LEGACY_TO_SANDBOX)
  await expectCalls(1, 'by the validating webhook')
})

t.test('on a Worker CRD without enums (an upstream install), an invalid value of a field this project owns is denied by the webhook; spec.runtime is left to the CRD', async (t) => {
  const [crd] = await loadManifests(MANIFESTS.workerCrd)
  if (!crd) throw new Error(`no CRD in ${MANIFESTS.workerCrd}`)
  const relaxed = structuredClone(crd)
  const fields = relaxed['spec'].versions[0].schema.openAPIV3Schema.properties.spec.properties
  for (const field of ['backendRuntime', 'state', 'runtime']) delete fields[field].enum
  await applyObject(cp.api, relaxed)
  await waitForCrd(cp.api, relaxed)
  t.teardown(async () => {
    await applyObject(cp.api, crd)
    await waitForCrd(cp.api, crd)
  })
  const ns = await createNamespace(cp.api, 'no-enums')
  // The API server serves the new schema a moment later: until then its own enum check answers first.
  await pollUntil('the Worker CRD without enums to be served', async () => {
    const probe = await cp.api.request('POST', `${workerPath(ns)}?dryRun=All`, workerManifest(ns, 'probe', { state: 'Paused' }))
    return probe.status === 403 && String(probe.body?.message).includes(WEBHOOK_DENIAL_PREFIX) ? true : undefined
  })

  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'w', { runtime: 'openclaw' }) })).code, 0)
  const expectCalls = await validatingCalls(t)
  const runtime = await patchSpec(ns, 'w', { runtime: 'qwenpaw' })
  t.equal(runtime.code, 0, 'spec.runtime: qwenpaw is admitted: never stricter than the installed CRD on upstream\'s fields')
  await expectCalls(0, 'and not even sent to the validating webhook')
  const state = await patchSpec(ns, 'w', { state: 'Paused' })
  t.equal(state.code, 1, 'spec.state: Paused is refused')
  t.match(state.stderr, WEBHOOK_DENIAL_PREFIX + 'spec.state: Unsupported value: "Paused"')
  const backend = await patchSpec(ns, 'w', { backendRuntime: 'vm' })
  t.equal(backend.code, 1, 'spec.backendRuntime: vm is refused')
  t.match(backend.stderr, WEBHOOK_DENIAL_PREFIX + 'spec.backendRuntime: Unsupported value: "vm"')
  await expectCalls(2, 'each by the validating webhook')
  t.equal((await patchSpec(ns, 'w', { env: { LOG_LEVEL: 'debug' } })).code, 0)
  await expectCalls(0, 'an env edit is not judged')
})

t.test('with the webhook server down: creates and changes of backendRuntime or state fail closed; other edits still work', async (t) => {
  const ns = await createNamespace(cp.api, 'outage')
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'w', {}) })).code, 0)
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'deleted', {}) })).code, 0)
  const finalizer = '{"metadata":{"finalizers":["agentteams.io/cleanup"]}}'
  t.equal((await cp.kubectl(['patch', 'worker', 'deleted', '-n', ns, '--type=merge', '-p', finalizer])).code, 0)
  await webhook.close()

  for (const spec of [{ state: 'Sleeping' }, { backendRuntime: 'sandbox' }, { env: { LOG_LEVEL: 'debug' }, state: 'Stopped' }]) {
    const update = await patchSpec(ns, 'w', spec)
    t.equal(update.code, 1, `${JSON.stringify(spec)} is refused while the validating webhook cannot be called`)
    t.match(update.stderr, 'failed calling webhook "validate.workers.agentteams.io"')
  }
  const created = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'other', {}) })
  t.equal(created.code, 1, 'so is a create')
  t.match(created.stderr, 'failed calling webhook "validate.workers.agentteams.io"')
  for (const [field, spec] of UNJUDGED_EDITS) {
    const edited = await patchSpec(ns, 'w', spec)
    t.equal(edited.code, 0, `an update of ${field} alone is not judged, so it goes through: ${edited.stderr}`)
  }
  t.same(parse((await cp.kubectl(['get', 'worker', 'w', '-n', ns, '-o', 'yaml'])).stdout).spec, {
    backendRuntime: 'pod', state: 'Running', env: { LOG_LEVEL: 'debug' }, image: 'example.com/worker:2', resources: { limits: { cpu: '1' } }, labels: { team: 'blue' }, runtime: 'hermes',
  }, 'the stored spec has every edit that went through and none that was refused')
  t.equal((await cp.kubectl(['label', 'worker', 'w', '-n', ns, 'team=red'])).code, 0, 'a metadata-only update is not judged')

  // What the reconciler does on deletion must not wait for the webhook: the finalizer comes off.
  t.equal((await cp.kubectl(['delete', 'worker', 'deleted', '-n', ns, '--wait=false'])).code, 0)
  const released = await cp.kubectl(['patch', 'worker', 'deleted', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'])
  t.equal(released.code, 0, `the finalizer is removed: ${released.stderr}`)
  t.match((await cp.kubectl(['get', 'worker', 'deleted', '-n', ns])).stderr, 'NotFound', 'and the deleted Worker is gone')

  const status = await setStatus(ns, 'w', { phase: 'Running', backendRuntime: 'pod' })
  t.equal(status.code, 0, `the status subresource is unaffected: ${status.stderr}`)

  const probeNs = await createNamespace(cp.api, 'outage-probe')
  await unregisterWebhooks(cp.api, [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook])
  await waitForBackendRuleLifted(cp.api, probeNs)
  const escaped = await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"state":"Sleeping"}}'])
  t.equal(escaped.code, 0, `deleting the configurations is the escape hatch: ${escaped.stderr}`)
})
