// Rewrites the README's alert table (between its alerts-table markers) from the chart's
// files/alerts.yaml, the one source of the alerts the PrometheusRule ships:
// `node scripts/readme-alerts.ts`. A test compares the README with this output.

import { readFileSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'

/** The alerts file the chart's PrometheusRule copies. */
export const ALERTS_FILE = new URL('../manifests/chart/worker-runtime-controller/files/alerts.yaml', import.meta.url)

/** One alerting rule as files/alerts.yaml holds it (Prometheus rule-file format). */
export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels: { severity: string }
  annotations: { summary: string; description: string }
}

/** The rule groups of files/alerts.yaml. */
export function loadAlertGroups(): Array<{ name: string; rules: AlertRule[] }> {
  return (parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> }).groups
}

/** A table cell: pipes escaped so PromQL's `a|b` stays in its column. */
const cell = (text: string): string => text.replaceAll('|', '\\|')

/** The Markdown table of every alert: name, when it fires, expression, for, severity. */
export function alertsTable(): string {
  const rows = loadAlertGroups().flatMap((g) => g.rules).map((r) =>
    `| \`${r.alert}\` | ${cell(r.annotations.summary)} | \`${cell(r.expr)}\` | ${r.for ?? '—'} | ${r.labels.severity} |`)
  return ['| alert | fires when | expression | for | severity |', '|---|---|---|---|---|', ...rows].join('\n')
}

const START = /<!-- alerts-table:start[^>]*-->/
const END = '<!-- alerts-table:end -->'

/** The README text with its alert table replaced by the current one. */
export function withAlertsTable(readme: string): string {
  const start = readme.match(START)
  const end = readme.indexOf(END)
  if (!start || start.index === undefined || end < 0) throw new Error('README.md: alerts-table markers not found')
  return readme.slice(0, start.index + start[0].length) + '\n' + alertsTable() + '\n' + readme.slice(end)
}

if (import.meta.main) {
  const path = new URL('../README.md', import.meta.url)
  writeFileSync(path, withAlertsTable(readFileSync(path, 'utf8')))
}
