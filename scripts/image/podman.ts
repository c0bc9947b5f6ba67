// podman as this project drives it, with the settings measured on these machines (docs/testing.md, the image):
// the runc runtime (crun refuses hybrid cgroups), cgroupfs, and ulimits within the machine's hard
// limits (podman's defaults exceed them and the container fails to start), all through a
// CONTAINERS_CONF file written for this machine. A CONTAINERS_CONF of the user's own is kept.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { requireCommands, run, runChecked, type CommandResult, type RunOptions } from './commands.ts'

/** nproc ceiling: higher values made `podman run` fail on these machines (docs/testing.md). */
const NPROC_CEILING = 32768
/** nofile ceiling when the hard limit is unlimited (the kernel's default fs.nr_open). */
const NOFILE_CEILING = 1_048_576
/** Where the generated file lives (next to the tool binaries of tools/build.sh). */
const CONF_DIR = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'worker-runtime-controller', 'podman')

/** The hard limits of this process (what `ulimit -Hn` and `ulimit -Hu` print), unlimited as Infinity. */
export async function hardLimits(): Promise<{ nofile: number; nproc: number }> {
  const limits = await readFile('/proc/self/limits', 'utf8')
  const hard = (name: string): number => {
    const value = limits.match(new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm'))?.[1]
    return value === 'unlimited' ? Infinity : Number(value)
  }
  return { nofile: hard('Max open files'), nproc: hard('Max processes') }
}

/** The containers.conf text for limits `limits` (see the file header). */
export function containersConf(limits: { nofile: number; nproc: number }): string {
  const nofile = Math.min(limits.nofile, NOFILE_CEILING)
  const nproc = Math.min(limits.nproc, NPROC_CEILING)
  if (!Number.isInteger(nofile) || !Number.isInteger(nproc)) throw new Error(`containers.conf: unreadable hard limits ${JSON.stringify(limits)}`)
  return [
    '# Written by scripts/image/podman.ts for this machine: see that file.',
    '[containers]',
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    '',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    '',
  ].join('\n')
}

/** The environment podman runs with: CONTAINERS_CONF set (the user's, else one written now). */
export async function podmanEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  if (env['CONTAINERS_CONF']) return env
  await mkdir(CONF_DIR, { recursive: true })
  const path = join(CONF_DIR, 'containers.conf')
  // Written whole and renamed: parallel callers never read half a file.
  const partial = `${path}.${process.pid}`
  await writeFile(partial, containersConf(await hardLimits()))
  await rename(partial, path)
  return { ...env, CONTAINERS_CONF: path }
}

/** podman with this project's settings; `podman()` is the only way the scripts and tests call it. */
export interface Podman {
  /** Runs `podman args` and resolves with its result (never rejects on exit codes). */
  run(args: readonly string[], options?: Omit<RunOptions, 'env'>): Promise<CommandResult>
  /** Like run, but a non-zero exit throws. */
  checked(args: readonly string[], options?: Omit<RunOptions, 'env'>): Promise<CommandResult>
  /** The environment it runs with (CONTAINERS_CONF set). */
  readonly env: NodeJS.ProcessEnv
}

/** Checks that podman and runc are installed (one clear line otherwise) and returns the runner. */
export async function podman(env: NodeJS.ProcessEnv = process.env): Promise<Podman> {
  // runc lives in /usr/sbin, which a user's PATH may lack; podman finds it there all the same.
  requireCommands(['podman', 'runc'], `${env['PATH'] ?? ''}:/usr/sbin:/sbin`)
  const withConf = await podmanEnvironment(env)
  return {
    env: withConf,
    run: (args, options = {}) => run('podman', args, { ...options, env: withConf }),
    checked: (args, options = {}) => runChecked('podman', args, { ...options, env: withConf }),
  }
}
