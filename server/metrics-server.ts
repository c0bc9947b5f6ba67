// The /metrics server, apart from the probes as kubebuilder scaffolds it: HTTPS on the metrics port
// (the serving certificate, reloaded when it changes) and every request judged by the API server
// (metrics-auth.ts) — or, with AGENTTEAMS_METRICS_SECURE=false, plain HTTP for anyone (local mode).

import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { LogController, fastify, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/config.ts'
import type { MetricsAuth } from './metrics-auth.ts'
import { readServingPair, tlsServerOptions, watchServingCertificate } from './tls.ts'

export const METRICS_PATH = '/metrics'

export interface MetricsAppDeps {
  log: Logger
  registry: Registry
  /** Judges every request; absent: anyone may read (plain-HTTP mode). */
  auth?: MetricsAuth | undefined
  /** TLS options (tls.ts `tlsServerOptions`); absent: plain HTTP. */
  https?: ReturnType<typeof tlsServerOptions> | undefined
}

/** The metrics app's fastify type. */
export type MetricsApp = FastifyInstance<HttpServer | HttpsServer, IncomingMessage, ServerResponse, Logger>

/** The response bodies of controller-runtime's filter, so scrapers' error pages read the same. */
const REFUSAL_TEXT: Record<401 | 403 | 500, (user: string | undefined) => string> = {
  401: () => 'Unauthorized\n',
  403: (user) => `Authorization denied for user ${user}\n`,
  500: () => 'Authentication or authorization failed: the API server could not be asked (see the controller log)\n',
}

/** Builds the metrics app (not listening); `inject` works on it without a socket. */
export function buildMetricsServer(deps: MetricsAppDeps): MetricsApp {
  const app = fastify({
    ...(deps.https ? { https: deps.https } : {}),
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as MetricsApp
  const { auth, log, registry } = deps
  if (auth) {
    // Every path and method is judged, as the filter wraps the whole handler in controller-runtime.
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      const verdict = await auth.check(request.headers.authorization, request.method.toLowerCase(), path)
      if (verdict.status === 200) return
      if (verdict.status === 500) log.warn({ path, user: verdict.user, reason: verdict.reason }, 'metrics request could not be authorized')
      else log.debug({ path, user: verdict.user, status: verdict.status, reason: verdict.reason }, 'metrics request refused')
      if (verdict.status === 401) reply.header('www-authenticate', 'Bearer')
      reply.code(verdict.status).type('text/plain; charset=utf-8')
      return reply.send(REFUSAL_TEXT[verdict.status](verdict.user))
    })
  }
  app.get(METRICS_PATH, async (_, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
  return app
}

/** A running metrics server. */
export interface MetricsServer {
  port: number
  /** `https://…/metrics` or `http://…/metrics`. */
  url: string
  secure: boolean
  close(): Promise<void>
}

export interface StartMetricsOptions {
  config: Pick<Config, 'metricsAddress' | 'metricsPort' | 'metricsSecure' | 'tlsCertFile' | 'tlsKeyFile'>
  log: Logger
  registry: Registry
  /** Required when `config.metricsSecure`. */
  auth?: MetricsAuth | undefined
}

function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return '127.0.0.1'
  return address.includes(':') ? `[${address}]` : address
}

/**
 * Listens on `config.metricsAddress:config.metricsPort`. Secure: HTTPS with the pair in
 * `config.tlsCertFile`/`tlsKeyFile` (reloaded on change) and `auth` on every request; rejects when
 * the pair does not load or `auth` is missing. Otherwise plain HTTP without authentication.
 */
export async function startMetricsServer(options: StartMetricsOptions): Promise<MetricsServer> {
  const { config, log, registry } = options
  let app: MetricsApp
  let closeWatcher = (): void => {}
  if (config.metricsSecure) {
    if (!options.auth) throw new Error('secure metrics need the API server to authorize scrapes: no authorizer given')
    const files = { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
    const pair = await readServingPair(files).catch((error: Error) => {
      throw new Error(`load metrics serving certificate ${files.certFile}, ${files.keyFile}: ${error.message}`, { cause: error })
    })
    app = buildMetricsServer({ log, registry, auth: options.auth, https: tlsServerOptions(pair) })
    await app.listen({ host: config.metricsAddress, port: config.metricsPort, listenTextResolver: () => 'metrics server listening' })
    const watcher = watchServingCertificate(app.server as HttpsServer, files, { log, current: pair })
    closeWatcher = () => watcher.close()
  } else {
    app = buildMetricsServer({ log, registry })
    await app.listen({ host: config.metricsAddress, port: config.metricsPort, listenTextResolver: () => 'metrics server listening' })
  }
  const port = (app.server.address() as AddressInfo).port
  return {
    port,
    secure: config.metricsSecure,
    url: `${config.metricsSecure ? 'https' : 'http'}://${urlHost(config.metricsAddress)}:${port}${METRICS_PATH}`,
    async close() {
      closeWatcher()
      await app.close()
    },
  }
}
