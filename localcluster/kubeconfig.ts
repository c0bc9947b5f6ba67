// The admin kubeconfig of a control plane (docs/local-cluster.md): the apiserver URL, its CA and
// the admin client certificate embedded as data, one context. Used by kubectl and by
// @kubernetes/client-node (`KubeConfig.loadFromString`).

import { writeFile } from 'node:fs/promises'
import { stringify } from 'yaml'

/** Cluster, user and context name written into the kubeconfig. */
export const KUBECONFIG_CONTEXT = 'worker-runtime-controller'

export interface KubeconfigOptions {
  server: string
  caPem: string
  clientCertPem: string
  clientKeyPem: string
  /** Default namespace of the context (optional). */
  namespace?: string
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64')

/** Renders the kubeconfig as YAML. */
export function renderKubeconfig(options: KubeconfigOptions): string {
  const context: Record<string, string> = { cluster: KUBECONFIG_CONTEXT, user: 'admin' }
  if (options.namespace) context['namespace'] = options.namespace
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBECONFIG_CONTEXT, cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(options.clientCertPem), 'client-key-data': b64(options.clientKeyPem) } }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context }],
    'current-context': KUBECONFIG_CONTEXT,
  })
}

/** Writes `kubeconfig` to `path` readable by the owner only (it holds a client key). */
export async function writeKubeconfig(path: string, kubeconfig: string): Promise<void> {
  await writeFile(path, kubeconfig, { mode: 0o600 })
}
