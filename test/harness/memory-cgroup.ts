// A real memory limit for a child process, as a container runtime sets one: a cgroup (v2 or v1)
// with `memory.max` / `memory.limit_in_bytes`, joined by the child before Node starts, so Node sizes
// its heap from the limit exactly as it does in a pod (process.constrainedMemory()). Needs a
// writable cgroup hierarchy (root on this machine); `createMemoryCgroup` says so when there is none.

import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where writable memory cgroups can be made: the v2 root (memory controller enabled) or the v1 memory hierarchy. */
function memoryRoot(): { dir: string; limitFile: string } | undefined {
  const v2 = '/sys/fs/cgroup'
  if (existsSync(join(v2, 'cgroup.controllers')) && readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) return { dir: v2, limitFile: 'memory.max' }
  const v1 = '/sys/fs/cgroup/memory'
  if (existsSync(join(v1, 'memory.limit_in_bytes'))) return { dir: v1, limitFile: 'memory.limit_in_bytes' }
  return undefined
}

export interface MemoryCgroup {
  /** The limit in MiB. */
  readonly limitMiB: number
  /** A shell script to use as `execPath`: joins the cgroup, then execs `node` with its arguments. */
  readonly execPath: string
  /** Removes the cgroup (once its processes have exited). */
  remove(): void
}

/** A fresh cgroup limited to `limitMiB`, and a launcher that puts a process in it; throws when cgroups are not writable here. */
export function createMemoryCgroup(limitMiB: number, scratchDir: string, nodePath = process.execPath): MemoryCgroup {
  const root = memoryRoot()
  if (!root) throw new Error('no memory cgroup hierarchy under /sys/fs/cgroup: cannot give the controller a memory limit on this machine')
  const dir = join(root.dir, `wrc-${process.pid}-${Date.now().toString(36)}`)
  try {
    mkdirSync(dir)
    writeFileSync(join(dir, root.limitFile), String(limitMiB * 1048576))
  } catch (error) {
    throw new Error(`create a memory cgroup at ${dir}: ${(error as Error).message} (needs root and a writable cgroup hierarchy)`, { cause: error })
  }
  mkdirSync(scratchDir, { recursive: true })
  const execPath = join(scratchDir, `node-in-${limitMiB}mib.sh`)
  writeFileSync(execPath, `#!/bin/sh\necho $$ > '${join(dir, 'cgroup.procs')}' || exit 97\nexec '${nodePath}' "$@"\n`)
  chmodSync(execPath, 0o755)
  return {
    limitMiB,
    execPath,
    remove: () => {
      try {
        rmdirSync(dir)
      } catch {
        // Still busy (a child that has not exited): the kernel keeps it until then; nothing to leak but a name.
      }
    },
  }
}
