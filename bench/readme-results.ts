// Renders the README's generated figures from bench/results.json: the Performance results (machine,
// date, the three benchmarks, targets met or missed) and the Reliability table (the RESULT lines of
// test/faults). `npm run bench:all` measures and calls this; `node bench/readme-results.ts` only
// re-renders from the saved file, as scripts/readme-config.ts does for the configuration table.

import { readFileSync, writeFileSync } from 'node:fs'
import type { Machine } from './machine.ts'

export const RESULTS_FILE = new URL('./results.json', import.meta.url)
const README = new URL('../README.md', import.meta.url)

/** What bench/all.ts saves: each benchmark's final JSON line, and each fault test's RESULT line. */
export interface Results {
  machine?: Machine
  webhook?: any
  admission?: any
  reconcile?: any
  faults?: Record<string, any>
}

const n = (x: number | undefined, digits = 0) => (x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }))
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
const machineText = (m: Machine | undefined) => (m ? `${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}; other engineers' test runs share it` : 'not measured yet')
/** Per benchmark what may differ from the machine line: its load, and its machine and date when it ran elsewhere or later. */
const loadText = (m: Machine | undefined, top?: Machine) => {
  if (!m) return 'load unknown'
  const elsewhere = top && (m.cpu !== top.cpu || m.date !== top.date) ? `measured ${m.date} on ${m.cores} cores (${m.cpu}); ` : ''
  return `${elsewhere}1-minute load ${m.load1} at its start`
}

function webhookTable(w: any): string[] {
  if (!w) return ['*Webhook alone: not measured yet.*']
  const row = (name: string, c: any) => `| ${name} | ${n(c?.rps)} | ${n(c?.p50Ms)} | ${n(c?.p99Ms)} | ${n(c?.fixedRate?.p99Ms)} |`
  return [
    `**The webhook alone** (\`npm run bench:webhook\`; autocannon, HTTPS keep-alive, 10 connections, a 4.9 KB UPDATE review; ${loadText(w.machine)})`,
    '',
    '| server | req/s | p50 ms | p99 ms | p99 ms at a fixed 2,000 req/s |',
    '|---|---:|---:|---:|---:|',
    row('bare `node:https`, constant answer (the limit)', w.bare),
    row('bare `node:https` + `JSON.parse` (the least a webhook does)', w.bareJson),
    row('**validate** (`/validate-workers`)', w.validate),
    row('**mutate** (`/mutate-workers`, JSON Patch)', w.mutate),
    '',
    `validate reaches ${n((w.validate?.rps / w.bare?.rps) * 100)}% of the bare server and ${n((w.validate?.rps / w.bareJson?.rps) * 100)}% of bare + JSON.parse; latency resolution 1 ms.`,
  ]
}

function admissionTable(a: any): string[] {
  if (!a) return ['*Through the API server: not measured yet.*']
  const all = (m: any) => m.rows.find((r: any) => r.op === 'all')
  const row = (label: string, r: any) => `| ${label} | ${n(r.without.p50, 2)} / ${n(r.without.p99, 2)} | ${n(r.with.p50, 2)} / ${n(r.with.p99, 2)} | ${pct(r.overheadP50)} | ${pct(r.overheadP99)} |`
  const added = (m: any) => `${n(all(m).with.p50 - all(m).without.p50, 2)} ms, of which the webhook server's own time is ${n(m.webhookServer.meanMs, 2)} ms × ${n(m.webhookServer.callsPerRequest)} calls`
  return [
    `**Through the API server** (\`npm run bench:admission\`; Workers created, then updated, through kube-apiserver with both webhooks installed — called over TLS in the webhook server's own process — and without them, in the same run; ${loadText(a.machine)})`,
    '',
    '| request | no webhooks p50 / p99 ms | webhooks p50 / p99 ms | p50 overhead | p99 overhead |',
    '|---|---:|---:|---:|---:|',
    ...a.rows.map((r: any) => row(`${r.op === 'all' ? '**all**' : r.op}, ${n(a.n)} each way, ${a.concurrency} in flight`, r)),
    ...(a.light ? [row(`all, ${n(a.light.n)} each way, ${a.light.concurrency} in flight`, all(a.light))] : []),
    '',
    `${a.concurrency} in flight: ${n(a.rps.without)} req/s without the webhooks, ${n(a.rps.with)} with them; they add ${added(a)} (its latency histogram).` +
      (a.light ? ` One in flight: they add ${added(a.light)}.` : '') +
      ` The rest is kube-apiserver's side: encoding each review, the TLS round trips, applying the patch.`,
    `Target: p50 overhead ≤ 10% — **${all(a).overheadP50 <= 0.1 ? 'met' : `missed by ${((all(a).overheadP50 - 0.1) * 100).toFixed(0)} points`}** (${pct(all(a).overheadP50)} at ${a.concurrency} in flight${a.light ? `, ${pct(all(a.light).overheadP50)} at 1` : ''}).`,
  ]
}

