// Starts and talks to webhook-child.ts: the real webhook server in its own process, with a fresh
// CA and serving certificate in a temporary directory. The fault tests read its memory over IPC,
// collect its log lines, and notice when it dies. The child exits with its parent (IPC disconnect).

import { type ChildProcess, fork } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createServingCertificates, type ServingCertificates, writeServingCertificates } from '../../certs/certs.ts'
import { onProcessExit, removeDirNow } from '../../localcluster/exit-cleanup.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import type { ChildLatency, ChildMemory } from './webhook-child.ts'

const CHILD = fileURLToPath(new URL('./webhook-child.ts', import.meta.url))

export interface WebhookProcess {
  readonly port: number
  readonly pid: number
  /** Directory holding ca.crt, tls.crt and tls.key (the files the server watches). */
  readonly dir: string
  readonly certs: ServingCertificates
  /** Every log line the server wrote so far. */
  readonly logs: string[]
  /** How the process ended, or undefined while it runs. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined
  /** Memory after a full GC in the child. */
  memory(): Promise<ChildMemory>
  /** The server's own admission latency totals, per webhook. */
  latency(): Promise<ChildLatency>
  stop(): Promise<void>
}

/** Forks the webhook server with fresh certificates; resolves once it listens. */
export async function startWebhookProcess(): Promise<WebhookProcess> {
  const dir = await createOwnedTempDir('wrc-faults-webhook-')
  const unregister = onProcessExit(() => removeDirNow(dir))
  const certs = await createServingCertificates()
  await writeServingCertificates(dir, certs)
  const child: ChildProcess = fork(CHILD, [join(dir, 'tls.crt'), join(dir, 'tls.key')], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  const logs: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => logs.push(line))
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined
  child.once('exit', (code, signal) => (ended = { code, signal }))
  const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    const onMessage = (m: { type?: string; port?: number; pid?: number }) => {
      if (m.type !== 'ready') return
      child.off('message', onMessage)
      resolve({ port: m.port as number, pid: m.pid as number })
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`webhook child exited before listening (code ${code})`)))
  })
  const memory = () =>
    new Promise<ChildMemory>((resolve, reject) => {
      if (ended) return reject(new Error(`webhook child is gone (${JSON.stringify(ended)})`))
      const onMessage = (m: ChildMemory & { type?: string }) => {
        if (m.type !== 'memory') return
        child.off('message', onMessage)
        resolve({ rss: m.rss, heapUsed: m.heapUsed, external: m.external })
      }
      child.on('message', onMessage)
      child.send({ type: 'memory' })
    })
  const latency = () =>
    new Promise<ChildLatency>((resolve, reject) => {
      if (ended) return reject(new Error(`webhook child is gone (${JSON.stringify(ended)})`))
      const onMessage = (m: { type?: string; totals?: ChildLatency }) => {
        if (m.type !== 'latency') return
        child.off('message', onMessage)
        resolve(m.totals ?? {})
      }
      child.on('message', onMessage)
      child.send({ type: 'latency' })
    })
  const stop = async () => {
    if (!ended) {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.disconnect()
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await gone
      clearTimeout(kill)
    }
    await rm(dir, { recursive: true, force: true })
    unregister()
  }
  return { ...ready, dir, certs, logs, exit: () => ended, memory, latency, stop }
}
