// The chart on a real kube-apiserver with the real helm and kubectl: every documented option set is
// accepted by a server-side dry run (the monitoring one against transcribed Prometheus Operator CRDs); the RBAC objects applied for real grant exactly what
// `kubectl auth can-i` should say; the chart's webhook configurations, pointed at a local webhook
// server, deny the unsafe switch as before (and its policy does without them); `helm install` and
// `helm upgrade` keep the generated certificate, renew it near expiry, and `helm uninstall` removes
// the webhooks (the emergency procedure's "nothing re-creates it" relies on that).

import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { POLICY_DENIAL_PREFIX, WEBHOOK_DENIAL_PREFIX, waitForBackendRuleEnforced, waitForDefaulting } from '../../localcluster/admission-probes.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS, OPENKRUISE_CRDS, type Manifest } from '../../localcluster/manifests.ts'
import { ensureNamespace } from '../../localcluster/namespaces.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { applyObject, deleteObject } from '../../localcluster/objects.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { startTestWebhookServer } from '../harness/webhook-server.ts'
import { rewriteClientConfig } from '../../localcluster/webhooks.ts'
import { workerYaml } from '../harness/workers.ts'
import { LEGACY_TO_SANDBOX } from '../e2e/expected-messages.ts'
import { CHART_DIR, MONITORING, NAMESPACE, OPTION_SETS, RELEASE, find, helm, parseObjects, render, setJson } from './helm.ts'

const CERT_MANAGER_CRDS = fileURLToPath(new URL('./fixtures/cert-manager-crds.yaml', import.meta.url))
const PROMETHEUS_OPERATOR_CRDS = fileURLToPath(new URL('./fixtures/prometheus-operator-crds.yaml', import.meta.url))

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd, ...OPENKRUISE_CRDS, CERT_MANAGER_CRDS, PROMETHEUS_OPERATOR_CRDS])
await ensureNamespace(cp.api, NAMESPACE)
await ensureNamespace(cp.api, 'team-a')
await ensureNamespace(cp.api, 'hiclaw-system')
const helmOnCluster = (args: string[]) => helm([...args, '--kubeconfig', cp.kubeconfigPath])

t.test('every documented option set is accepted by the API server (kubectl apply --dry-run=server)', async (t) => {
  for (const [name, values] of Object.entries(OPTION_SETS)) {
    const rendered = await helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--include-crds', ...setJson(values)])
    t.equal(rendered.code, 0, `${name}: rendered`)
    const applied = await cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: rendered.stdout })
    t.equal(applied.code, 0, `${name}: ${applied.code === 0 ? 'accepted' : applied.stderr}`)
    t.equal(applied.stdout.trim().split('\n').length, parseObjects(rendered.stdout).length, `${name}: every object went through`)
  }
})

t.test('the transcribed Prometheus Operator CRDs are strict: a wrong field or duration is refused', async (t) => {
  const objects = await render(MONITORING)
  const monitor = structuredClone(find(objects, 'ServiceMonitor'))
  monitor.spec.endpoints[0].scrapeTimout = monitor.spec.endpoints[0].scrapeTimeout
  delete monitor.spec.endpoints[0].scrapeTimeout
  const rule = structuredClone(find(objects, 'PrometheusRule'))
  rule.spec.groups[0].rules[0].for = '5 minutes'
  for (const [what, object, message] of [['a misspelt ServiceMonitor field', monitor, /unknown field "spec.endpoints\[0\].scrapeTimout"/], ['a PrometheusRule duration Prometheus cannot read', rule, /spec.groups\[0\].rules\[0\].for: Invalid value: "5 minutes"/]] as const) {
    const applied = await cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: JSON.stringify(object) })
    t.not(applied.code, 0, `${what} is refused`)
    t.match(applied.stderr, message)
  }
})

