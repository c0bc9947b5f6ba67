// The last-resort cleanup of everything the harness started: when this process exits, or dies from
// a termination signal, every registered child is SIGKILLed and every registered temporary
// directory removed, synchronously. The orderly path is ControlPlane.stop(); this catches the rest
// (a failing test that never reaches teardown, tap's timeout, Ctrl-C). SIGKILL of the runner
// itself cannot be caught: children are spawned with a parent-death signal for that (processes.ts).

import { rmSync } from 'node:fs'

/**
 * Registered synchronous cleanups. Process-global on purpose: exit hooks are process-global, and
 * every control plane of this process must be covered by the same hook.
 */
const cleanups = new Set<() => void>()
let exitHookInstalled = false
let signalHooksInstalled = false

/** Termination signals after which the children must not outlive us. */
const TERMINATION_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup()
    } catch {
      // best effort: the process is going away, keep cleaning the rest
    }
    cleanups.delete(cleanup)
  }
}

/**
 * Registers `cleanup` to run synchronously when the process exits; returns the function that
 * unregisters it (call it once the orderly teardown has done the same work).
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', runCleanups)
  }
  cleanups.add(cleanup)
  return () => {
    cleanups.delete(cleanup)
  }
}

/** Kills `pid` with SIGKILL if it is still alive; never throws. */
export function killNow(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** Removes `dir` recursively; never throws. */
export function removeDirNow(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  } catch {
    // best effort
  }
}

/**
 * Runs the cleanups on SIGINT, SIGTERM and SIGHUP too, then lets the signal take its course: our
 * listener removes itself and raises the signal again, so the process ends by that signal once no
 * other listener keeps it (signal-exit, used by tap's process tracking, re-raises only when its
 * listeners are the last ones, so a plain "am I the only listener" check would leave the process
 * hanging). For test processes; a long-running program with its own graceful shutdown (the local
 * mode's CLI) should not call this and should stop the control plane itself.
 */
export function cleanUpOnTerminationSignals(): void {
  if (signalHooksInstalled) return
  signalHooksInstalled = true
  for (const signal of TERMINATION_SIGNALS) {
    const handler = (): void => {
      runCleanups()
      process.removeListener(signal, handler)
      setImmediate(() => process.kill(process.pid, signal))
    }
    process.on(signal, handler)
  }
}
