// What `helm lint` and `helm template` make of the chart, checked with the real helm: every
// documented option set lints and renders; the CRD, webhook configurations and policy are the
// repository's single sources (manifests/); the pod is hardened as docs/operations.md asks; RBAC
// has no wildcard and the right scope; the generated certificate chain is one a Go API server trusts.

import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MANIFESTS, loadManifests, type Manifest } from '../../localcluster/manifests.ts'
import { CHART_DIR, NAMESPACE, OPTION_SETS, RELEASE, find, helm, render, setJson } from './helm.ts'

const defaults = await render()

t.test('helm lint --strict passes with the defaults and every documented option set', async (t) => {
  for (const [name, values] of Object.entries(OPTION_SETS)) {
    const r = await helm(['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, ...setJson(values)])
    t.equal(r.code, 0, `${name}: ${r.code === 0 ? 'lint ok' : r.stdout + r.stderr}`)
  }
})

t.test('every documented option set renders, with the objects that option promises', async (t) => {
  const kinds = async (values: Record<string, unknown>) => (await render(values)).map((o) => o.kind)
  t.same(
    defaults.map((o) => o.kind).sort(),
    ['ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Deployment', 'MutatingWebhookConfiguration', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount', 'ValidatingWebhookConfiguration'],
    'defaults: webhooks with a generated certificate, cluster-wide RBAC (the reconciler\'s, the metrics reviews, metrics-reader), no policy',
  )
  const policy = await kinds(OPTION_SETS['admission.mode=policy'] as Record<string, unknown>)
  t.ok(policy.includes('ValidatingAdmissionPolicy') && policy.includes('ValidatingAdmissionPolicyBinding'), 'policy: the ValidatingAdmissionPolicy and its binding')
  t.notOk(policy.includes('ValidatingWebhookConfiguration'), 'policy: no validating webhook')
  const both = await kinds(OPTION_SETS['admission.mode=both'] as Record<string, unknown>)
  t.ok(both.includes('ValidatingAdmissionPolicy') && both.includes('ValidatingWebhookConfiguration'), 'both: policy and webhook')
  const cm = await render(OPTION_SETS['certManager.enabled'] as Record<string, unknown>)
  t.same(cm.filter((o) => o.apiVersion === 'cert-manager.io/v1').map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    `Certificate/${RELEASE}-ca`, `Certificate/${RELEASE}-serving`, `Issuer/${RELEASE}-ca`, `Issuer/${RELEASE}-selfsigned`,
  ], 'cert-manager: a self-contained CA chain')
  t.notOk(cm.some((o) => o.kind === 'Secret'), 'cert-manager: the chart generates no key material')
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const config = find(cm, kind)
    t.equal((config.metadata['annotations'] as Record<string, string>)['cert-manager.io/inject-ca-from'], `${NAMESPACE}/${RELEASE}-serving`, `${kind}: CA injected by cert-manager`)
    t.equal(config.webhooks[0].clientConfig.caBundle, undefined, `${kind}: no chart caBundle`)
  }
  const own = await render(OPTION_SETS['certManager with an issuerRef'] as Record<string, unknown>)
  t.same(find(own, 'Certificate').spec.issuerRef, { name: 'company-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' }, 'your issuer, no chart chain')
  t.notOk(own.some((o) => o.kind === 'Issuer'))
  const webhookOnly = await render(OPTION_SETS['webhook only (reconciler off)'] as Record<string, unknown>)
  t.same(webhookOnly.filter((o) => o.kind.includes('Role')).map((o) => o.metadata.name).sort(), [`${RELEASE}-metrics-auth`, `${RELEASE}-metrics-auth`, `${RELEASE}-metrics-reader`], 'webhook only: no RBAC but the metrics reviews (the webhook needs no API rights)')
  t.notOk((await kinds({ 'config.reconcilerEnabled': false, 'config.metricsSecure': false })).some((k) => k.includes('Role')), 'and with plain metrics, none at all')
  const noWebhook = await render(OPTION_SETS['reconciler only (policy, no webhook server)'] as Record<string, unknown>)
  t.notOk(noWebhook.some((o) => o.kind.endsWith('WebhookConfiguration')), 'no webhook server: no webhook configurations')
  t.ok(noWebhook.some((o) => o.kind === 'Secret'), 'but the serving certificate of the secure /metrics')
  t.same(find(noWebhook, 'Service').spec.ports.map((p: { name: string }) => p.name), ['metrics'])
  t.notOk((await render({ ...(OPTION_SETS['reconciler only (policy, no webhook server)'] as Record<string, unknown>), 'config.metricsSecure': false })).some((o) => o.kind === 'Secret'), 'no webhook server and plain metrics: no certificate')
  const pvc = find(await render(OPTION_SETS['filesystem deps on a PersistentVolumeClaim'] as Record<string, unknown>), 'Deployment')
  t.same(pvc.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'deps'), { name: 'deps', persistentVolumeClaim: { claimName: 'agentteams-deps' } })
})

