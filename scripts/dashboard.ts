// Generates the chart's Grafana dashboard (files/dashboard.json, shipped by monitoring.dashboard):
// `node scripts/dashboard.ts` rewrites it; a test keeps the file equal to this generator, runs
// every query through promtool and checks it names only metrics the controller exports.

import { writeFileSync } from 'node:fs'

/** The file the chart's dashboard ConfigMap embeds. */
export const DASHBOARD_FILE = new URL('../manifests/chart/worker-runtime-controller/files/dashboard.json', import.meta.url)

/** Grafana's dashboard variables every query is scoped by (a ServiceMonitor adds both labels). */
const SEL = 'namespace="$namespace", job="$job"'
const RATE = '$__rate_interval'
const M = 'worker_runtime_controller_'
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' }

interface Query { expr: string; legend: string }
interface PanelSpec { title: string; description: string; unit: string; queries: Query[]; stack?: boolean; kind?: 'timeseries' | 'stat' }

const q = (expr: string, legend: string): Query => ({ expr, legend })
const quantiles = (metric: string, by: string, legend: string): Query[] =>
  [0.5, 0.99].map((p) => q(`histogram_quantile(${p}, sum by (${by}, le) (rate(${metric}_bucket{${SEL}}[${RATE}])))`, `p${Math.round(p * 100)}${legend ? ` ${legend}` : ''}`))

/** The dashboard's rows, each a list of panels (three to a row of the 24-column grid). */
const ROWS: Array<{ title: string; panels: PanelSpec[] }> = [
  {
    title: 'Admission webhooks',
    panels: [
      { title: 'Admission latency', description: 'p50 and p99 from request to response, per webhook (alert: p99 above 1 s).', unit: 's', queries: quantiles(`${M}admission_duration_seconds`, 'webhook', '{{webhook}}') },
      { title: 'Admission decisions', description: 'Decisions per second by webhook and result (allowed, denied, patched, errored).', unit: 'reqps', stack: true, queries: [q(`sum by (webhook, result) (rate(${M}admission_decisions_total{${SEL}}[${RATE}]))`, '{{webhook}} {{result}}')] },
      { title: 'Admission requests in flight', description: 'Requests being handled, per replica.', unit: 'short', queries: [q(`sum by (pod) (${M}admission_in_flight_requests{${SEL}})`, '{{pod}}')] },
    ],
  },
  {
    title: 'Reconciler',
    panels: [
      { title: 'Reconciles', description: 'Worker reconciles per second by result.', unit: 'ops', stack: true, queries: [q(`sum by (result) (rate(${M}reconcile_total{${SEL}}[${RATE}]))`, '{{result}}')] },
      { title: 'Reconcile errors and retries', description: 'Failed reconciles (retried with backoff; terminal ones wait for a change) and re-queued keys per second.', unit: 'ops', queries: [q(`sum by (result) (rate(${M}reconcile_total{${SEL}, result=~"error|terminal"}[${RATE}]))`, '{{result}}'), q(`sum(rate(${M}workqueue_retries_total{${SEL}}[${RATE}]))`, 'retries')] },
      { title: 'Reconcile duration', description: 'p50 and p99 of one Worker reconcile (alert: p99 above 10 s).', unit: 's', queries: quantiles(`${M}reconcile_duration_seconds`, 'job', '') },
      { title: 'Work queue depth', description: 'Worker keys ready to be reconciled (only the leader has a queue).', unit: 'short', queries: [q(`max by (pod) (${M}workqueue_depth{${SEL}})`, '{{pod}}')] },
      { title: 'Replicas leading', description: 'Replicas holding the reconciler Lease: exactly 1 is healthy.', unit: 'short', kind: 'stat', queries: [q(`sum(${M}leader{${SEL}})`, 'leaders')] },
      { title: 'Leader by replica', description: '1 while the replica holds the reconciler Lease.', unit: 'short', queries: [q(`max by (pod) (${M}leader{${SEL}})`, '{{pod}}')] },
    ],
  },
  {
    title: 'Watches',
    panels: [
      { title: 'Last event age', description: 'Seconds since each informer last received an event or completed a list (the periodic relist resets it; alert above 900 s).', unit: 's', queries: [q(`max by (kind) (${M}informer_last_event_age_seconds{${SEL}})`, '{{kind}}')] },
      { title: 'Watch restarts', description: 'Informer restarts by kind and reason (error, relist_miss).', unit: 'short', stack: true, queries: [q(`sum by (kind, reason) (increase(${M}informer_restarts_total{${SEL}}[${RATE}]))`, '{{kind}} {{reason}}')] },
      { title: 'Events missed by watches', description: 'Objects a relist found that the watch had not delivered.', unit: 'short', queries: [q(`sum by (kind) (increase(${M}informer_relist_misses_total{${SEL}}[${RATE}]))`, '{{kind}}')] },
    ],
  },
  {
    title: 'Kubernetes API requests',
    panels: [
      { title: 'API requests', description: 'Requests per second the controller makes, by verb and resource (watch streams are counted by the informers).', unit: 'reqps', stack: true, queries: [q(`sum by (verb, resource) (rate(${M}rest_client_requests_total{${SEL}}[${RATE}]))`, '{{verb}} {{resource}}')] },
      { title: 'API requests not 2xx', description: 'By code, verb and resource: 404 and 409 are normal work; 403 is missing RBAC; 429, 5xx and <error> are the API server struggling.', unit: 'reqps', queries: [q(`sum by (code, verb, resource) (rate(${M}rest_client_requests_total{${SEL}, code!~"2.."}[${RATE}]))`, '{{code}} {{verb}} {{resource}}')] },
      { title: 'API request latency', description: 'p50 and p99 by verb.', unit: 's', queries: quantiles(`${M}rest_client_request_duration_seconds`, 'verb', '{{verb}}') },
      { title: 'API requests per reconcile', description: 'API requests of every replica divided by reconciles: the cost of one Worker reconcile (the README measures about 7 per Worker brought up).', unit: 'short', queries: [q(`sum(rate(${M}rest_client_requests_total{${SEL}}[${RATE}])) / sum(rate(${M}reconcile_total{${SEL}}[${RATE}]))`, 'requests / reconcile')] },
    ],
  },
  {
    title: 'Process',
    panels: [
      { title: 'CPU', description: 'CPU seconds per second, per replica (no CPU limit by default: Node stalls under a CFS quota).', unit: 'percentunit', queries: [q(`sum by (pod) (rate(process_cpu_seconds_total{${SEL}}[${RATE}]))`, '{{pod}}')] },
      { title: 'Resident memory', description: 'RSS per replica (the chart limits memory to 512 MiB).', unit: 'bytes', queries: [q(`max by (pod) (process_resident_memory_bytes{${SEL}})`, '{{pod}}')] },
      { title: 'Event loop lag p99', description: 'How late the event loop runs: every webhook answer waits this long.', unit: 's', queries: [q(`max by (pod) (nodejs_eventloop_lag_p99_seconds{${SEL}})`, '{{pod}}')] },
    ],
  },
]

