// What the webhook configurations promise beyond the happy path, on a real kube-apiserver: the
// reconciler's status writes never reach the webhooks (so nothing can block them, not even an
// outage), and while the webhook server is down the validating webhook fails closed
// (failurePolicy Fail) with an error that names it, until the configuration is deleted.

import t from 'tap'
import { METRIC_DECISIONS } from '../../server/metrics.ts'
import { waitForBackendRuleLifted } from '../harness/admission-probes.ts'
import { MANIFESTS } from '../harness/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { unregisterWebhooks } from '../harness/webhooks.ts'
import { workerYaml } from '../harness/workers.ts'

const { cp, webhook } = await startWebhookSuite(t)

const setStatus = (ns: string, name: string, status: Record<string, unknown>) =>
  cp.kubectl(['patch', 'worker', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })])

/** Admission reviews the webhook server has answered so far, over both webhooks and all results. */
async function reviewsAnswered(): Promise<number> {
  const metric = await webhook.registry.getSingleMetric(METRIC_DECISIONS)?.get()
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0)
}

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
  t.equal(await reviewsAnswered(), before + 1, 'a spec update of a defaulted Worker is judged, not defaulted again')
  t.equal((await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/state"}]'])).code, 0)
  t.equal(await reviewsAnswered(), before + 3, 'a spec update that drops a default is defaulted and judged')
  t.match((await cp.kubectl(['get', 'worker', 'w', '-n', ns, '-o', 'jsonpath={.spec.state}'])).stdout, 'Running', 'and the default is back')
})

t.test('with the webhook server down: spec changes fail closed; metadata and status writes still work', async (t) => {
  const ns = await createNamespace(cp.api, 'outage')
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'w', {}) })).code, 0)
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'deleted', {}) })).code, 0)
  const finalizer = '{"metadata":{"finalizers":["agentteams.io/cleanup"]}}'
  t.equal((await cp.kubectl(['patch', 'worker', 'deleted', '-n', ns, '--type=merge', '-p', finalizer])).code, 0)
  await webhook.close()

  const update = await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"state":"Sleeping"}}'])
  t.equal(update.code, 1, 'a spec update is refused while the validating webhook cannot be called')
  t.match(update.stderr, 'failed calling webhook "validate.workers.agentteams.io"')
  const created = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'other', {}) })
  t.equal(created.code, 1, 'so is a create')
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
