// Child processes of the control plane (etcd, kube-apiserver): spawned with a clean environment
// (no proxy variables: the apiserver's webhook client honours them), output to a log file, a
// parent-death signal so they die with us even when we are SIGKILLed, registered with the exit
// cleanup, and stopped with SIGTERM then SIGKILL.

import { spawn } from 'node:child_process'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import { killNow, onProcessExit } from './exit-cleanup.ts'

/** util-linux setpriv: `--pdeathsig KILL` makes the kernel kill the child when its parent dies. */
const SETPRIV = '/usr/bin/setpriv'
/** Grace period between SIGTERM and SIGKILL (etcd and kube-apiserver stop in well under 1 s). */
export const DEFAULT_STOP_GRACE_MS = 10_000
/** Proxy variables stripped from every child (docs/local-cluster.md). */
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']

/** How a child ended. */
export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A started child process. */
export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  /** File holding the child's stdout and stderr. */
  readonly logFile: string
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitStatus>
  /** True once the child has exited. */
  hasExited(): boolean
  /** The last `lines` lines of the child's log, for error messages. */
  logTail(lines?: number): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  stop(graceMs?: number): Promise<void>
}

export interface StartProcessOptions {
  name: string
  command: string
  args: readonly string[]
  logFile: string
  /** Extra environment variables on top of the cleaned parent environment. */
  env?: Record<string, string>
}

/** The parent environment without proxy variables, with loopback exempted from any proxy. */
export function childEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !PROXY_VARIABLES.includes(key)) env[key] = value
  }
  env['NO_PROXY'] = env['no_proxy'] = '127.0.0.1,localhost'
  return { ...env, ...extra }
}

/** An error raised when a child cannot be started or stopped. */
export class ProcessError extends Error {
  override name = 'ProcessError'
}

/** Spawns `command` as a managed child (see the file header for what that guarantees). */
export function startProcess(options: StartProcessOptions): ManagedProcess {
  const fd = openSync(options.logFile, 'w')
  const withDeathSignal = existsSync(SETPRIV)
  const command = withDeathSignal ? SETPRIV : options.command
  const args = withDeathSignal ? ['--pdeathsig', 'KILL', '--', options.command, ...options.args] : [...options.args]
  let child
  try {
    // A process group of its own: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches
    // only our process, which stops the children in order (the reconciler releases its Lease first);
    // the parent-death signal and the exit hook still end them when our process dies.
    child = spawn(command, args, { stdio: ['ignore', fd, fd], env: childEnvironment(options.env), detached: true })
  } finally {
    closeSync(fd)
  }
  const pid = child.pid
  if (pid === undefined) throw new ProcessError(`start process ${options.name}: spawn ${options.command} failed`)
  const unregister = onProcessExit(() => killNow(pid))
  let done = false
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', () => {
      done = true
      unregister()
      resolve({ code: null, signal: null })
    })
    child.once('exit', (code, signal) => {
      done = true
      unregister()
      resolve({ code, signal })
    })
  })
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }
  const stop = async (graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> => {
    if (done) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => killNow(pid), graceMs)
    await exited
    clearTimeout(timer)
  }
  return { name: options.name, pid, logFile: options.logFile, exited, hasExited: () => done, logTail, stop }
}
