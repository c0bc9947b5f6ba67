// Finds the real Kubernetes binaries (etcd, kube-apiserver, kubectl): KUBEBUILDER_ASSETS when a
// user set it (envtest convention), else the versioned cache of `tools/build.sh kube`. When they
// are missing: under CI=true this is an error (e2e tests fail, never skip); otherwise they are
// built, with the build script's progress shown, serialized across processes by a file lock.

import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's build script (tools/build.sh). */
const BUILD_SCRIPT = fileURLToPath(new URL('../../tools/build.sh', import.meta.url))
/** Serializes concurrent builds (parallel test files) on one machine; util-linux flock(1). */
const BUILD_LOCK = join(tmpdir(), 'worker-runtime-controller-tools-kube.lock')
const FLOCK = '/usr/bin/flock'

/** Absolute paths of the binaries. */
export interface KubeBinaries {
  dir: string
  etcd: string
  kubeApiserver: string
  kubectl: string
}

export interface FindKubeBinariesOptions {
  /** Build when missing. Default: true unless CI=true (CI must build them beforehand). */
  build?: boolean
  /** Receives each progress line of a build (default: written to stderr). */
  onProgress?: (line: string) => void
  env?: Record<string, string | undefined>
}

/** Raised when the binaries are missing or unusable; the message says what to run. */
export class KubeBinariesError extends Error {
  override name = 'KubeBinariesError'
}

function binariesIn(dir: string): KubeBinaries {
  const found = { dir, etcd: join(dir, 'etcd'), kubeApiserver: join(dir, 'kube-apiserver'), kubectl: join(dir, 'kubectl') }
  for (const path of [found.etcd, found.kubeApiserver, found.kubectl]) {
    try {
      accessSync(path, constants.X_OK)
    } catch (cause) {
      throw new KubeBinariesError(`find binary ${path}: not an executable file`, { cause })
    }
  }
  return found
}

function runBuildScript(args: string[], onLine: (line: string) => void, env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string }> {
  const [command, fullArgs] = args.includes('--path') ? [BUILD_SCRIPT, ['kube', ...args]] : [FLOCK, [BUILD_LOCK, BUILD_SCRIPT, 'kube', ...args]]
  return new Promise((resolve, reject) => {
    const child = spawn(command, fullArgs as string[], { stdio: ['ignore', 'pipe', 'pipe'], env: env as NodeJS.ProcessEnv })
    let stdout = ''
    let pending = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) if (line.trim() !== '') onLine(line)
    })
    child.once('error', reject)
    child.once('close', (code) => {
      if (pending.trim() !== '') onLine(pending)
      resolve({ code, stdout: stdout.trim() })
    })
  })
}

/**
 * Returns the binaries, building them first when allowed (see the file header). A cold build
 * takes minutes (measured 240 s on 2 cores); a warm one seconds.
 */
export async function findKubeBinaries(options: FindKubeBinariesOptions = {}): Promise<KubeBinaries> {
  const env = options.env ?? process.env
  const assets = env['KUBEBUILDER_ASSETS']
  if (assets) return binariesIn(assets)
  const quiet = (): void => {}
  const located = await runBuildScript(['--path'], quiet, env)
  if (located.code === 0 && located.stdout !== '') return binariesIn(located.stdout)
  const build = options.build ?? env['CI'] !== 'true'
  if (!build) {
    throw new KubeBinariesError(
      'find kube binaries: etcd, kube-apiserver and kubectl are not built; run `tools/build.sh kube` ' +
        '(or set KUBEBUILDER_ASSETS) before the end-to-end tests — under CI=true they fail instead of building or skipping',
    )
  }
  const onProgress = options.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`))
  onProgress('kube binaries are not built yet: running tools/build.sh kube (a cold build takes about 4 minutes)')
  const built = await runBuildScript([], onProgress, env)
  if (built.code !== 0 || built.stdout === '') {
    throw new KubeBinariesError(`build kube binaries: tools/build.sh kube exited with code ${built.code}`)
  }
  return binariesIn(built.stdout.split('\n').pop() as string)
}
