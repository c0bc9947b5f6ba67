// Starts etcd for one control plane (docs/local-cluster.md, envtest's defaults): loopback client
// and peer URLs on the given ports, a data directory, no fsync (test data is disposable; the local
// mode keeps its data and accepts the same trade-off), ready when GET /health says healthy.

import { get } from 'node:http'
import { join } from 'node:path'
import { pollUntil } from './polling.ts'
import { startProcess, type ManagedProcess } from './processes.ts'
import { LOOPBACK } from './ports.ts'

export interface EtcdOptions {
  binary: string
  dataDir: string
  logDir: string
  clientPort: number
  peerPort: number
  /** Readiness deadline (default 60 s). */
  timeoutMs?: number
}

/** A running etcd. */
export interface Etcd {
  process: ManagedProcess
  /** http://127.0.0.1:<clientPort>, for --etcd-servers. */
  clientUrl: string
}

/** A listener could not bind its port; the caller retries with fresh ports. */
export class PortInUseError extends Error {
  override name = 'PortInUseError'
}

/** Text both etcd and kube-apiserver log when a port is taken. */
export const ADDRESS_IN_USE = /address already in use/i

function healthy(url: string): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}/health`, { timeout: 5_000 }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(text) ? true : undefined))
    })
    req.on('timeout', () => req.destroy(new Error('GET /health timed out')))
    req.on('error', reject)
  })
}

/** Starts etcd and waits until it reports healthy; stops it again when that fails. */
export async function startEtcd(options: EtcdOptions): Promise<Etcd> {
  const clientUrl = `http://${LOOPBACK}:${options.clientPort}`
  const peerUrl = `http://${LOOPBACK}:${options.peerPort}`
  const child = startProcess({
    name: 'etcd',
    command: options.binary,
    logFile: join(options.logDir, 'etcd.log'),
    args: [
      `--name=default`,
      `--data-dir=${options.dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
    ],
  })
  try {
    await pollUntil(`etcd ${clientUrl}/health`, () => healthy(clientUrl), {
      timeoutMs: options.timeoutMs ?? 60_000,
      abortIf: () => (child.hasExited() ? 'etcd exited' : undefined),
    })
  } catch (cause) {
    await child.stop()
    const tail = child.logTail()
    if (ADDRESS_IN_USE.test(tail)) throw new PortInUseError(`start etcd ${clientUrl}: port in use`, { cause })
    throw new Error(`start etcd ${clientUrl}: ${(cause as Error).message}\n--- etcd log (tail) ---\n${tail}`, { cause })
  }
  return { process: child, clientUrl }
}