t.test('the Worker CRD in crds/ is byte-identical to manifests/crd (the single source)', async (t) => {
  const source = await readFile(MANIFESTS.workerCrd)
  const copy = await readFile(join(CHART_DIR, 'crds', 'workers.agentteams.io.yaml'))
  t.ok(source.equals(copy), 'cp manifests/crd/workers.agentteams.io.yaml manifests/chart/worker-runtime-controller/crds/ after changing the CRD')
})

t.test('the webhook configurations and the policy are manifests/ plus the Service, the caBundle and labels', async (t) => {
  for (const file of [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook]) {
    const [manifest] = (await loadManifests(file)) as [Manifest]
    const rendered = find(defaults, manifest.kind)
    t.equal(rendered.metadata.name, manifest.metadata.name, `${manifest.kind} name`)
    const webhooks = rendered.webhooks.map((w: any) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: undefined } }))
    t.same(JSON.parse(JSON.stringify(webhooks)), manifest['webhooks'], `${manifest.kind}: same webhooks, rules, failure policy, timeout and selector`)
  }
  const [policy, binding] = (await loadManifests(MANIFESTS.validatingAdmissionPolicy)) as [Manifest, Manifest]
  const rendered = await render({ 'admission.mode': 'policy' })
  t.same(find(rendered, 'ValidatingAdmissionPolicy').spec, policy['spec'], 'the policy, variable for variable')
  t.same(find(rendered, 'ValidatingAdmissionPolicyBinding').spec, binding['spec'])
  const sandboxDefault = find(await render({ 'admission.mode': 'both', 'config.defaultBackendRuntime': 'sandbox', 'admission.policy.validationActions': ['Warn'] }), 'ValidatingAdmissionPolicy')
  t.same(sandboxDefault.spec.variables[0], { name: 'defaultBackendRuntime', expression: "'sandbox'" }, 'the configured default backend')
  const prefixed = find(await render({ 'admission.mode': 'policy', 'config.resourcePrefix': 'team-' }), 'ValidatingAdmissionPolicy')
  t.same(prefixed.spec.variables[1], { name: 'resourcePrefix', expression: "'team-'" }, 'the configured resource prefix (the sandbox name limit)')
})

t.test('the pod is hardened: non-root, read-only root, no capabilities, seccomp, no CPU limit, spread, probes', async (t) => {
  const deployment = find(defaults, 'Deployment')
  const pod = deployment.spec.template.spec
  const [container] = pod.containers
  t.equal(deployment.spec.replicas, 2)
  t.equal(find(defaults, 'PodDisruptionBudget').spec.minAvailable, 1)
  t.notOk((await render({ replicaCount: 1 })).some((o) => o.kind === 'PodDisruptionBudget'), 'no PDB for one replica (it would block every drain)')
  t.same(find(defaults, 'PodDisruptionBudget').spec.selector.matchLabels, deployment.spec.selector.matchLabels, 'the PDB covers these pods')
  t.equal(pod.securityContext.runAsNonRoot, true)
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault')
  t.same(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } })
  t.equal(container.resources.limits.cpu, undefined, 'no CPU limit (a CFS quota stalls the event loop)')
  t.ok(container.resources.limits.memory, 'a memory limit')
  t.equal(container.livenessProbe.httpGet.path, '/healthz')
  t.equal(container.readinessProbe.httpGet.path, '/readyz')
  t.equal(container.readinessProbe.httpGet.port, 'health')
  t.same(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]), [['webhook', 9443], ['health', 8081], ['metrics', 8443]])
  t.ok(pod.terminationGracePeriodSeconds >= 5 + 30, 'grace covers 5 s of failed readiness plus the 30 s drain')
  const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
  t.equal(term.topologyKey, 'kubernetes.io/hostname')
  t.same(term.labelSelector.matchLabels, deployment.spec.selector.matchLabels, 'replicas avoid sharing a node')
  const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]))
  t.same(mounts, { tmp: '/tmp', tls: '/etc/worker-runtime-controller/tls', deps: '/var/lib/worker-runtime-controller/deps' }, 'writable: /tmp and the deps dir; the TLS Secret read-only')
  const tls = pod.volumes.find((v: { name: string }) => v.name === 'tls')
  t.same(tls.secret.items.map((i: { key: string }) => i.key), ['tls.crt', 'tls.key'], 'the CA key is not mounted')
  const service = find(defaults, 'Service')
  t.same(service.spec.ports.map((p: { port: number; targetPort: string }) => [p.port, p.targetPort]), [[443, 'webhook'], [8443, 'metrics']], 'the probes are not exposed; /metrics is, on its own port')
  t.same(container.args, ['serve'])
})

