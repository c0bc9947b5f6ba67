// The project's real webhook server (server/webhook-server.ts) started in the test process for an
// end-to-end suite: a fresh CA and serving certificate (SAN 127.0.0.1, localhost) in a temporary
// directory, loopback on a free port, logs kept quiet. The apiserver then calls it over real TLS.

import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { createServingCertificates, writeServingCertificates } from '../../certs/certs.ts'
import { loadConfig } from '../../config/config.ts'
import { startWebhookServer, type WebhookServer } from '../../server/webhook-server.ts'
import { onProcessExit, removeDirNow } from '../../localcluster/exit-cleanup.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import type { WebhookEndpoint } from '../../localcluster/webhooks.ts'

/** A running webhook server and what a webhook configuration needs to call it. */
export interface TestWebhookServer {
  server: WebhookServer
  endpoint: WebhookEndpoint
  /** Metrics the server recorded (admission decisions, latency). */
  registry: Registry
  close(): Promise<void>
}

/**
 * Starts the webhook server on 127.0.0.1 with a free port. `env` adds configuration variables
 * (e.g. AGENTTEAMS_DEFAULT_BACKEND_RUNTIME); address, port and certificate files are set here.
 */
export async function startTestWebhookServer(env: Record<string, string> = {}): Promise<TestWebhookServer> {
  const dir = await createOwnedTempDir('wrc-webhook-')
  const unregister = onProcessExit(() => removeDirNow(dir))
  const certs = await createServingCertificates()
  await writeServingCertificates(dir, certs)
  const config = loadConfig({
    AGENTTEAMS_LOG_LEVEL: 'warn',
    ...env,
    AGENTTEAMS_WEBHOOK_ADDRESS: '127.0.0.1',
    AGENTTEAMS_WEBHOOK_PORT: '0',
    AGENTTEAMS_TLS_CERT_FILE: join(dir, 'tls.crt'),
    AGENTTEAMS_TLS_KEY_FILE: join(dir, 'tls.key'),
  })
  const registry = new Registry()
  const server = await startWebhookServer({ config, log: pino({ level: config.logLevel }), registry })
  return {
    server,
    endpoint: { url: server.url, caPem: certs.ca.cert },
    registry,
    close: async () => {
      await server.close()
      await rm(dir, { recursive: true, force: true })
      unregister()
    },
  }
}
