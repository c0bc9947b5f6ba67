// `npm run bench:admission`: what the webhooks cost a user of the API server. On a real control
// plane (the test harness), N Workers are created and then updated through kube-apiserver, 20
// requests in flight, once with both webhook configurations installed (the real webhook server in
// its own process, called over TLS) and once without them, in the same run. The order is
// without, with, with, without (N/2 each) so drift on a shared machine falls on both sides. Then
// the same with one request in flight (BENCH_LIGHT_N Workers), where the overhead is pure latency.
// Prints p50/p99 per request and the overhead of the webhooks, then one JSON line.
//   BENCH_N=2000  BENCH_CONCURRENCY=20  BENCH_LIGHT_N=500 (0: skip)

import { performance } from 'node:perf_hooks'
import type { ApiClient } from '../localcluster/api-client.ts'
import { WEBHOOK_DENIAL_PREFIX, waitForBackendRuleEnforced, waitForBackendRuleLifted, waitForDefaulting } from '../localcluster/admission-probes.ts'
import { startControlPlane } from '../localcluster/control-plane.ts'
import { installCrds } from '../localcluster/crds.ts'
import { MANIFESTS } from '../localcluster/manifests.ts'
import { createNamespace } from '../test/harness/namespaces.ts'
import { pollUntil } from '../localcluster/polling.ts'
import { registerWebhooks, unregisterWebhooks } from '../localcluster/webhooks.ts'
import { workerManifest } from '../localcluster/workers.ts'
import { workerPath } from '../api/worker.ts'
import { startWebhookProcess } from '../test/faults/webhook-process.ts'
import { summarize } from './latency.ts'
import { describeMachine, machineLine } from './machine.ts'
import { forEachLimit } from './pool.ts'

const N = Number(process.env['BENCH_N'] ?? 2000)
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 20)
/** A second, unloaded measurement: one request in flight, so the overhead is latency, not lost throughput. */
const LIGHT_N = Number(process.env['BENCH_LIGHT_N'] ?? 500)
/** Target of the issue: the webhooks add at most 10% to the no-webhook p50. */
const TARGET_OVERHEAD = 0.1
const CONFIGURATIONS = [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook]

type Mode = 'with' | 'without'
type Op = 'create' | 'update'
type Summary = ReturnType<typeof summarize>

/** The figures of one measurement (the JSON line carries them). */
interface Measurement {
  n: number
  concurrency: number
  rows: Array<{ op: Op | 'all'; without: Summary; with: Summary; overheadP50: number; overheadP99: number }>
  rps: Record<Mode, number>
  webhookServer: { calls: number; callsPerRequest: number; meanMs: number }
}

/** A Worker as users write it: no backendRuntime or state, so the mutating webhook has defaults to add. */
const manifest = (ns: string, name: string) => workerManifest(ns, name, { runtime: 'openclaw', image: 'ghcr.io/agentteams/openclaw:1.8.2', env: { LOG_LEVEL: 'info', OPENCLAW_MODEL: 'qwen-max', TZ: 'Europe/Berlin' } })

/** Creates then updates `count` Workers in a fresh namespace; latency per request in ms. */
async function phase(api: ApiClient, admin: ApiClient, mode: Mode, index: number, count: number, concurrency: number): Promise<Record<Op, number[]>> {
  const ns = await createNamespace(admin, `adm-${mode}-${index}`)
  const names = Array.from({ length: count }, (_, i) => `w-${String(i).padStart(5, '0')}`)
  const out: Record<Op, number[]> = { create: [], update: [] }
  const timed = async (op: Op, call: () => ReturnType<ApiClient['request']>, ok: number) => {
    const started = performance.now()
    const r = await call()
    out[op].push(performance.now() - started)
    if (r.status !== ok) throw new Error(`${op} (${mode} webhooks): HTTP ${r.status} ${r.text.slice(0, 300)}`)
  }
  await forEachLimit(names, concurrency, (name) => timed('create', () => api.request('POST', workerPath(ns), manifest(ns, name)), 201))
  await forEachLimit(names, concurrency, (name) =>
    timed('update', () => api.request('PATCH', workerPath(ns, name), { spec: { env: { LOG_LEVEL: 'debug', OPENCLAW_MODEL: 'qwen-max', TZ: 'Europe/Berlin' } } }, { contentType: 'application/merge-patch+json' }), 200))
  return out
}