const rulesOf = (objects: Manifest[]) => objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole').flatMap((o) => o['rules'] as Array<Record<string, string[]>>)

t.test('RBAC: no wildcards; cluster-wide by default, namespaced with watchNamespace; the Lease in the release namespace only', async (t) => {
  for (const [name, values] of Object.entries(OPTION_SETS)) {
    for (const rule of rulesOf(await render(values))) {
      for (const field of ['apiGroups', 'resources', 'verbs']) t.notOk(rule[field]?.includes('*'), `${name}: no * in ${field}`)
    }
  }
  const lease = find(defaults, 'Role')
  t.equal(lease.metadata.namespace, NAMESPACE)
  t.same(rulesOf(defaults).filter((r) => r['apiGroups']?.includes('coordination.k8s.io')).length, 2, 'leases only in the leader-election Role')
  t.notOk(find(defaults, 'ClusterRole', RELEASE).rules.some((r: Record<string, string[]>) => r['apiGroups']?.includes('coordination.k8s.io')), 'no cluster-wide Lease rights')
  const namespaced = await render(OPTION_SETS['watchNamespace (namespaced Role)'] as Record<string, unknown>)
  const clusterWide = namespaced.filter((o) => o.kind.startsWith('Cluster') && o.kind !== 'CustomResourceDefinition')
  t.same(clusterWide.map((o) => o.metadata.name).sort(), [`${RELEASE}-metrics-auth`, `${RELEASE}-metrics-auth`, `${RELEASE}-metrics-reader`], 'watchNamespace: no ClusterRole but the metrics ones (reviews are cluster-scoped)')
  t.same(namespaced.filter((o) => o.kind === 'Role').map((o) => o.metadata.namespace).sort(), [NAMESPACE, 'team-a'])
  const legacy = await render(OPTION_SETS["one namespace, upstream's Pods in another"] as Record<string, unknown>)
  const legacyRole = legacy.find((o) => o.kind === 'Role' && o.metadata.namespace === 'hiclaw-system')
  t.same(legacyRole?.rules, [
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'delete'] },
    { apiGroups: ['agents.kruise.io'], resources: ['sandboxclaims'], verbs: ['list', 'watch', 'delete'] },
    { apiGroups: ['agents.kruise.io'], resources: ['sandboxes'], verbs: ['list', 'watch', 'delete'] },
  ], 'a legacy namespace: read and delete the runtime objects there, create nothing')
  t.ok(legacy.some((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'hiclaw-system'), 'bound to the controller')
  t.notOk((await render({ 'config.legacyNamespaces': ['hiclaw-system'] })).some((o) => o.kind === 'Role' && o.metadata.namespace === 'hiclaw-system'), 'cluster-wide, the ClusterRole covers it already')
  const podOnly = rulesOf(await render({ 'config.sandboxEnabled': false }))
  t.notOk(podOnly.some((r) => r['apiGroups']?.includes('agents.kruise.io') || r['resources']?.includes('serviceaccounts/token')), 'sandbox off: no OpenKruise or TokenRequest rights')
})

t.test('the generated certificate: SHA-256, signed by the caBundle CA, SANs of the Service, stable within one render', async (t) => {
  const secret = find(defaults, 'Secret')
  const pem = (key: string) => Buffer.from(secret.data[key], 'base64').toString()
  const ca = new X509Certificate(pem('ca.crt'))
  const cert = new X509Certificate(pem('tls.crt'))
  t.ok(cert.verify(ca.publicKey), 'the serving certificate is signed by the CA')
  t.equal(ca.ca, true)
  t.match(cert.signatureAlgorithm ?? '', /sha256/i, 'SHA-256 (Go rejects SHA-1 chains)')
  t.ok(cert.checkHost(`${RELEASE}.${NAMESPACE}.svc`), 'valid for <service>.<namespace>.svc, the name the API server calls')
  t.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(pem('tls.key'))), 'the key matches')
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    t.equal(find(defaults, kind).webhooks[0].clientConfig.caBundle, secret.data['ca.crt'], `${kind} trusts that CA`)
  }
  const years = (new Date(cert.validTo).getTime() - Date.now()) / (365 * 86_400_000)
  t.ok(years > 9, 'ten years by default (renewed by helm upgrade within certs.renewBeforeDays)')
  t.equal(Number((secret.metadata['annotations'] as Record<string, string>)['agentteams.io/tls-not-after']) > Date.now() / 1000, true, 'the expiry is recorded for upgrades')
})