function reconcileTable(r: any, top?: Machine): string[] {
  if (!r) return ['*Reconcile: not measured yet.*']
  const def = r.defaultConcurrency
  // Older results compared the default with one higher concurrency.
  const cs: number[] = r.concurrencies ?? [...new Set([def, r.highConcurrency])].sort((a, b) => a - b)
  const run = (row: any, c: number) => row.runs.find((x: any) => x.concurrency === c)
  const name = (c: number) => `controller, ${c} at a time${c === def ? ' (default)' : ''}`
  const lines = [
    `**Reconcile** (\`npm run bench:reconcile\`; N sandbox Workers applied at once by ${r.applyConcurrency} clients; time until every SandboxClaim exists with its deps written and read back; the controller in its own process; ${r.rounds ?? 1} round(s) per size, floor and controllers interleaved, medians shown; ${loadText(r.machine, top)})`,
    '',
    `| Workers | floor s | ${cs.map((c) => `${name(c)} s | × floor`).join(' | ')} | API requests / Worker (floor) | RSS MiB (peak) |`,
    `|---:|---:|${cs.map(() => '---:|---:|').join('')}---:|---:|`,
  ]
  for (const row of r.rows) {
    const ratio = (x: any) => (x ? `${(x.ms / row.floorMs).toFixed(2)}×` : '–')
    const cells = cs.map((c) => { const x = run(row, c); return `${x ? n(x.ms / 1000, 1) : '–'} | ${ratio(x)}` }).join(' | ')
    const main = run(row, def) ?? row.runs.at(-1)
    lines.push(`| ${n(row.n)} | ${n(row.floorMs / 1000, 1)} | ${cells} | ${n(main.requestsPerWorker, 1)} (${n(row.floorRequestsPerWorker, 1)}) | ${main.rssMiB} (${main.peakRssMiB}) |`)
  }
  /** A row measured at one concurrency only: its time in that concurrency's column. */
  const oneRun = (label: string, x: any, requests: string) =>
    `| ${label} | – | ${cs.map((c) => (c === x.concurrency ? `${n(x.ms / 1000, 1)} | –` : '– | –')).join(' | ')} | ${requests} | ${x.rssMiB} (${x.peakRssMiB}) |`
  const limitText = (x: any) => (x.memoryLimitMiB ? `in a ${x.memoryLimitMiB} MiB memory cgroup (the chart's limit; heap limit ${x.heapLimitMiB} MiB)` : `no memory limit (heap limit ${n(x.heapLimitMiB)} MiB from this host's RAM)`)
  if (r.rss) lines.push(oneRun(`${n(r.rss.n)}, ${limitText(r.rss)}`, r.rss, n(r.rss.requestsPerWorker, 1)))
  const restart = r.rssRestart
  if (restart) lines.push(oneRun(`${n(restart.n)}, a new controller started over them in the same limit (a restart or failover), until each was reconciled once`, restart, n(restart.requestsPerWorker, 2)))
  if (r.rssUnlimited) lines.push(oneRun(`${n(r.rssUnlimited.n)}, ${limitText(r.rssUnlimited)}`, r.rssUnlimited, n(r.rssUnlimited.requestsPerWorker, 1)))
  const at1000 = r.rows.find((row: any) => row.n === 1000)
  const cpuRow = at1000 ?? r.rows.at(-1)
  if (cpuRow?.floorCpuMsPerWorker) {
    // Where the two cores went: CPU milliseconds per Worker of every process on the machine.
    const runs = cs.map((c) => run(cpuRow, c)?.cpuMsPerWorker)
    const names = [...new Set([...Object.keys(cpuRow.floorCpuMsPerWorker), ...runs.flatMap((x) => Object.keys(x ?? {}))])]
    const cell = (x: Record<string, number> | undefined, key: string) => (x && key in x ? n(x[key]!, 1) : '–')
    const sum = (x: Record<string, number> | undefined) => (x ? n(Object.values(x).reduce((p, q) => p + q, 0), 1) : '–')
    lines.push('', `CPU time per Worker at ${n(cpuRow.n)} Workers, in ms, by process (from the first Worker create to the last claim; the median round's floor and controller runs):`, '')
    lines.push(`| process | floor | ${cs.map(name).join(' | ')} |`, `|---|---:|${cs.map(() => '---:|').join('')}`)
    for (const key of names) lines.push(`| ${key} | ${cell(cpuRow.floorCpuMsPerWorker, key)} | ${runs.map((x) => cell(x, key)).join(' | ')} |`)
    lines.push(`| **all** | ${sum(cpuRow.floorCpuMsPerWorker)} | ${runs.map(sum).join(' | ')} |`)
  }
  lines.push('')
  const atDefault = at1000 && run(at1000, def) ? run(at1000, def).ms / at1000.floorMs : undefined
  if (atDefault !== undefined) {
    const perRound = (c: number) => (at1000.samplesMs?.[c] ?? []).map((ms: number, i: number) => `${(ms / at1000.floorSamplesMs[i]).toFixed(2)}×`).join(', ')
    const others = cs.filter((c) => c !== def && run(at1000, c)).map((c) => `${(run(at1000, c).ms / at1000.floorMs).toFixed(2)}× at ${c}`)
    const rounds = at1000.samplesMs ? ` (round by round at the default: ${perRound(def)})` : ''
    lines.push(`Target: ≤ 1.5× the floor at 1,000 Workers — **${atDefault <= 1.5 ? 'met' : 'missed'}**: ${atDefault.toFixed(2)}× at the default concurrency (${def})${rounds}${others.length > 0 ? `; ${others.join(', ')}` : ''}.`)
  }
  const rssVerdict = (x: any) => (x.peakRssMiB <= 250 ? 'met' : `missed by ${x.peakRssMiB - 250} MiB`)
  if (r.rss) {
    const as = (x: any) => `peak ${x.peakRssMiB} MiB; after a full GC the heap holds ${x.heapAfterGcMiB} MiB live of ${x.heapTotalAfterGcMiB} MiB committed`
    lines.push(`Target: RSS ≤ 250 MiB with ${n(r.rss.n)} Workers — under the chart's memory limit (${r.rss.memoryLimitMiB ? `${r.rss.memoryLimitMiB} MiB` : 'none'}) **${rssVerdict(r.rss)}** (${as(r.rss)})` +
      (restart ? `; a controller restarting over them in that limit **${rssVerdict(restart)}** (peak ${restart.peakRssMiB} MiB, settled in ${n(restart.ms / 1000, 1)} s with ${n(restart.requestsPerWorker, 2)} API requests and ${n(restart.storeOpsPerWorker, 1)} store operations per Worker)` : '') +
      (r.rssUnlimited ? `; with no memory limit on this ${n(r.machine?.memoryGiB ?? 0, 1)} GiB host **${rssVerdict(r.rssUnlimited)}** (${as(r.rssUnlimited)}).` : '.'))
  }
  return lines
}

