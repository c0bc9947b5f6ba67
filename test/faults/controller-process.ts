// Starts and talks to controller-child.ts: a sandbox Worker controller in its own process. Used by
// the fault tests (leader loss needs a process to SIGKILL) and bench/reconcile.ts (its RSS is its
// own). The settings, credentials included, travel over IPC; the child exits with its parent.

import { type ChildProcess, fork } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ClaimCreate, ControllerChildSettings, ControllerStats } from './controller-child.ts'

const CHILD = fileURLToPath(new URL('./controller-child.ts', import.meta.url))
/** Registered before the child's modules load, as bin/ does for `serve`. */
const PRELOAD = new URL('../../bin/preload.ts', import.meta.url).href

export interface ControllerProcess {
  readonly pid: number
  /** Log lines (when started with `logs: 'collect'`). */
  readonly logs: string[]
  /** Every claim create the child reported as it happened (kept after the child died). */
  readonly claims: ClaimCreate[]
  /** Counters and memory; with `gc`, memory after a full collection (live data only). */
  stats(gc?: boolean): Promise<ControllerStats>
  /** How the process ended, or undefined while it runs. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined
  /** A crash: SIGKILL, no lease release, nothing drained. */
  kill(): Promise<void>
  /** Graceful: drain reconciles, release the lease, exit. */
  stop(): Promise<void>
}

/**
 * Forks the controller with `settings` (extra Node flags; `execPath`: a launcher such as a memory
 * cgroup's, see harness/memory-cgroup.ts); resolves once its reconciler has started.
 */
export async function startControllerProcess(settings: ControllerChildSettings, nodeFlags: readonly string[] = [], execPath?: string): Promise<ControllerProcess> {
  const child: ChildProcess = fork(CHILD, [], { execArgv: ['--import', PRELOAD, '--expose-gc', ...nodeFlags], stdio: ['ignore', 'pipe', 'inherit', 'ipc'], ...(execPath ? { execPath } : {}) })
  const logs: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => logs.push(line))
  const claims: ClaimCreate[] = []
  child.on('message', (m: { type?: string; claim?: ClaimCreate }) => {
    if (m.type === 'claim' && m.claim) claims.push(m.claim)
  })
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    ended = { code, signal }
    resolve()
  }))
  child.send(settings)
  const pid = await new Promise<number>((resolve, reject) => {
    const onMessage = (m: { type?: string; pid?: number }) => {
      if (m.type !== 'started') return
      child.off('message', onMessage)
      resolve(m.pid as number)
    }
    child.on('message', onMessage)
    void exited.then(() => reject(new Error(`controller child exited before starting (${JSON.stringify(ended)})`)))
  })
  const stats = (gc = false) =>
    new Promise<ControllerStats>((resolve, reject) => {
      if (ended) return reject(new Error(`controller child is gone (${JSON.stringify(ended)})`))
      const onMessage = (m: { type?: string; stats?: ControllerStats }) => {
        if (m.type !== 'stats') return
        child.off('message', onMessage)
        resolve(m.stats as ControllerStats)
      }
      child.on('message', onMessage)
      child.send({ type: 'stats', gc })
    })
  const kill = async () => {
    if (ended) return
    child.kill('SIGKILL')
    await exited
  }
  const stop = async () => {
    if (ended) return
    child.send({ type: 'stop' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }
  return { pid, logs, claims, stats, exit: () => ended, kill, stop }
}
