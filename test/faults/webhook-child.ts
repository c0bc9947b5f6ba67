// The real webhook server (server/webhook-server.ts, production settings) in a child process of a
// fault test, so the load or fuzz generator never shares its event loop and a crash shows as an
// exit. Reports `{ port, pid }` over IPC; answers `{ type: 'memory' }` with its memory after a full
// GC (start it with --expose-gc). Logs JSON lines (info) to stdout for the test's secret scan.
//   node --expose-gc webhook-child.ts <tls.crt> <tls.key>

import { pino } from 'pino'
import { Registry } from 'prom-client'
import { loadConfig } from '../../config/config.ts'
import { startWebhookServer } from '../../server/webhook-server.ts'

const [certFile, keyFile] = process.argv.slice(2) as [string, string]
const config = { ...loadConfig({}), webhookAddress: '127.0.0.1', webhookPort: 0, tlsCertFile: certFile, tlsKeyFile: keyFile }
const server = await startWebhookServer({ config, log: pino({ level: 'info' }), registry: new Registry() })

/** What the parent reads to bound memory: RSS and V8 heap after a full collection. */
export interface ChildMemory { rss: number; heapUsed: number; external: number }

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'memory') return
  ;(globalThis as { gc?: () => void }).gc?.()
  const { rss, heapUsed, external } = process.memoryUsage()
  process.send?.({ type: 'memory', rss, heapUsed, external } satisfies ChildMemory & { type: string })
})
process.send?.({ type: 'ready', port: server.port, pid: process.pid })
process.on('disconnect', () => void server.close().then(() => process.exit(0)))