/** The Performance block between the bench-results markers. */
export function renderPerformance(results: Results): string {
  return [`Machine: ${machineText(results.machine)}.`, '', ...webhookTable(results.webhook), '', ...admissionTable(results.admission), '', ...reconcileTable(results.reconcile, results.machine)].join('\n')
}

/** The Reliability table between the reliability markers, from the fault tests' RESULT lines. */
export function renderReliability(results: Results): string {
  const f = results.faults ?? {}
  const row = (name: string, what: string, figures: (x: any) => string) => `| ${what} | ${f[name] ? figures(f[name]) : 'not run yet'} | \`test/faults/${name}.test.ts\` |`
  const sum = (names: string[], field: string) => names.reduce((total, name) => total + (Number(f[name]?.[field]) || 0), 0)
  const bursts = ['apiserver-restart', 'storage-outage', 'leader-loss']
  const lost = sum(bursts, 'duplicateClaims') + sum(['apiserver-restart'], 'orphanedDeps') + sum(['storage-outage'], 'claimsWithoutDeps') + sum(['cert-rotation'], 'failed') + sum(['webhook-fuzz'], 'problems')
  return [
    `In the last run: ${n(sum(['webhook-fuzz'], 'cases'))} bad inputs tried, ${n(sum(['cert-rotation'], 'requests'))} requests held through 3 certificate rotations, ${n(sum(bursts, 'workers'))} Workers driven through an API server restart, an object store outage and a leader kill, and the API server frozen for ${n(sum(['silent-watch'], 'pausedMs') / 1000)} s — **${lost === 0 ? 'nothing lost or doubled' : `${lost} failures`}** (failed requests, malformed answers, duplicate claims, claims without deps, orphaned deps).`,
    '',
    '| fault or input | what happened (figures of the last `npm run bench:all`) | test |',
    '|---|---|---|',
    row('webhook-fuzz', 'Bad input: generated AdmissionReviews (wrong types, missing fields, nesting to 100,000, strings to 6 MiB, invalid UTF-8, truncated JSON, odd numbers, wrong content types, `__proto__` keys)', (x) =>
      `${n(x.cases)} cases in ${x.kinds} families, ${n(x.bytes / 1048576)} MiB sent: **${x.problems} malformed answers, 5xx or dropped connections**; ${x.cutOff} bodies over the 7 MiB limit cut off while still being sent (refused; kube-apiserver cannot send one); server alive, heap after GC ${x.heapGrowthMiB >= 0 ? '+' : ''}${x.heapGrowthMiB} MiB; no secret in its logs`),
    row('cert-rotation', 'Serving certificate rotated 3 ways (rename, kubelet `..data` swap with a new CA, in-place overwrite) under 6 clients', (x) =>
      `${n(x.requests)} requests, **${x.failed} failed**; new connections got the new certificate after ${x.pickupMs.map((ms: number) => `${n(ms)} ms`).join(', ')}; a half-written pair kept the old one ${x.keptOnBadPair} time(s)`),
    row('apiserver-restart', 'kube-apiserver restarted during a burst of sandbox Workers (some deleted meanwhile), real MinIO', (x) =>
      `${x.workers} Workers, ${x.deleted} deleted: ${x.converged} converged, ${x.claimsBeforeRestart} claims before the restart; **${x.duplicateClaims} duplicate claims, ${x.orphanedDeps} orphaned deps**, nothing left of the deleted ones; ${x.createRetries} user creates retried`),
    row('storage-outage', 'Object store (MinIO) down for 10 s during a burst', (x) =>
      `${x.workers} Workers: ${x.blocked} showed DepsMaterialized=False StoreUnavailable, all ${x.converged} converged after recovery; **${x.claimsWithoutDeps} claims without deps** (bucket read at every claim create), ${x.duplicateClaims} duplicates`),
    row('leader-loss', 'Leader process SIGKILLed during a burst, standby process takes over', (x) =>
      `${x.workers} Workers: ${x.claimsByKilledLeader} claims by the killed leader, ${x.claimsByStandby} by the standby (leading after ${n(x.takeoverMs / 1000, 1)} s, lease 4 s); **${x.duplicateClaims} duplicate claims**, every status current`),
    row('silent-watch', 'kube-apiserver frozen with SIGSTOP for 4× the staleness limit', (x) =>
      `frozen ${n(x.pausedMs / 1000)} s with a ${x.staleSeconds} s limit: last-event age metric reached ${x.maxLastEventAgeS} s, ${x.relistsDuringPause} verification relists sent, ${x.informerRestarts} informer restart(s) after the thaw, ${x.relistMisses} missed events; a Worker applied during the hang converged`),
  ].join('\n')
}

function replaceBetween(text: string, name: string, body: string): string {
  const start = new RegExp(`<!-- ${name}:start[^>]*-->`).exec(text)
  const end = text.indexOf(`<!-- ${name}:end -->`)
  if (!start || end < 0) throw new Error(`README.md: ${name} markers not found`)
  return text.slice(0, start.index + start[0].length) + '\n' + body + '\n' + text.slice(end)
}

/** The README text with both generated blocks replaced. */
export function withResults(readme: string, results: Results): string {
  return replaceBetween(replaceBetween(readme, 'bench-results', renderPerformance(results)), 'reliability', renderReliability(results))
}

export function readResults(): Results {
  try {
    return JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Results
  } catch {
    return {}
  }
}

/** Rewrites the README's generated blocks from `results`. */
export function writeReadme(results: Results): void {
  writeFileSync(README, withResults(readFileSync(README, 'utf8'), results))
}

if (import.meta.main) writeReadme(readResults())
