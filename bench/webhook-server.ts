// The benchmark's subject: the real webhook server (startWebhookServer, production settings, info
// logs to /dev/null) in a child process of bench/webhook.ts, so the load generator does not share
// its event loop. Reports its port over IPC.

import { pino } from 'pino'
import { Registry } from 'prom-client'
import { loadConfig } from '../config/config.ts'
import { startWebhookServer } from '../server/webhook-server.ts'

const [certFile, keyFile] = process.argv.slice(2) as [string, string]
const config = { ...loadConfig({}), webhookAddress: '127.0.0.1', webhookPort: 0, tlsCertFile: certFile, tlsKeyFile: keyFile }
const log = pino({ level: 'info' }, pino.destination('/dev/null'))
const server = await startWebhookServer({ config, log, registry: new Registry() })
process.send?.({ port: server.port })
process.on('disconnect', () => void server.close().then(() => process.exit(0)))
