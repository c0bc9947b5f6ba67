// The `serve` command: composes the webhook server, the reconciler, the probe and metrics servers
// and — when no cluster is configured — the embedded local control plane; then waits for SIGINT/SIGTERM and
// shuts down in order (readiness fails first, in-flight work drains, children stop).

import { access } from 'node:fs/promises'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { loadConfig, type Config } from '../config/config.ts'
import { KubeConfig } from '../reconciler/controller/client-node.ts'
import { startReconciler, type ReconcilerHandle } from '../reconciler/main.ts'
import { createDepsStore, depsStoreSettings } from '../reconciler/deps/settings.ts'
import { sandboxExtension, sandboxExtensionOptions } from '../reconciler/sandbox/extension.ts'
import { createKubeClient } from '../reconciler/controller/kube.ts'
import { observeApiRequests } from '../reconciler/controller/kube-metrics.ts'
import { createMetricsAuth } from '../server/metrics-auth.ts'
import { startMetricsServer, type MetricsServer } from '../server/metrics-server.ts'
import { startProbeServer, startWebhookServer, type WebhookServer } from '../server/webhook-server.ts'
import { generateCerts } from './certs.ts'
import { createLogger, createTerminalLogger } from './logger.ts'
import { detectCluster } from './cluster.ts'
import type { LocalControlPlane } from '../localcluster/local-mode.ts'

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false)
}

/**
 * Local runs bind loopback unless told otherwise (the generated certificate covers 127.0.0.1), and
 * serve /metrics over plain HTTP: on a laptop there is no scraper with a ServiceAccount token.
 */
function localDefaults(env: NodeJS.ProcessEnv, argv: readonly string[]): NodeJS.ProcessEnv {
  const out = { ...env }
  const flagged = (flag: string) => argv.some((a) => a === flag || a.startsWith(`${flag}=`))
  const local: Array<[string, string, string]> = [
    ['AGENTTEAMS_WEBHOOK_ADDRESS', '--webhook-address', '127.0.0.1'],
    ['AGENTTEAMS_HEALTH_ADDRESS', '--health-address', '127.0.0.1'],
    ['AGENTTEAMS_METRICS_ADDRESS', '--metrics-address', '127.0.0.1'],
    ['AGENTTEAMS_METRICS_SECURE', '--metrics-secure', 'false'],
  ]
  for (const [name, flag, value] of local) if (out[name] === undefined && !flagged(flag)) out[name] = value
  return out
}

/**
 * In a cluster, how long readiness stays failed before the listeners close, so the endpoint is
 * removed from the Service first (docs/operations.md; knative/pkg#1509 EOFs). Within the default
 * 30 s terminationGracePeriodSeconds together with the drain.
 */
const ENDPOINT_REMOVAL_DELAY_MS = 5_000

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

/** Runs until SIGINT/SIGTERM; returns the exit code. Throws ConfigError on invalid configuration. */
export async function serve(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cluster = detectCluster(env)
  const config: Config = loadConfig(cluster === 'local' ? localDefaults(env, argv) : env, argv)
  // Readable lines for a person at a terminal; JSON for everything else (log collectors, tests).
  const log = cluster === 'local' && process.stdout.isTTY ? await createTerminalLogger(config.logLevel) : createLogger(config.logLevel)
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  let shuttingDown = false

  if ((config.webhookEnabled || config.metricsSecure) && !(await exists(config.tlsCertFile)) && !(await exists(config.tlsKeyFile))) {
    if (cluster === 'in-cluster') {
      log.error({ certFile: config.tlsCertFile }, 'TLS certificate and key not found: mount the serving Secret (the Helm chart does)')
      return 1
    }
    await generateCerts({ dir: 'certs', dnsNames: [] })
    log.info({ dir: 'certs' }, 'generated a local CA and serving certificate')
  }

  const webhook: WebhookServer | undefined = config.webhookEnabled ? await startWebhookServer({ config, log, registry }) : undefined
  let local: LocalControlPlane | undefined
  try {
    if (cluster === 'local') {
      // Loaded only here, on demand: the local control plane is not in the image (localcluster/).
      const { startLocalControlPlane } = await import('../localcluster/local-mode.ts')
      local = await startLocalControlPlane({ log, webhook, caFile: 'certs/ca.crt' })
    }
  } catch (error) {
    log.error({ err: error }, 'could not start the local control plane')
    await webhook?.close()
    return 1
  }

  const kubeconfig = new KubeConfig()
  if (local) kubeconfig.loadFromString(local.kubeconfig)
  else kubeconfig.loadFromDefault()

  // The reviews behind secure /metrics, made with the controller's own credentials and counted in
  // the API client metrics like every other request.
  const reviews = config.metricsSecure ? createKubeClient(kubeconfig, { observe: observeApiRequests(registry) }) : undefined
  let metrics: MetricsServer
  try {
    const auth = reviews ? createMetricsAuth({ client: { create: (path, body) => reviews.request({ method: 'POST', path, body }) } }) : undefined
    metrics = await startMetricsServer({ config, log, registry, auth })
  } catch (error) {
    log.error({ err: error }, 'could not start the metrics server')
    await webhook?.close()
    await local?.close()
    return 1
  }

  let reconciler: ReconcilerHandle | undefined
  let closeStore = (): void => {}
  if (config.reconcilerEnabled) {
    const store = config.sandboxEnabled ? createDepsStore(depsStoreSettings(config)) : undefined
    closeStore = () => store?.close()
    const sandbox = store ? sandboxExtension(sandboxExtensionOptions(config, store)) : {}
    reconciler = await startReconciler({ config, log, registry, kubeconfig, ...sandbox })
  }

  const probes = await startProbeServer({
    config,
    log,
    checks: [
      { name: 'shutdown', check: () => (shuttingDown ? 'shutting down' : true) },
      ...(webhook ? [{ name: 'webhook', check: () => webhook.isReady() || 'webhook TLS server not listening' }] : []),
      ...(reconciler
        ? [
            { name: 'reconciler', check: () => reconciler.isReady() || 'caches not synced or leader unknown' },
            { name: 'reconciler-progress', kind: 'liveness' as const, check: () => reconciler.isLive() },
          ]
        : []),
    ],
  })

  if (webhook) log.info({ url: webhook.url }, 'serving admission webhooks')
  log.info({ port: probes.port }, 'serving /healthz and /readyz')
  if (metrics.secure) log.info({ url: metrics.url }, 'serving /metrics over HTTPS to callers the API server allows get on /metrics')
  else if (local) log.info({ url: metrics.url }, 'serving /metrics over plain HTTP without authentication (local mode)')
  else log.warn({ url: metrics.url }, 'serving /metrics over plain HTTP without authentication (AGENTTEAMS_METRICS_SECURE=false)')
  if (local) {
    local.printWelcome(process.stdout)
    process.stdout.write(metrics.secure
      ? `Metrics: ${metrics.url}   # HTTPS; send a token the API server allows get on /metrics\n`
      : `Metrics: curl ${metrics.url}   # plain HTTP, no authentication: local mode (in a cluster: HTTPS with a token)\n`)
  }

  const signal = await waitForSignal()
  log.info({ signal }, 'shutting down')
  shuttingDown = true
  if (cluster === 'in-cluster') await new Promise((resolve) => setTimeout(resolve, ENDPOINT_REMOVAL_DELAY_MS))
  await reconciler?.close()
  closeStore()
  await webhook?.close()
  await local?.close()
  await metrics.close()
  await reviews?.close()
  await probes.close()
  log.info('stopped')
  return 0
}
