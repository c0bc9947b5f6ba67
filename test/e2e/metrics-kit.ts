// What the secure-/metrics proofs share: ServiceAccount tokens from the real API server
// (TokenRequest), a kubeconfig that authenticates with one, a scrape over TLS trusting the serving
// CA, and the metrics server of cli/serve.ts started in process with the real judge, for
// rbac-kit.ts's scenario (the e2e test runs the whole controller process instead).

import { request } from 'node:https'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { stringify } from 'yaml'
import { KubeConfig } from '@kubernetes/client-node'
import type { ApiClient } from '../../localcluster/api-client.ts'
import { createKubeClient } from '../../reconciler/controller/kube.ts'
import { createMetricsAuth } from '../../server/metrics-auth.ts'
import { startMetricsServer, type MetricsServer } from '../../server/metrics-server.ts'

/** A TokenRequest token of ServiceAccount `namespace/name` (the ServiceAccount must exist). */
export async function serviceAccountToken(api: ApiClient, namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const response = await api.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds },
  })
  const token = response.body?.status?.token
  if (typeof token !== 'string') throw new Error(`TokenRequest for ${namespace}/${name}: HTTP ${response.status} ${response.text}`)
  return token
}

/** Creates ServiceAccount `namespace/name` (an existing one is fine). */
export async function createServiceAccount(api: ApiClient, namespace: string, name: string): Promise<void> {
  const response = await api.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } })
  if (response.status !== 201 && response.status !== 409) throw new Error(`create ServiceAccount ${namespace}/${name}: HTTP ${response.status} ${response.text}`)
}

/** A kubeconfig (YAML) for `server` trusting `caPem`, authenticating with bearer `token`. */
export function tokenKubeconfig(server: string, caPem: string, token: string, user = 'token-user'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'cluster', user } }],
    'current-context': user,
  })
}

/** One scrape's answer. */
export interface Scrape {
  status: number
  text: string
  headers: Record<string, string | string[] | undefined>
}

/** GET `url` over TLS trusting `ca`, with `Authorization: <authorization>` when given. */
export function scrape(url: string, ca: string, authorization?: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: authorization ? { authorization } : {}, timeout: 30_000 }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`scrape ${url}: no answer within 30 s`)))
    req.on('error', reject)
    req.end()
  })
}

/**
 * The secure metrics server of `serve`, in this process: HTTPS with the pair in `certDir`, every
 * scrape judged through the API server with `kubeconfig`'s credentials (the controller's).
 */
export async function startSecureMetrics(kubeconfig: string, certDir: string): Promise<MetricsServer & { stop(): Promise<void> }> {
  const config = new KubeConfig()
  config.loadFromString(kubeconfig)
  const kube = createKubeClient(config)
  const auth = createMetricsAuth({ client: { create: (path, body) => kube.request({ method: 'POST', path, body }) } })
  const server = await startMetricsServer({
    config: { metricsAddress: '127.0.0.1', metricsPort: 0, metricsSecure: true, tlsCertFile: `${certDir}/tls.crt`, tlsKeyFile: `${certDir}/tls.key` },
    log: pino({ level: 'silent' }),
    registry: new Registry(),
    auth,
  })
  return {
    ...server,
    async stop() {
      await server.close()
      await kube.close()
    },
  }
}
