// Temporary directories that know their owner: each holds `owner.pid`, and creating a new one first
// removes those whose owner process is gone. That covers the one case the exit cleanup cannot,
// a runner killed with SIGKILL (its children die by the parent-death signal, its files stay).

import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { removeDirNow } from './exit-cleanup.ts'

/** The file naming the process that owns a directory. */
const OWNER_FILE = 'owner.pid'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes `<tmp>/<prefix>*` directories whose owner process no longer exists; returns them. */
export function sweepAbandonedTempDirs(prefix: string): string[] {
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(tmpdir()).filter((name) => name.startsWith(prefix))
  } catch {
    return removed
  }
  for (const name of names) {
    const dir = join(tmpdir(), name)
    let owner: number
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'))
    } catch {
      continue // not ours, or still being created
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner)) {
      removeDirNow(dir)
      removed.push(dir)
    }
  }
  return removed
}

/** Creates `<tmp>/<prefix>XXXXXX` owned by this process, after sweeping abandoned ones. */
export async function createOwnedTempDir(prefix: string): Promise<string> {
  sweepAbandonedTempDirs(prefix)
  const dir = await mkdtemp(join(tmpdir(), prefix))
  await writeFile(join(dir, OWNER_FILE), String(process.pid))
  return dir
}
