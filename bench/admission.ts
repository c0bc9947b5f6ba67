// `npm run bench:admission`: what the webhooks cost a user of the API server. On a real control
// plane (the test harness), N Workers are created and then updated through kube-apiserver, 20
// requests in flight, once with both webhook configurations installed (the real webhook server in
// its own process, called over TLS) and once without them, in the same run. The order is
// without, with, with, without (N/2 each) so drift on a shared machine falls on both sides.
// Prints p50/p99 per request and the overhead of the webhooks, then one JSON line.
//   BENCH_N=2000  BENCH_CONCURRENCY=20

import { performance } from 'node:perf_hooks'
import type { ApiClient } from '../test/harness/api-client.ts'
import { WEBHOOK_DENIAL_PREFIX, waitForBackendRuleEnforced, waitForBackendRuleLifted, waitForDefaulting } from '../test/harness/admission-probes.ts'
import { startControlPlane } from '../test/harness/control-plane.ts'
import { installCrds } from '../test/harness/crds.ts'
import { MANIFESTS } from '../test/harness/manifests.ts'
import { createNamespace } from '../test/harness/namespaces.ts'
import { pollUntil } from '../test/harness/polling.ts'
import { registerWebhooks, unregisterWebhooks } from '../test/harness/webhooks.ts'
import { workerManifest, workerPath } from '../test/harness/workers.ts'
import { startWebhookProcess } from '../test/faults/webhook-process.ts'
import { summarize } from './latency.ts'
import { describeMachine, machineLine } from './machine.ts'
import { forEachLimit } from './pool.ts'

const N = Number(process.env['BENCH_N'] ?? 2000)
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 20)
/** Requests per mode before measuring (connections, JIT, API server caches), discarded. */
const WARMUP = Math.max(50, Math.round(N / 10))
/** Target of the issue: the webhooks add at most 10% to the no-webhook p50. */
const TARGET_OVERHEAD = 0.1
const CONFIGURATIONS = [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook]

type Mode = 'with' | 'without'
type Op = 'create' | 'update'

/** A Worker as users write it: no backendRuntime or state, so the mutating webhook has defaults to add. */
const manifest = (ns: string, name: string) => workerManifest(ns, name, { runtime: 'openclaw', image: 'ghcr.io/agentteams/openclaw:1.8.2', env: { LOG_LEVEL: 'info', OPENCLAW_MODEL: 'qwen-max', TZ: 'Europe/Berlin' } })

/** Creates then updates `count` Workers in a fresh namespace; latency per request in ms. */
async function phase(api: ApiClient, admin: ApiClient, mode: Mode, index: number, count: number): Promise<Record<Op, number[]>> {
  const ns = await createNamespace(admin, `adm-${mode}-${index}`)
  const names = Array.from({ length: count }, (_, i) => `w-${String(i).padStart(5, '0')}`)
  const out: Record<Op, number[]> = { create: [], update: [] }
  const timed = async (op: Op, call: () => ReturnType<ApiClient['request']>, ok: number) => {
    const started = performance.now()
    const r = await call()
    out[op].push(performance.now() - started)
    if (r.status !== ok) throw new Error(`${op} (${mode} webhooks): HTTP ${r.status} ${r.text.slice(0, 300)}`)
  }
  await forEachLimit(names, CONCURRENCY, (name) => timed('create', () => api.request('POST', workerPath(ns), manifest(ns, name)), 201))
  await forEachLimit(names, CONCURRENCY, (name) =>
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
    const samples: Record<Mode, Record<Op, number[]>> = { with: { create: [], update: [] }, without: { create: [], update: [] } }
    const elapsed: Record<Mode, number> = { with: 0, without: 0 }
    /** The webhook server's own time (its latency histogram) over the measured phases with webhooks. */
    const own = { calls: 0, seconds: 0 }
    let index = 0
    let enabled = false
    for (const [mode, count, measured] of [['without', WARMUP, false], ['with', WARMUP, false], ['without', N / 2, true], ['with', N / 2, true], ['with', N / 2, true], ['without', N / 2, true]] as const) {
      if (mode === 'with' && !enabled) await enable()
      if (mode === 'without' && enabled) await disable()
      enabled = mode === 'with'
      const started = performance.now()
      const before = await webhook.latency()
      const result = await phase(api, cp.api, mode, index++, Math.round(count))
      if (!measured) continue
      for (const [name, after] of Object.entries(await webhook.latency())) {
        own.calls += after.count - (before[name]?.count ?? 0)
        own.seconds += after.seconds - (before[name]?.seconds ?? 0)
      }
      elapsed[mode] += performance.now() - started
      samples[mode].create.push(...result.create)
      samples[mode].update.push(...result.update)
      console.log(`# ${mode} webhooks: ${result.create.length} creates, ${result.update.length} updates`)
    }

    const rows = (['create', 'update', 'all'] as const).map((op) => {
      const pick = (mode: Mode) => (op === 'all' ? [...samples[mode].create, ...samples[mode].update] : samples[mode][op])
      const without = summarize(pick('without'))
      const withWebhooks = summarize(pick('with'))
      return { op, without, with: withWebhooks, overheadP50: (withWebhooks.p50 - without.p50) / without.p50, overheadP99: (withWebhooks.p99 - without.p99) / without.p99 }
    })
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
    console.log(`\n${'request'.padEnd(8)}${'no webhooks p50/p99 ms'.padStart(24)}${'webhooks p50/p99 ms'.padStart(22)}${'p50 overhead'.padStart(14)}${'p99 overhead'.padStart(14)}`)
    for (const r of rows) console.log(`${r.op.padEnd(8)}${`${r.without.p50} / ${r.without.p99}`.padStart(24)}${`${r.with.p50} / ${r.with.p99}`.padStart(22)}${pct(r.overheadP50).padStart(14)}${pct(r.overheadP99).padStart(14)}`)
    const rate = (mode: Mode) => Math.round((samples[mode].create.length + samples[mode].update.length) / (elapsed[mode] / 1000))
    console.log(`throughput: ${rate('without')} req/s without webhooks, ${rate('with')} req/s with them (${CONCURRENCY} in flight). Target: p50 overhead ≤ ${TARGET_OVERHEAD * 100}%.`)
    const all = rows.find((r) => r.op === 'all')!
    const ownMs = (own.seconds / Math.max(1, own.calls)) * 1000
    const requests = samples.with.create.length + samples.with.update.length
    console.log(`the webhook server's own time: ${own.calls} calls (${(own.calls / requests).toFixed(1)} per request), mean ${ownMs.toFixed(2)} ms each (its latency histogram, receipt to answer); added p50 per request ${(all.with.p50 - all.without.p50).toFixed(2)} ms.`)
    console.log(JSON.stringify({ machine, n: N, concurrency: CONCURRENCY, rows, rps: { without: rate('without'), with: rate('with') }, webhookServer: { calls: own.calls, callsPerRequest: own.calls / requests, meanMs: ownMs }, targetMet: all.overheadP50 <= TARGET_OVERHEAD }))
  } finally {
    await webhook.stop()
    await cp.stop()
  }
}

await main()
