// Starts kube-apiserver for one control plane with envtest's flags (docs/local-cluster.md): RBAC,
// client-certificate authentication, service-account issuer and signing keys (TokenRequest works),
// the ServiceAccount admission plugin off unless a controller-manager creates the `default`
// ServiceAccounts it requires (nodes.ts). Ready when /readyz answers ok and the bootstrap
// controller has created namespace `default`.

import { get } from 'node:https'
import { join } from 'node:path'
import type { ApiClient } from './api-client.ts'
import { ADDRESS_IN_USE, PortInUseError } from './etcd.ts'
import type { ControlPlanePki } from './pki.ts'
import { pollUntil } from './polling.ts'
import { LOOPBACK } from './ports.ts'
import { startProcess, type ManagedProcess } from './processes.ts'

/** The Service CIDR envtest uses; no Service ever gets traffic here. */
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24'

export interface ApiserverOptions {
  binary: string
  pki: ControlPlanePki
  etcdUrl: string
  securePort: number
  certDir: string
  logDir: string
  /** Log file name inside logDir (default `kube-apiserver.log`; a restart writes its own). */
  logName?: string
  /** Readiness deadline (default 120 s: the first start on a busy 2-core machine is slow). */
  timeoutMs?: number
  /**
   * The ServiceAccount admission plugin, on in every real cluster: a Pod gets `default` when it
   * names none and is refused when its ServiceAccount does not exist. Needs the ServiceAccount
   * controller of kube-controller-manager (default false: envtest's setting).
   */
  serviceAccountAdmission?: boolean
}

/** A running kube-apiserver. */
export interface Apiserver {
  process: ManagedProcess
  /** https://127.0.0.1:<securePort> */
  url: string
}

/** The command-line flags, exported so a reader can see them in one place. */
export function apiserverArgs(options: ApiserverOptions): string[] {
  const url = `https://${LOOPBACK}:${options.securePort}`
  return [
    `--advertise-address=${LOOPBACK}`,
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${options.securePort}`,
    `--etcd-servers=${options.etcdUrl}`,
    `--cert-dir=${options.certDir}`,
    `--tls-cert-file=${options.pki.files.servingCert}`,
    `--tls-private-key-file=${options.pki.files.servingKey}`,
    `--client-ca-file=${options.pki.files.caCert}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=${url}/`,
    `--service-account-key-file=${options.pki.files.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${options.pki.files.serviceAccountSigningKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    ...(options.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
  ]
}

function readyz(url: string, caPem: string): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}/readyz`, { ca: caPem, timeout: 5_000 }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve(res.statusCode === 200 && text.trim() === 'ok' ? true : undefined))
    })
    req.on('timeout', () => req.destroy(new Error('GET /readyz timed out')))
    req.on('error', reject)
  })
}

/**
 * Starts kube-apiserver and waits until it is ready and namespace `default` exists (`client` must
 * point at the same URL); stops it again when that fails.
 */
export async function startApiserver(options: ApiserverOptions, client: ApiClient): Promise<Apiserver> {
  const url = `https://${LOOPBACK}:${options.securePort}`
  const child = startProcess({
    name: 'kube-apiserver',
    command: options.binary,
    args: apiserverArgs(options),
    logFile: join(options.logDir, options.logName ?? 'kube-apiserver.log'),
  })
  const timeoutMs = options.timeoutMs ?? 120_000
  const abortIf = (): string | undefined => (child.hasExited() ? 'kube-apiserver exited' : undefined)
  try {
    await pollUntil(`kube-apiserver ${url}/readyz`, () => readyz(url, options.pki.ca.cert), { timeoutMs, abortIf, intervalMs: 250 })
    await pollUntil(
      'namespace default',
      async () => ((await client.request('GET', '/api/v1/namespaces/default')).status === 200 ? true : undefined),
      { timeoutMs, abortIf },
    )
  } catch (cause) {
    await child.stop()
    const tail = child.logTail(40)
    if (ADDRESS_IN_USE.test(tail)) throw new PortInUseError(`start kube-apiserver ${url}: port in use`, { cause })
    throw new Error(`start kube-apiserver ${url}: ${(cause as Error).message}\n--- kube-apiserver log (tail) ---\n${tail}`, { cause })
  }
  return { process: child, url }
}
