// The webhook application factory: a fastify instance with POST /mutate-workers and
// POST /validate-workers, hardened at the edge (7 MiB bodies, keep-alive beyond the API server's
// 90 s, no per-request logs). It neither listens nor reads the environment: webhook-server.ts does.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https'
import { LogController, fastify, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from '../config/config.ts'
import { MAX_REQUEST_BYTES, admissionWebhook } from './admission-route.ts'
import type { WebhookMetrics } from './metrics.ts'
import { type ImageSettings, workerImages } from '../api/images.ts'
import { mutateWorker } from './mutate-worker.ts'
import { validateWorker } from './validate-worker.ts'

/**
 * Longer than the API server's 90 s idle keep-alive (Go's http.DefaultTransport), so the server
 * never closes a connection the client is about to reuse (Pepr PR #3056; docs/reconcile.md, docs/admission.md).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 95_000
/** controller-runtime's ReadHeaderTimeout (pkg/webhook/server.go): 32 s. */
export const HEADERS_TIMEOUT_MS = 32_000
/** A whole request; above the 30 s maximum `timeoutSeconds` of a webhook configuration. */
export const REQUEST_TIMEOUT_MS = 60_000

/** Webhook paths, as the webhook configurations of the Helm chart name them. */
export const MUTATE_PATH = '/mutate-workers'
export const VALIDATE_PATH = '/validate-workers'

export interface ServerDeps {
  config: Pick<Config, 'defaultBackendRuntime' | 'sandboxEnabled' | 'resourcePrefix' | keyof ImageSettings>
  log: Logger
  metrics: WebhookMetrics
  /** TLS options (tls.ts `tlsServerOptions`); without them the app serves plain HTTP (tests only). */
  https?: HttpsServerOptions
}

/** The webhook app's fastify type. */
export type WebhookApp = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, Logger>

/**
 * Once `close()` starts, every response carries `Connection: close`, so a keep-alive connection
 * ends after its in-flight request instead of idling for KEEP_ALIVE_TIMEOUT_MS and holding the
 * close open.
 */
function closeConnectionsWhenDraining(app: WebhookApp): void {
  let draining = false
  app.addHook('preClose', (done) => {
    draining = true
    done()
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })
}

/** Builds the webhook app; call `listen` on it (or `inject` for a test without sockets). */
export function buildServer(deps: ServerDeps): WebhookApp {
  const app = fastify({
    ...(deps.https ? { https: deps.https } : {}),
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_REQUEST_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // While closing, a request on an open connection is still answered (with Connection: close)
    // instead of a bare 503: a 503 is no AdmissionReview, so the API server would apply the
    // failurePolicy to a user's request. Go's http.Server.Shutdown behaves the same way.
    return503OnClosing: false,
  }) as WebhookApp
  app.server.headersTimeout = HEADERS_TIMEOUT_MS
  closeConnectionsWhenDraining(app)

  const { config, log, metrics } = deps
  const defaults = { defaultBackendRuntime: config.defaultBackendRuntime, sandboxEnabled: config.sandboxEnabled, resourcePrefix: config.resourcePrefix, images: workerImages(config) }
  app.register(admissionWebhook, {
    name: 'mutate-workers',
    path: MUTATE_PATH,
    handle: (request) => mutateWorker(request, defaults),
    metrics,
    log,
  })
  app.register(admissionWebhook, {
    name: 'validate-workers',
    path: VALIDATE_PATH,
    handle: (request) => validateWorker(request, defaults),
    metrics,
    log,
  })
  return app
}
