// The alerts and the dashboard queries, proven with the real promtool: the rules of the PrometheusRule
// the chart renders pass `promtool check rules`; `promtool test rules` runs the synthetic series of
// fixtures/alerts.test.yaml against them (every alert fires on series that should fire it, with its
// labels and rendered annotations, and stays quiet on series that should not); and every dashboard
// query parses as PromQL (checked as a recording rule, Grafana's variables filled in).

import t from 'tap'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { DASHBOARD_FILE } from '../../scripts/dashboard.ts'
import { MONITORING, find, render } from './helm.ts'
import { promtool } from './promtool.ts'

const TESTS = fileURLToPath(new URL('./fixtures/alerts.test.yaml', import.meta.url))

const dir = await mkdtemp(join(tmpdir(), 'wrc-promtool-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const rule = find(await render(MONITORING), 'PrometheusRule')
await writeFile(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }))
const alertNames: string[] = rule.spec.groups.flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert))

t.test('promtool check rules accepts the rendered PrometheusRule', async (t) => {
  const r = await promtool(['check', 'rules', '--lint=all', '--lint-fatal', 'rules.yaml'], dir)
  t.equal(r.code, 0, r.code === 0 ? 'promtool exits 0' : r.stdout + r.stderr)
  t.match(r.stdout, `SUCCESS: ${alertNames.length} rules found`)
})

t.test('every alert has a test that fires it and one that must stay quiet', async (t) => {
  const tests = (parse(await readFile(TESTS, 'utf8')) as { tests: Array<{ name: string; alert_rule_test: Array<{ alertname: string; exp_alerts?: unknown[] }> }> }).tests
  for (const alert of alertNames) {
    const cases = tests.flatMap((test) => test.alert_rule_test.filter((c) => c.alertname === alert))
    t.ok(cases.some((c) => (c.exp_alerts?.length ?? 0) > 0), `${alert}: a case where it fires`)
    t.ok(cases.some((c) => (c.exp_alerts?.length ?? 0) === 0), `${alert}: a case where it stays quiet`)
  }
  const tested = new Set(tests.flatMap((test) => test.alert_rule_test.map((c) => c.alertname)))
  t.same([...tested].filter((a) => !alertNames.includes(a)), [], 'no test of an alert the chart does not ship')
})

t.test('promtool test rules: each alert fires on its series and stays quiet on the others', async (t) => {
  await copyFile(TESTS, join(dir, 'alerts.test.yaml'))
  const r = await promtool(['test', 'rules', 'alerts.test.yaml'], dir)
  t.equal(r.code, 0, r.code === 0 ? 'promtool exits 0' : r.stdout + r.stderr)
  t.match(r.stdout, /SUCCESS/)
})

t.test('a broken alert fails promtool test rules (the tests can fail)', async (t) => {
  const broken = structuredClone(rule.spec.groups)
  const noLeader = broken.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules).find((r: { alert: string }) => r.alert === 'WorkerRuntimeNoLeader')
  noLeader.expr = noLeader.expr.replace('!= 1', '> 1')
  const other = await mkdtemp(join(tmpdir(), 'wrc-promtool-broken-'))
  t.teardown(() => rm(other, { recursive: true, force: true }))
  await writeFile(join(other, 'rules.yaml'), stringify({ groups: broken }))
  await copyFile(TESTS, join(other, 'alerts.test.yaml'))
  const r = await promtool(['test', 'rules', 'alerts.test.yaml'], other)
  t.equal(r.code, 1)
  t.match(r.stdout + r.stderr, /WorkerRuntimeNoLeader/, 'promtool names the alert whose expectation failed')
})

t.test('every dashboard query is valid PromQL', async (t) => {
  const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8'))
  const fill = (expr: string) => expr.replaceAll('$__rate_interval', '2m').replaceAll('$namespace', 'agentteams-system').replaceAll('$job', 'worker-runtime-controller')
  const rules = dashboard.panels
    .filter((p: { targets?: unknown[] }) => p.targets)
    .flatMap((p: { id: number; targets: Array<{ refId: string; expr: string }> }) => p.targets.map((q) => ({ record: `dashboard:panel_${p.id}:${q.refId.toLowerCase()}`, expr: fill(q.expr) })))
  t.ok(rules.length >= 18, `${rules.length} queries`)
  await writeFile(join(dir, 'dashboard-queries.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }))
  const r = await promtool(['check', 'rules', 'dashboard-queries.yaml'], dir)
  t.equal(r.code, 0, r.code === 0 ? 'promtool exits 0' : r.stdout + r.stderr)
  t.match(r.stdout, `SUCCESS: ${rules.length} rules found`)
})
