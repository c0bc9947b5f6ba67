// Finds the real binaries the control plane runs, each tools module in its versioned cache
// (`tools/build.sh <module> --path`): etcd, kube-apiserver, kubectl, kube-scheduler and
// kube-controller-manager (module kube; KUBEBUILDER_ASSETS wins when a user set it, the envtest
// convention), kwok and its Stage files (module kwok). When a module is missing: under CI=true
// this is an error (e2e tests fail, never skip); otherwise it is built, with the build script's
// progress shown, serialized across processes by a file lock per module.

import { spawn } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's build script (tools/build.sh). */
const BUILD_SCRIPT = fileURLToPath(new URL('../tools/build.sh', import.meta.url))
/** util-linux flock(1): serializes concurrent builds of one module (parallel test files). */
const FLOCK = '/usr/bin/flock'
/** Measured cold builds on 2 cores, quiet to busy, for the progress line (README "Set up"). */
const COLD_BUILD = { kube: '6 to 11 minutes', kwok: 'about 4 minutes' } as const

/** A tools module of tools/ that this file finds. */
export type ToolsModule = keyof typeof COLD_BUILD

/** Absolute paths of the Kubernetes binaries. */
export interface KubeBinaries {
  dir: string
  etcd: string
  kubeApiserver: string
  kubectl: string
  /** Built with the others; may be missing from a user's KUBEBUILDER_ASSETS (checked on use). */
  kubeScheduler: string
  kubeControllerManager: string
}

/** kwok and the Stage files it runs with (copied from its module by tools/build.sh). */
export interface KwokBinaries {
  kwok: string
  /** Every `*.yaml` of `<dir>/stages`, sorted. */
  stageFiles: string[]
}

export interface FindBinariesOptions {
  /** Build when missing. Default: true unless CI=true (CI must build them beforehand). */
  build?: boolean
  /** Receives each progress line of a build (default: written to stderr). */
  onProgress?: (line: string) => void
  env?: Record<string, string | undefined>
}
/** The options of findKubeBinaries (named before kwok joined). */
export type FindKubeBinariesOptions = FindBinariesOptions

/** Raised when binaries are missing or unusable; the message says what to run. */
export class KubeBinariesError extends Error {
  override name = 'KubeBinariesError'
}

/** Throws KubeBinariesError unless every path is an executable file. */
export function requireExecutables(paths: readonly string[], hint = ''): void {
  for (const path of paths) {
    try {
      accessSync(path, constants.X_OK)
    } catch (cause) {
      throw new KubeBinariesError(`find binary ${path}: not an executable file${hint}`, { cause })
    }
  }
}

function kubeBinariesIn(dir: string): KubeBinaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubectl: join(dir, 'kubectl'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  }
}

function runBuildScript(module: ToolsModule, args: string[], onLine: (line: string) => void, env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string }> {
  const lock = join(tmpdir(), `worker-runtime-controller-tools-${module}.lock`)
  const [command, fullArgs] = args.includes('--path') ? [BUILD_SCRIPT, [module, ...args]] : [FLOCK, [lock, BUILD_SCRIPT, module, ...args]]
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
 * The directory of a built tools module, building it first when allowed (see the file header).
 * A cold build takes minutes; a warm one, a stamp check.
 */
export async function findToolsDirectory(module: ToolsModule, options: FindBinariesOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  const located = await runBuildScript(module, ['--path'], () => {}, env)
  if (located.code === 0 && located.stdout !== '') return located.stdout
  const build = options.build ?? env['CI'] !== 'true'
  if (!build) {
    throw new KubeBinariesError(
      `find ${module} binaries: not built; run \`tools/build.sh ${module}\` (npm test's pretest does) before the end-to-end tests — ` +
        'under CI=true they fail instead of building or skipping',
    )
  }
  const onProgress = options.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`))
  onProgress(`${module} binaries are not built yet: running tools/build.sh ${module} (a cold build takes ${COLD_BUILD[module]})`)
  const built = await runBuildScript(module, [], onProgress, env)
  if (built.code !== 0 || built.stdout === '') {
    throw new KubeBinariesError(`build ${module} binaries: tools/build.sh ${module} exited with code ${built.code}`)
  }
  return built.stdout.split('\n').pop() as string
}

/**
 * Returns the Kubernetes binaries: KUBEBUILDER_ASSETS when set (etcd, kube-apiserver and kubectl
 * must be there; kube-scheduler and kube-controller-manager are checked when a control plane with
 * nodes starts), else module kube, built when missing and allowed.
 */
export async function findKubeBinaries(options: FindBinariesOptions = {}): Promise<KubeBinaries> {
  const assets = (options.env ?? process.env)['KUBEBUILDER_ASSETS']
  const found = kubeBinariesIn(assets || (await findToolsDirectory('kube', options)))
  requireExecutables(assets ? [found.etcd, found.kubeApiserver, found.kubectl] : Object.values(found).slice(1))
  return found
}

/**
 * Throws KubeBinariesError unless kube-scheduler and kube-controller-manager are there too (a
 * control plane with nodes needs them; a user's KUBEBUILDER_ASSETS may hold only envtest's three).
 */
export function requireNodeBinaries(binaries: KubeBinaries, env: Record<string, string | undefined> = process.env): void {
  const fromAssets = env['KUBEBUILDER_ASSETS'] === binaries.dir
  requireExecutables([binaries.kubeControllerManager, binaries.kubeScheduler], fromAssets ? ` (KUBEBUILDER_ASSETS=${binaries.dir} must hold kube-scheduler and kube-controller-manager too for Pods to run, or be unset)` : '')
}

/** Returns kwok and its Stage files (module kwok), built when missing and allowed. */
export async function findKwokBinaries(options: FindBinariesOptions = {}): Promise<KwokBinaries> {
  const dir = await findToolsDirectory('kwok', options)
  const kwok = join(dir, 'kwok')
  requireExecutables([kwok])
  const stages = join(dir, 'stages')
  const stageFiles = readdirSync(stages).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(stages, f))
  if (stageFiles.length === 0) throw new KubeBinariesError(`find kwok stages: ${stages} holds no Stage file; rebuild with tools/build.sh kwok`)
  return { kwok, stageFiles }
}
