// Runs the host commands the image scripts drive (podman, mmdebstrap, npm, tar): output captured,
// each line optionally passed on as progress, and one clear error naming the Debian packages to
// install when a command is missing, instead of a bare ENOENT.

import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** The Debian packages that build and run the image (docs/testing.md, the image). */
export const APT_PACKAGES = 'podman runc mmdebstrap containernetworking-plugins iptables'

/** Raised when a command is missing or fails; the message is one line meant for a person. */
export class ImageCommandError extends Error {
  override name = 'ImageCommandError'
}

/** How a command ended and what it printed. */
export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Receives every non-empty output line (stdout and stderr) as it arrives. */
  onLine?: (line: string) => void
}

/** Whether `name` is an executable file on `path` (the PATH value). */
export function hasCommand(name: string, path: string = process.env['PATH'] ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** Throws one line naming what is missing and the apt-get command that brings it. */
export function requireCommands(names: readonly string[], path?: string): void {
  const missing = names.filter((name) => !hasCommand(name, path))
  if (missing.length > 0) {
    throw new ImageCommandError(`${missing.join(', ')} not found: install the Debian packages with \`apt-get install ${APT_PACKAGES}\``)
  }
}

/** Runs `command args`; resolves with its exit code and output (never rejects on exit codes). */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd })
    const out = { stdout: '', stderr: '' }
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = ''
      child[stream].on('data', (chunk: Buffer) => {
        const text = chunk.toString()
        out[stream] += text
        if (!options.onLine) return
        const lines = (pending + text).split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) if (line.trim() !== '') options.onLine(line)
      })
      child[stream].on('end', () => {
        if (pending.trim() !== '') options.onLine?.(pending)
      })
    }
    child.once('error', (cause) => reject(new ImageCommandError(`run ${command}: ${cause.message}`, { cause })))
    child.once('close', (code) => resolve({ code, ...out }))
  })
}

/** Like run, but a non-zero exit throws with the last lines of the command's error output. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n')
    throw new ImageCommandError(`${command} ${args.slice(0, 2).join(' ')} exited with ${result.code}: ${tail}`)
  }
  return result
}
