// The chart's monitoring, rendered by the real helm: off by default; with the three values a
// ServiceMonitor that scrapes the Service's metrics port over HTTPS against the chart's CA and the
// name on the serving certificate, a PrometheusRule whose groups are files/alerts.yaml as they are
// (also the README's table), and a dashboard ConfigMap for Grafana's sidecar that is the generator's
// output, with a panel for each thing the README promises and only metrics the controller exports.

import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { Registry, collectDefaultMetrics } from 'prom-client'
import { createWebhookMetrics } from '../../server/metrics.ts'
import { createReconcilerMetrics } from '../../reconciler/controller/metrics.ts'
import { observeApiRequests } from '../../reconciler/controller/kube-metrics.ts'
import { crdCapabilityGauge } from '../../reconciler/sandbox/crd-checks.ts'
import { ALERTS_FILE, withAlertsTable } from '../../scripts/readme-alerts.ts'
import { DASHBOARD_FILE, dashboardText } from '../../scripts/dashboard.ts'
import type { Manifest } from '../../localcluster/manifests.ts'
import { MONITORING, NAMESPACE, RELEASE, find, render } from './helm.ts'

const MONITORING_KINDS = ['ServiceMonitor', 'PrometheusRule']
const objects = await render(MONITORING)
const alerts = parse(await readFile(ALERTS_FILE, 'utf8'))
const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8'))

/** Every metric name the running controller can export (all of its registries, process metrics included). */
async function exportedMetricNames(): Promise<Set<string>> {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  createWebhookMetrics(registry)
  createReconcilerMetrics(registry)
  observeApiRequests(registry)
  crdCapabilityGauge(registry)
  const names = new Set<string>()
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name)
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix)
  }
  return names
}

const labelsOf = (o: Manifest): Record<string, string> => (o.metadata['labels'] ?? {}) as Record<string, string>

/** Metric names a PromQL expression mentions (identifiers followed by `{`, or inside a rate/quantile). */
function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:worker_runtime_controller|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string)
}

t.test('off by default: no monitoring objects, and none needs the monitoring.coreos.com CRDs', async (t) => {
  const defaults = await render()
  t.notOk(defaults.some((o) => MONITORING_KINDS.includes(o.kind) || o.metadata.name.endsWith('-dashboard')))
})

t.test('the ServiceMonitor scrapes the metrics port over HTTPS, trusting the chart CA, with Prometheus\'s token', async (t) => {
  const monitor = find(objects, 'ServiceMonitor')
  const service = find(objects, 'Service')
  t.equal(monitor.metadata.namespace, NAMESPACE)
  t.equal(labelsOf(monitor)['release'], 'kube-prometheus-stack', 'the label kube-prometheus-stack selects by')
  for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) t.equal(labelsOf(service)[key], value, `selects the Service by ${key}`)
  t.same(monitor.spec.namespaceSelector, { matchNames: [NAMESPACE] })
  const [endpoint] = monitor.spec.endpoints
  t.ok(service.spec.ports.some((p: { name: string }) => p.name === endpoint.port), `port ${endpoint.port} is a Service port`)
  t.same([endpoint.scheme, endpoint.path, endpoint.interval, endpoint.scrapeTimeout], ['https', '/metrics', '30s', '10s'])
  t.equal(endpoint.bearerTokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token')
  const secret = find(objects, 'Secret', endpoint.tlsConfig.ca.secret.name)
  const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'))
  const ca = new X509Certificate(Buffer.from(secret.data[endpoint.tlsConfig.ca.secret.key], 'base64'))
  t.ok(cert.verify(ca.publicKey), 'the CA it trusts signed the serving certificate the pods mount')
  t.ok(cert.checkHost(endpoint.tlsConfig.serverName), `the certificate is valid for ${endpoint.tlsConfig.serverName}`)
  t.notOk(endpoint.tlsConfig.insecureSkipVerify, 'certificate checked, not skipped')

  const plain = find(await render({ ...MONITORING, 'config.metricsSecure': false }), 'ServiceMonitor').spec.endpoints[0]
  t.same([plain.scheme, plain.tlsConfig, plain.bearerTokenFile], ['http', undefined, undefined], 'plain metrics: plain scrape')
  const own = find(await render({ ...MONITORING, 'monitoring.serviceMonitor.tlsConfig': { insecureSkipVerify: true } }), 'ServiceMonitor').spec.endpoints[0]
  t.same(own.tlsConfig, { insecureSkipVerify: true }, 'tlsConfig replaces the chart\'s TLS settings')
})