async function main(): Promise<void> {
  const machine = describeMachine()
  console.log(machineLine(machine))
  const cp = await startControlPlane({ onProgress: (line) => console.log(`# ${line}`) })
  const webhook = await startWebhookProcess()
  // The harness's admin client: keep-alive, one connection per request in flight, like a controller's.
  const api = cp.api
  try {
    await installCrds(cp.api, [MANIFESTS.workerCrd])
    const endpoint = { url: `https://127.0.0.1:${webhook.port}`, caPem: webhook.certs.ca.cert }
    const probes = await createNamespace(cp.api, 'admission-probe')
    const probeName = 'defaulting-off-probe'
    const enable = async () => {
      await registerWebhooks(cp.api, CONFIGURATIONS, endpoint)
      await waitForDefaulting(cp.api, probes)
      await waitForBackendRuleEnforced(cp.api, probes, WEBHOOK_DENIAL_PREFIX)
    }
    const disable = async () => {
      await unregisterWebhooks(cp.api, CONFIGURATIONS)
      await waitForBackendRuleLifted(cp.api, probes)
      await pollUntil('the mutating webhook to stop defaulting', async () => {
        const r = await cp.api.request('POST', `${workerPath(probes)}?dryRun=All`, workerManifest(probes, probeName))
        return r.status === 201 && r.body?.spec?.backendRuntime === undefined ? true : undefined
      })
    }
    let index = 0
    let enabled = false
    /** One measurement: warm-up, then without/with/with/without, `n` Workers per mode, `concurrency` in flight. */
    const measure = async (n: number, concurrency: number): Promise<Measurement> => {
      const samples: Record<Mode, Record<Op, number[]>> = { with: { create: [], update: [] }, without: { create: [], update: [] } }
      const elapsed: Record<Mode, number> = { with: 0, without: 0 }
      const own = { calls: 0, seconds: 0 }
      const warmup = Math.max(50, Math.round(n / 10))
      for (const [mode, count, measured] of [['without', warmup, false], ['with', warmup, false], ['without', n / 2, true], ['with', n / 2, true], ['with', n / 2, true], ['without', n / 2, true]] as const) {
        if (mode === 'with' && !enabled) await enable()
        if (mode === 'without' && enabled) await disable()
        enabled = mode === 'with'
        const started = performance.now()
        const before = await webhook.latency()
        const result = await phase(api, cp.api, mode, index++, Math.round(count), concurrency)
        if (!measured) continue
        for (const [name, after] of Object.entries(await webhook.latency())) {
          own.calls += after.count - (before[name]?.count ?? 0)
          own.seconds += after.seconds - (before[name]?.seconds ?? 0)
        }
        elapsed[mode] += performance.now() - started
        samples[mode].create.push(...result.create)
        samples[mode].update.push(...result.update)
      }
      const rows = (['create', 'update', 'all'] as const).map((op) => {
        const pick = (mode: Mode) => (op === 'all' ? [...samples[mode].create, ...samples[mode].update] : samples[mode][op])
        const without = summarize(pick('without'))
        const withWebhooks = summarize(pick('with'))
        return { op, without, with: withWebhooks, overheadP50: (withWebhooks.p50 - without.p50) / without.p50, overheadP99: (withWebhooks.p99 - without.p99) / without.p99 }
      })
      const rate = (mode: Mode) => Math.round((samples[mode].create.length + samples[mode].update.length) / (elapsed[mode] / 1000))
      const requests = samples.with.create.length + samples.with.update.length
      return { n, concurrency, rows, rps: { without: rate('without'), with: rate('with') }, webhookServer: { calls: own.calls, callsPerRequest: own.calls / requests, meanMs: (own.seconds / Math.max(1, own.calls)) * 1000 } }
    }
    const print = (m: Measurement) => {
      const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
      console.log(`\n${m.n} creates and ${m.n} updates each way, ${m.concurrency} in flight`)
      console.log(`${'request'.padEnd(8)}${'no webhooks p50/p99 ms'.padStart(24)}${'webhooks p50/p99 ms'.padStart(22)}${'p50 overhead'.padStart(14)}${'p99 overhead'.padStart(14)}`)
      for (const r of m.rows) console.log(`${r.op.padEnd(8)}${`${r.without.p50} / ${r.without.p99}`.padStart(24)}${`${r.with.p50} / ${r.with.p99}`.padStart(22)}${pct(r.overheadP50).padStart(14)}${pct(r.overheadP99).padStart(14)}`)
      const all = m.rows.find((r) => r.op === 'all')!
      console.log(`throughput: ${m.rps.without} req/s without webhooks, ${m.rps.with} req/s with them; the webhooks add ${(all.with.p50 - all.without.p50).toFixed(2)} ms to the p50, of which the webhook server's own time is ${m.webhookServer.meanMs.toFixed(2)} ms per call × ${m.webhookServer.callsPerRequest.toFixed(1)} calls (its latency histogram).`)
    }
    const loaded = await measure(N, CONCURRENCY)
    print(loaded)
    const light = LIGHT_N > 0 ? await measure(LIGHT_N, 1) : undefined
    if (light) print(light)
    const all = loaded.rows.find((r) => r.op === 'all')!
    console.log(`Target: p50 overhead ≤ ${TARGET_OVERHEAD * 100}% at ${CONCURRENCY} in flight: ${all.overheadP50 <= TARGET_OVERHEAD ? 'met' : 'missed'}.`)
    console.log(JSON.stringify({ machine, ...loaded, light: light ?? null, targetMet: all.overheadP50 <= TARGET_OVERHEAD }))
  } finally {
    await webhook.stop()
    await cp.stop()
  }
}

await main()
