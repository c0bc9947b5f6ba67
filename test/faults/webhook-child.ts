// The real webhook server (server/webhook-server.ts, production settings) in a child process of a
// fault test, so the load or fuzz generator never shares its event loop and a crash shows as an
// exit. Reports `{ port, pid }` over IPC; answers `{ type: 'memory' }` with its memory after a full
// GC (start it with --expose-gc), and `{ type: 'latency' }` with its own admission latency totals
// (the histogram /metrics serves). Logs JSON lines (info) to stdout for the test's secret scan.
//   node --expose-gc webhook-child.ts <tls.crt> <tls.key>

import { pino } from 'pino'
import { Registry } from 'prom-client'
import { loadConfig } from '../../config/config.ts'
import { METRIC_LATENCY } from '../../server/metrics.ts'
import { startWebhookServer } from '../../server/webhook-server.ts'

const [certFile, keyFile] = process.argv.slice(2) as [string, string]
const config = { ...loadConfig({}), webhookAddress: '127.0.0.1', webhookPort: 0, tlsCertFile: certFile, tlsKeyFile: keyFile }
const registry = new Registry()
const server = await startWebhookServer({ config, log: pino({ level: 'info' }), registry })

/** What the parent reads to bound memory: RSS and V8 heap after a full collection. */
export interface ChildMemory { rss: number; heapUsed: number; external: number }

/** Requests answered and seconds spent, per webhook, from the server's own latency histogram. */
export type ChildLatency = Record<string, { count: number; seconds: number }>

async function latency(): Promise<ChildLatency> {
  const out: ChildLatency = {}
  const values = ((await registry.getSingleMetric(METRIC_LATENCY)?.get())?.values ?? []) as Array<{ value: number; labels: Record<string, unknown>; metricName?: string }>
  for (const v of values) {
    const webhook = String(v.labels['webhook'] ?? '')
    const entry = (out[webhook] ??= { count: 0, seconds: 0 })
    if (v.metricName?.endsWith('_count')) entry.count = v.value
    if (v.metricName?.endsWith('_sum')) entry.seconds = v.value
  }
  return out
}

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'latency') return void latency().then((totals) => process.send?.({ type: 'latency', totals }))
  if (message?.type !== 'memory') return
  ;(globalThis as { gc?: () => void }).gc?.()
  const { rss, heapUsed, external } = process.memoryUsage()
  process.send?.({ type: 'memory', rss, heapUsed, external } satisfies ChildMemory & { type: string })
})
process.send?.({ type: 'ready', port: server.port, pid: process.pid })
process.on('disconnect', () => void server.close().then(() => process.exit(0)))