t.test('metrics RBAC: the controller may create both reviews; scrapers get metrics-reader, bound to the listed subjects', async (t) => {
  const auth = find(objects, 'ClusterRole', `${RELEASE}-metrics-auth`)
  t.same(auth.rules, [
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
  ])
  t.same(find(objects, 'ClusterRoleBinding', `${RELEASE}-metrics-auth`).subjects, [{ kind: 'ServiceAccount', name: RELEASE, namespace: NAMESPACE }])
  t.same(find(objects, 'ClusterRole', `${RELEASE}-metrics-reader`).rules, [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }])
  t.same(find(objects, 'ClusterRoleBinding', `${RELEASE}-metrics-reader`).subjects, [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }])
  const plain = await render({ 'config.metricsSecure': false })
  t.notOk(plain.some((o) => o.metadata.name.includes('-metrics-')), 'plain metrics: no reviews, so no metrics RBAC')
  const unbound = await render()
  t.notOk(unbound.some((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === `${RELEASE}-metrics-reader`), 'no subjects: the reader role is not bound')
})

t.test('the PrometheusRule holds files/alerts.yaml as it is, and the README table is generated from the same file', async (t) => {
  const rule = find(objects, 'PrometheusRule')
  t.same(rule.spec.groups, alerts.groups, 'the groups, rule for rule')
  const names = alerts.groups.flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert))
  t.ok(names.length >= 10, `${names.length} alerts`)
  t.equal(new Set(names).size, names.length, 'alert names are unique')
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  t.equal(readme, withAlertsTable(readme), 'run `node scripts/readme-alerts.ts` after changing files/alerts.yaml')
  for (const name of names) t.match(readme, `| \`${name}\` |`, `the README lists ${name}`)
})

t.test('every metric the alerts and the dashboard query is one the controller exports', async (t) => {
  const known = await exportedMetricNames()
  const exprs = [
    ...alerts.groups.flatMap((g: { rules: Array<{ expr: string }> }) => g.rules.map((r) => r.expr)),
    ...dashboard.panels.flatMap((p: { targets?: Array<{ expr: string }> }) => (p.targets ?? []).map((q) => q.expr)),
  ]
  const named = new Set(exprs.flatMap(metricNamesIn))
  t.ok(named.size >= 15, `${named.size} metrics queried`)
  for (const name of named) t.ok(known.has(name), `${name} is exported`)
})

t.test('the dashboard ConfigMap: the sidecar label, the generator\'s JSON, a panel for each promised topic', async (t) => {
  const configMap = find(objects, 'ConfigMap', `${RELEASE}-dashboard`)
  t.equal(labelsOf(configMap)['grafana_dashboard'], '1', 'kube-prometheus-stack\'s sidecar label')
  t.equal(configMap.metadata.namespace, NAMESPACE)
  t.equal(configMap.data['worker-runtime-controller.json'], (await readFile(DASHBOARD_FILE, 'utf8')).trimEnd(), 'the shipped JSON')
  t.equal(await readFile(DASHBOARD_FILE, 'utf8'), dashboardText(), 'run `node scripts/dashboard.ts` after changing the generator')
  const moved = find(await render({ ...MONITORING, 'monitoring.dashboard.namespace': 'grafana', 'monitoring.dashboard.annotations': { grafana_folder: 'AgentTeams' } }), 'ConfigMap', `${RELEASE}-dashboard`)
  t.same([moved.metadata.namespace, (moved.metadata['annotations'] as Record<string, string>)['grafana_folder']], ['grafana', 'AgentTeams'])

  t.equal(dashboard.uid, 'worker-runtime-controller')
  t.same(dashboard.templating.list.map((v: { name: string }) => v.name), ['datasource', 'namespace', 'job'])
  const panels = dashboard.panels.filter((p: { type: string }) => p.type !== 'row')
  const queries = (p: { targets: Array<{ expr: string }> }) => p.targets.map((q) => q.expr).join('\n')
  const topics: Record<string, RegExp> = {
    'admission latency': /histogram_quantile\(0\.99, sum by \(webhook, le\) \(rate\(worker_runtime_controller_admission_duration_seconds_bucket/,
    'admission decisions': /worker_runtime_controller_admission_decisions_total/,
    'reconcile rate': /sum by \(result\) \(rate\(worker_runtime_controller_reconcile_total\{[^}]*\}\[/,
    'reconcile errors': /reconcile_total\{[^}]*result=~"error\|terminal"/,
    'reconcile duration': /worker_runtime_controller_reconcile_duration_seconds_bucket/,
    'queue depth': /worker_runtime_controller_workqueue_depth/,
    'watch age': /worker_runtime_controller_informer_last_event_age_seconds/,
    'watch restarts': /worker_runtime_controller_informer_restarts_total/,
    leader: /worker_runtime_controller_leader/,
    'API requests': /sum by \(verb, resource\) \(rate\(worker_runtime_controller_rest_client_requests_total/,
    'API requests per reconcile': /rest_client_requests_total[^/]+\/ sum\(rate\(worker_runtime_controller_reconcile_total/,
  }
  for (const [topic, pattern] of Object.entries(topics)) t.ok(panels.some((p: any) => pattern.test(queries(p))), `a panel shows ${topic}`)
  for (const p of panels) {
    for (const q of p.targets) t.match(q.expr, /namespace="\$namespace", job="\$job"/, `${p.title}: scoped to the chosen installation`)
    t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: the chosen data source`)
  }
  const ids = dashboard.panels.map((p: { id: number }) => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const p of dashboard.panels) t.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`)
})
