// Starts two listeners of the webhook side — the HTTPS admission server and the plain-HTTP probe
// server — for the CLI, the tests and the local control plane (metrics-server.ts starts the third).
// Signals and the environment stay with the caller (bin/, config/).

import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/config.ts'
import { buildServer } from './app.ts'
import { type HealthCheck, buildProbeServer } from './health.ts'
import { createWebhookMetrics } from './metrics.ts'
import { readServingPair, tlsServerOptions, watchServingCertificate } from './tls.ts'

/** A running webhook server. */
export interface WebhookServer {
  /** The bound port (the real one when `config.webhookPort` was 0). */
  port: number
  /** `https://<address>:<port>`; a wildcard bind address is given as 127.0.0.1 (a SAN of the local certificate). */
  url: string
  /** True while listening and not closing: the readiness check "webhook TLS listening". */
  isReady(): boolean
  /** Stops accepting, lets in-flight requests finish (at most DRAIN_TIMEOUT_MS), then closes. */
  close(): Promise<void>
}

export interface StartOptions {
  config: Config
  log: Logger
  registry: Registry
}

/**
 * How long `close()` lets in-flight requests finish before cutting connections: controller-runtime's
 * default graceful shutdown timeout (pkg/manager/internal.go), 30 s.
 */
export const DRAIN_TIMEOUT_MS = 30_000

function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return '127.0.0.1'
  return address.includes(':') ? `[${address}]` : address
}

/**
 * Listens on `config.webhookAddress:config.webhookPort` with the pair in `config.tlsCertFile` /
 * `config.tlsKeyFile`, reloading it when the files change. Rejects when the files are missing or
 * do not load, or the port cannot be bound.
 */
export async function startWebhookServer({ config, log, registry }: StartOptions): Promise<WebhookServer> {
  const files = { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
  const pair = await readServingPair(files).catch((error: Error) => {
    throw new Error(`load serving certificate ${files.certFile}, ${files.keyFile}: ${error.message}`, { cause: error })
  })
  const app = buildServer({ config, log, metrics: createWebhookMetrics(registry), https: tlsServerOptions(pair) })
  await app.listen({ host: config.webhookAddress, port: config.webhookPort, listenTextResolver: () => 'webhook server listening' })
  const watcher = watchServingCertificate(app.server, files, { log, current: pair })
  const port = (app.server.address() as AddressInfo).port
  let closing: Promise<void> | undefined

  return {
    port,
    url: `https://${urlHost(config.webhookAddress)}:${port}`,
    isReady: () => closing === undefined && app.server.listening,
    close() {
      closing ??= (async () => {
        watcher.close()
        const deadline = setTimeout(() => app.server.closeAllConnections(), DRAIN_TIMEOUT_MS)
        deadline.unref()
        await app.close()
        clearTimeout(deadline)
      })()
      return closing
    },
  }
}

export interface ProbeServer {
  port: number
  close(): Promise<void>
}

/**
 * Listens on `config.healthAddress:config.healthPort` with /healthz and /readyz. `checks` is read on
 * every probe (see health.ts `HealthCheck`).
 */
export async function startProbeServer(options: Omit<StartOptions, 'registry'> & { checks: HealthCheck[] }): Promise<ProbeServer> {
  const { config, log, checks } = options
  const app = buildProbeServer({ log, checks })
  await app.listen({ host: config.healthAddress, port: config.healthPort, listenTextResolver: () => 'probe server listening' })
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
}