t.test('the RBAC objects, applied for real, grant what the controller uses and no more', async (t) => {
  const objects = await render({ fullnameOverride: 'rbac-check' })
  const rbac = objects.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind))
  const applied = await cp.kubectl(['apply', '-f', '-'], { stdin: rbac.map((o) => JSON.stringify(o)).join('\n---\n') })
  t.equal(applied.code, 0, applied.stderr)
  const as = `--as=system:serviceaccount:${NAMESPACE}:rbac-check`
  const can = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', as, ...args])).stdout.trim()
  t.equal(await can('patch', 'workers.agentteams.io', '--subresource=status', '-n', 'team-a'), 'yes', 'write Worker status in any namespace')
  t.equal(await can('create', 'serviceaccounts', '--subresource=token', '-n', 'team-a'), 'yes', 'request Worker tokens')
  t.equal(await can('delete', 'sandboxclaims.agents.kruise.io', '-n', 'team-a'), 'yes')
  t.equal(await can('delete', 'workers.agentteams.io', '-n', 'team-a'), 'no', 'never delete a Worker')
  t.equal(await can('update', 'workers.agentteams.io', '-n', 'team-a'), 'no', 'never replace a Worker')
  t.equal(await can('create', 'pods', '--subresource=exec', '-n', 'team-a'), 'no', 'no exec into Worker pods')
  t.equal(await can('list', 'configmaps', '-n', 'team-a'), 'no', 'nothing it does not touch')
  t.equal(await can('update', 'leases.coordination.k8s.io/worker-runtime-controller-reconciler', '-n', NAMESPACE), 'yes', 'renew its own Lease')
  t.equal(await can('update', 'leases.coordination.k8s.io/kube-scheduler', '-n', NAMESPACE), 'no', 'not another Lease')
  t.equal(await can('create', 'leases.coordination.k8s.io', '-n', 'kube-system'), 'no', 'no Lease outside the release namespace')
  t.equal(await can('create', 'mutatingwebhookconfigurations'), 'no', 'cannot touch admission configuration')
  t.equal(await can('create', 'tokenreviews.authentication.k8s.io'), 'yes', 'asks who calls /metrics')
  t.equal(await can('create', 'subjectaccessreviews.authorization.k8s.io'), 'yes', 'and whether they may')
  t.equal(await can('get', '/metrics'), 'no', 'but is no scraper itself')

  const namespaced = (await render({ fullnameOverride: 'rbac-ns', 'config.watchNamespace': 'team-a' })).filter((o) => rbac.some((r) => r.kind === o.kind))
  t.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: namespaced.map((o) => JSON.stringify(o)).join('\n---\n') })).code, 0)
  const ns = `--as=system:serviceaccount:${NAMESPACE}:rbac-ns`
  t.equal((await cp.kubectl(['auth', 'can-i', ns, 'watch', 'pods', '-n', 'team-a'])).stdout.trim(), 'yes', 'watchNamespace: its namespace')
  t.equal((await cp.kubectl(['auth', 'can-i', ns, 'watch', 'pods', '-n', 'default'])).stdout.trim(), 'no', 'watchNamespace: no other')
})