function panel(spec: PanelSpec, id: number, gridPos: { h: number; w: number; x: number; y: number }): Record<string, unknown> {
  const targets = spec.queries.map((query, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: query.expr, legendFormat: query.legend, range: true }))
  if (spec.kind === 'stat') {
    return {
      id, type: 'stat', title: spec.title, description: spec.description, datasource: DATASOURCE, gridPos, targets,
      fieldConfig: { defaults: { unit: spec.unit, thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }, { color: 'red', value: 2 }] } }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area', textMode: 'value' },
    }
  }
  return {
    id, type: 'timeseries', title: spec.title, description: spec.description, datasource: DATASOURCE, gridPos, targets,
    fieldConfig: {
      defaults: { unit: spec.unit, min: 0, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: spec.stack ? 30 : 10, showPoints: 'never', stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' } } },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
  }
}

/** The metrics whose series name an installation: webhook servers and reconcilers each export one. */
const PRESENCE = `{__name__=~"${M}(admission_in_flight_requests|leader)"}`

/** The dashboard as Grafana's JSON model. */
export function dashboard(): Record<string, unknown> {
  const panels: Array<Record<string, unknown>> = []
  let id = 1
  let y = 0
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] })
    y += 1
    row.panels.forEach((spec, i) => {
      panels.push(panel(spec, id++, { h: 8, w: 8, x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8 }))
    })
    y += Math.ceil(row.panels.length / 3) * 8
  }
  const variable = (name: string, label: string, query: string) => ({
    name, label, type: 'query', datasource: DATASOURCE, query: { query, refId: name }, definition: query, refresh: 2, sort: 1, includeAll: false, multi: false, current: {},
  })
  return {
    uid: 'worker-runtime-controller',
    title: 'worker-runtime-controller',
    description: 'Admission webhooks, reconciler, watches, Kubernetes API requests and the process of worker-runtime-controller (AgentTeams Workers).',
    tags: ['agentteams', 'kubernetes', 'worker-runtime-controller'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    version: 1,
    annotations: { list: [] },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1 },
        variable('namespace', 'Namespace', `label_values(${PRESENCE}, namespace)`),
        variable('job', 'Installation', `label_values(${PRESENCE.slice(0, -1)}, namespace="$namespace"}, job)`),
      ],
    },
    panels,
  }
}

/** The file's text: two-space JSON and a final newline. */
export function dashboardText(): string {
  return JSON.stringify(dashboard(), null, 2) + '\n'
}

if (import.meta.main) writeFileSync(DASHBOARD_FILE, dashboardText())
