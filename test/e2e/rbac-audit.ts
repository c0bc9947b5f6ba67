// A second kube-apiserver on the control plane's etcd (an HA pair, as in any real cluster) that the
// RBAC proof's controller talks to. It differs from the harness's server in two flags only:
// the OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift and other hardened
// clusters: blockOwnerDeletion needs `update` on workers/finalizers), and an audit log of every
// request the controller's ServiceAccount makes, so a test sees each refused request as the API
// server recorded it. The harness has no extra-flags option; the flags are read from the running
// kube-apiserver (/proc/<pid>/cmdline) so both stay identical otherwise.

import { readFileSync } from 'node:fs'
import { closeSync, openSync, readSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { createApiClient, type ApiClient } from '../../localcluster/api-client.ts'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { freePort, LOOPBACK } from '../../localcluster/ports.ts'
import { startProcess } from '../../localcluster/processes.ts'

/** One request of the audited user that the API server answered 403. */
export interface Refusal {
  verb: string
  /** `resource` or `resource/subresource`, with the API group: `workers/status.agentteams.io`. */
  resource: string
  namespace: string | undefined
  name: string | undefined
  message: string
}

/** Reads the audit log incrementally: every call sees only lines written since the last. */
export class AuditLog {
  readonly path: string
  #offset = 0
  #pending = ''

  constructor(path: string) {
    this.path = path
  }

  /** Forgets everything written so far (the start of a run). */
  skipToEnd(): void {
    this.refusals()
  }

  /** The refusals written since the previous call (synchronous: usable in a poll's abortIf). */
  refusals(): Refusal[] {
    let fd: number
    try {
      fd = openSync(this.path, 'r')
    } catch {
      return []
    }
    const chunk = Buffer.alloc(1 << 16)
    try {
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, this.#offset)
        if (n <= 0) break
        this.#offset += n
        this.#pending += chunk.subarray(0, n).toString('utf8')
      }
    } finally {
      closeSync(fd)
    }
    const lines = this.#pending.split('\n')
    this.#pending = lines.pop() ?? ''
    const out: Refusal[] = []
    for (const line of lines) {
      if (line.trim() === '') continue
      const event = JSON.parse(line)
      if (event.responseStatus?.code !== 403) continue
      const ref = event.objectRef ?? {}
      const resource = `${ref.resource ?? event.requestURI}${ref.subresource ? `/${ref.subresource}` : ''}${ref.apiGroup ? `.${ref.apiGroup}` : ''}`
      out.push({ verb: event.verb, resource, namespace: ref.namespace, name: ref.name, message: String(event.responseStatus?.message ?? '') })
    }
    return out
  }
}

export interface AuditedApiserver {
  /** https://127.0.0.1:<port> (the harness's serving certificate covers it). */
  url: string
  /** Admin client of this server. */
  api: ApiClient
  audit: AuditLog
  stop(): Promise<void>
}

/** The running kube-apiserver's command line, from /proc. */
function apiserverCommandLine(cp: ControlPlane): string[] {
  for (const pid of cp.pids) {
    let argv: string[]
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')
    } catch {
      continue
    }
    const at = argv.findIndex((a) => a.endsWith('kube-apiserver'))
    if (at >= 0) return argv.slice(at)
  }
  throw new Error('start audited kube-apiserver: no running kube-apiserver among the control plane pids')
}

/** Starts the audited server (see the file header), auditing requests of `username`. */
export async function startAuditedApiserver(cp: ControlPlane, dir: string, username: string): Promise<AuditedApiserver> {
  const [command, ...base] = apiserverCommandLine(cp)
  const port = await freePort()
  const policy = join(dir, 'audit-policy.yaml')
  const log = join(dir, 'audit.log')
  await writeFile(policy, JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    // One event per request, when it is answered (watches too, when they end or are refused).
    omitStages: ['RequestReceived', 'ResponseStarted'],
    rules: [{ level: 'Metadata', users: [username] }, { level: 'None' }],
  }))
  const args = [
    ...base.filter((a) => !a.startsWith('--secure-port=') && !a.startsWith('--cert-dir=')),
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'apiserver')}`,
    '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${log}`,
    // Each event is written before the response goes out, so a refusal is in the file when the client sees it.
    '--audit-log-mode=blocking',
  ]
  const child = startProcess({ name: 'kube-apiserver (audited)', command: command as string, args, logFile: join(dir, 'kube-apiserver-audited.log') })
  const admin = parse(cp.kubeconfig).users[0].user
  const url = `https://${LOOPBACK}:${port}`
  const api = createApiClient({
    server: url,
    caPem: cp.caPem,
    certPem: Buffer.from(admin['client-certificate-data'], 'base64').toString(),
    keyPem: Buffer.from(admin['client-key-data'], 'base64').toString(),
  })
  try {
    await pollUntil('the audited kube-apiserver /readyz', async () => {
      if (child.hasExited()) throw new Error(`it exited:\n${child.logTail(20)}`)
      const r = await api.request('GET', '/readyz').catch(() => undefined)
      return r?.status === 200 ? true : undefined
    }, { timeoutMs: 120_000, intervalMs: 250, abortIf: () => (child.hasExited() ? `exited:\n${child.logTail(20)}` : undefined) })
  } catch (error) {
    api.close()
    await child.stop()
    throw error
  }
  return {
    url,
    api,
    audit: new AuditLog(log),
    stop: async () => {
      api.close()
      await child.stop()
    },
  }
}