t.test("the chart's webhook configurations, pointed at the local webhook server, deny the unsafe switch; so does its policy", async (t) => {
  const webhook = await startTestWebhookServer()
  t.teardown(() => webhook.close())
  const rendered = await render()
  const configurations = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].map((kind) => rewriteClientConfig(find(rendered, kind), webhook.endpoint))
  for (const configuration of configurations) await applyObject(cp.api, configuration)
  t.teardown(async () => {
    for (const configuration of configurations) await deleteObject(cp.api, configuration)
  })
  const probe = await createNamespace(cp.api, 'chart-probe')
  await waitForDefaulting(cp.api, probe)
  await waitForBackendRuleEnforced(cp.api, probe, WEBHOOK_DENIAL_PREFIX)

  const ns = await createNamespace(cp.api, 'chart-webhook')
  const created = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'legacy', { image: 'example.com/worker:1' }) })
  t.equal(created.code, 0, created.stderr)
  t.equal((await cp.kubectl(['get', 'worker', 'legacy', '-n', ns, '-o', 'jsonpath={.spec.backendRuntime}'])).stdout, 'pod', 'defaulted by the mutating webhook')
  const running = await cp.kubectl(['patch', 'worker', 'legacy', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}'])
  t.equal(running.code, 0, running.stderr)
  const denied = await cp.kubectl(['patch', 'worker', 'legacy', '-n', ns, '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
  t.equal(denied.code, 1, 'kubectl exits 1')
  t.match(denied.stderr, /^Error from server \(Forbidden\): /)
  t.match(denied.stderr, WEBHOOK_DENIAL_PREFIX + LEGACY_TO_SANDBOX, 'the full explanation, from the chart-installed webhook')

  await deleteObject(cp.api, find(rendered, 'ValidatingWebhookConfiguration'))
  const policy = await render({ 'admission.mode': 'policy' })
  const policyObjects = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].map((kind) => find(policy, kind))
  for (const o of policyObjects) await applyObject(cp.api, o)
  t.teardown(async () => {
    for (const o of policyObjects.reverse()) await deleteObject(cp.api, o)
  })
  await waitForBackendRuleEnforced(cp.api, probe, POLICY_DENIAL_PREFIX)
  const byPolicy = await cp.kubectl(['patch', 'worker', 'legacy', '-n', ns, '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
  t.equal(byPolicy.code, 1)
  t.match(byPolicy.stderr, POLICY_DENIAL_PREFIX + LEGACY_TO_SANDBOX, 'admission.mode=policy: the same explanation, no webhook involved')
})

t.test('helm install and upgrade keep the generated certificate; an upgrade renews it near expiry; uninstall removes the webhooks', async (t) => {
  const secretPath = `/api/v1/namespaces/${NAMESPACE}/secrets/${RELEASE}-tls`
  const state = async () => {
    const secret = (await cp.api.request('GET', secretPath)).body as Manifest
    const bundle = async (kind: string) => (await cp.api.request('GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}-${kind.startsWith('mutating') ? 'mutating' : 'validating'}`)).body?.webhooks?.[0]?.clientConfig?.caBundle
    return { ca: secret['data']['ca.crt'], tls: secret['data']['tls.crt'], mutating: await bundle('mutatingwebhookconfigurations'), validating: await bundle('validatingwebhookconfigurations') }
  }
  const pem = (b64: string) => new X509Certificate(Buffer.from(b64, 'base64'))
  const upgrade = async (note: string) => {
    const r = await helmOnCluster(['upgrade', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--set', `podAnnotations.note=${note}`])
    t.equal(r.code, 0, `helm upgrade (${note}): ${r.stderr}`)
  }
  const expireSoon = async (annotation: string) => {
    const soon = Math.floor(Date.now() / 1000) + 86_400
    const r = await cp.kubectl(['annotate', 'secret', `${RELEASE}-tls`, '-n', NAMESPACE, '--overwrite', `agentteams.io/${annotation}=${soon}`])
    t.equal(r.code, 0, r.stderr)
  }

  const installed = await helmOnCluster(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE])
  t.equal(installed.code, 0, `helm install: ${installed.stderr}`)
  t.match(installed.stdout, `kubectl delete validatingwebhookconfiguration ${RELEASE}-validating`, 'the install notes show the emergency escape')
  t.match(installed.stdout, `bind the ClusterRole ${RELEASE}-metrics-reader to your Prometheus's ServiceAccount`, 'and how a scraper gets /metrics')
  const first = await state()
  t.equal(first.mutating, first.ca, 'the mutating webhook trusts the generated CA')
  t.equal(first.validating, first.ca, 'so does the validating webhook')

  await upgrade('same')
  t.same(await state(), first, 'helm upgrade keeps the CA, the serving certificate and the caBundle')

  await expireSoon('tls-not-after')
  await upgrade('renew-serving')
  const renewed = await state()
  t.not(renewed.tls, first.tls, 'a serving certificate within renewBeforeDays is replaced')
  t.equal(renewed.ca, first.ca, 'by one from the same CA')
  t.equal(renewed.validating, first.ca, 'so the caBundle does not move and no request fails meanwhile')
  t.ok(pem(renewed.tls).verify(pem(renewed.ca).publicKey))

  await expireSoon('ca-not-after')
  await upgrade('renew-ca')
  const newCa = await state()
  t.not(newCa.ca, first.ca, 'a CA within renewBeforeDays is replaced')
  t.equal(newCa.validating, newCa.ca, 'the webhooks trust the new CA')
  t.equal(newCa.mutating, newCa.ca)
  t.ok(pem(newCa.tls).verify(pem(newCa.ca).publicKey), 'and the serving certificate is re-issued by it')

  const removed = await helmOnCluster(['uninstall', RELEASE, '--namespace', NAMESPACE])
  t.equal(removed.code, 0, removed.stderr)
  for (const path of [`/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${RELEASE}-validating`, `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${RELEASE}`, secretPath]) {
    t.equal((await cp.api.request('GET', path)).status, 404, `gone after helm uninstall: ${path}`)
  }
  t.equal((await cp.api.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/workers.agentteams.io')).status, 200, 'the CRD stays (Helm never deletes crds/): Workers survive an uninstall')
})
