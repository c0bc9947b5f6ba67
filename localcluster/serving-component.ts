// Starts a Kubernetes component that serves its health over HTTPS (kube-controller-manager,
// kube-scheduler) on a free loopback port, and waits until GET /healthz says ok. The component
// makes its own self-signed serving certificate, so the probe trusts it blindly (loopback only).
// A port taken between the pick and the bind is retried with a fresh one.

import { get } from 'node:https'
import { ADDRESS_IN_USE } from './etcd.ts'
import { pollUntil } from './polling.ts'
import { freePort, LOOPBACK } from './ports.ts'
import { startProcess, type ManagedProcess } from './processes.ts'

/** Attempts when the picked port was taken before the component could bind it. */
const PORT_ATTEMPTS = 5

export interface ServingComponentOptions {
  name: string
  binary: string
  /** The command line for a given secure port. */
  args: (securePort: number) => string[]
  logFile: string
  /** Health deadline (default 120 s: first starts on a busy 2-core machine are slow). */
  timeoutMs?: number
}

function healthz(port: number): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const req = get({ host: LOOPBACK, port, path: '/healthz', rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve(res.statusCode === 200 && text.trim() === 'ok' ? true : undefined))
    })
    req.on('timeout', () => req.destroy(new Error('GET /healthz timed out')))
    req.on('error', reject)
  })
}

/** Starts the component and resolves once it is healthy; stops it again when that fails. */
export async function startServingComponent(options: ServingComponentOptions): Promise<ManagedProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const child = startProcess({ name: options.name, command: options.binary, args: options.args(port), logFile: options.logFile })
    try {
      await pollUntil(`${options.name} https://${LOOPBACK}:${port}/healthz`, () => healthz(port), {
        timeoutMs: options.timeoutMs ?? 120_000,
        intervalMs: 250,
        abortIf: () => (child.hasExited() ? `${options.name} exited` : undefined),
      })
      return child
    } catch (cause) {
      await child.stop()
      const tail = child.logTail(40)
      if (ADDRESS_IN_USE.test(tail) && attempt < PORT_ATTEMPTS) continue
      throw new Error(`start ${options.name}: ${(cause as Error).message}\n--- ${options.name} log (tail) ---\n${tail}`, { cause })
    }
  }
}
