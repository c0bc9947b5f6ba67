// The README's "Install with Helm" section keeps its promises: every option set it documents
// renders with the real helm, the webhook configuration its emergency procedure deletes is the one
// the chart installs, and every metric it tells you to alert on exists in the code.

import t from 'tap'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as serverMetrics from '../../server/metrics.ts'
import * as reconcilerMetrics from '../../reconciler/controller/metrics.ts'
import * as apiClientMetrics from '../../reconciler/controller/kube-metrics.ts'
import { CHART_DIR, RELEASE, find, helm, parseObjects } from './helm.ts'

const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')
const start = readme.indexOf('\n## Install with Helm')
const section = readme.slice(start, readme.indexOf('\n## ', start + 1) === -1 ? undefined : readme.indexOf('\n## ', start + 1))

t.test('the section exists with install, upgrade, uninstall, the emergency procedure and alerts', async (t) => {
  t.ok(start >= 0)
  for (const heading of ['### Install', '### Upgrade', '### Uninstall', '### When the webhook is down', '### Metrics to alert on']) t.match(section, `\n${heading}\n`)
})

t.test('every documented option set renders', async (t) => {
  const table = section.slice(section.indexOf('Documented option sets'), section.indexOf('\n\n', section.indexOf('| what | values |')))
  const rows = [...table.matchAll(/^\| [^|]+ \| ([^|]+) \|$/gm)].map((m) => m[1] as string).filter((cell) => cell !== 'values' && !cell.startsWith('---'))
  t.ok(rows.length >= 8, `${rows.length} option rows`)
  for (const cell of rows) {
    for (const [, values] of cell.matchAll(/`([^`]+)`/g)) {
      const r = await helm(['template', RELEASE, CHART_DIR, '--namespace', 'agentteams-system', '--set', values as string])
      t.equal(r.code, 0, `--set ${values}${r.code === 0 ? '' : `: ${r.stderr}`}`)
    }
  }
})

t.test('the emergency procedure deletes the validating webhook configuration the chart installs', async (t) => {
  const rendered = await helm(['template', RELEASE, CHART_DIR, '--namespace', 'agentteams-system'])
  const name = find(parseObjects(rendered.stdout), 'ValidatingWebhookConfiguration').metadata.name
  t.match(section, `kubectl delete validatingwebhookconfiguration ${name}\n`)
  t.match(section, 'failed calling webhook "validate.workers.agentteams.io"')
})

t.test('every metric named in the section exists', async (t) => {
  const known = new Set(Object.entries({ ...serverMetrics, ...reconcilerMetrics, ...apiClientMetrics }).filter(([k]) => k.startsWith('METRIC_')).map(([, v]) => v as string))
  const named = new Set([...section.matchAll(/worker_runtime_controller_[a-z_]+/g)].map((m) => m[0].replace(/_bucket$/, '')))
  t.ok(named.size >= 8, `${named.size} metrics named`)
  for (const metric of named) t.ok(known.has(metric), `${metric} is exported by server/metrics.ts, reconciler/controller/metrics.ts or reconciler/controller/kube-metrics.ts`)
})
