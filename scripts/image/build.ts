// Builds the project's Dockerfile with podman, never pulling (--pull=never): the base comes from
// local storage (base.ts assembles a stand-in when it is missing). Behind a TLS-intercepting proxy
// the CA that npm is configured with on this machine reaches the build's `npm ci` as the build
// secret `npm-ca`: mounted into that RUN step only, never copied into a layer. Proxy variables are
// passed to RUN steps by podman itself (never kept in the image).

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from './commands.ts'
import { baseImage, dockerfileBaseName, ensureBaseImage, lockedNodeVersion } from './base.ts'
import type { Podman } from './podman.ts'

/** The repository: the build context. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url))
/** The image `npm run image` builds. */
export const IMAGE = 'localhost/worker-runtime-controller:dev'
/** The secret id the Dockerfile's dependency stage mounts (at /run/secrets/npm-ca). */
export const CA_SECRET_ID = 'npm-ca'

/**
 * The CA file npm trusts on this machine, if any: npm's `cafile` setting, else
 * NODE_EXTRA_CA_CERTS (npm runs on Node, which adds those). Undefined: npm uses Node's own roots.
 */
export async function npmCaFile(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const configured = await run('npm', ['config', 'get', 'cafile'], { env, cwd: REPO })
  const cafile = configured.code === 0 ? configured.stdout.trim() : ''
  if (cafile !== '' && cafile !== 'null' && cafile !== 'undefined') return cafile
  return env['NODE_EXTRA_CA_CERTS'] || undefined
}

export interface BuildOptions {
  /** Image name (default IMAGE). */
  tag?: string
  /** Progress lines (the base assembly and podman's build output). */
  onLine?: (line: string) => void
}

/** Timings of one build. */
export interface BuildResult {
  tag: string
  /** The base image name the Dockerfile uses, and whether this build assembled its stand-in. */
  base: string
  baseAssembled: boolean
  baseMs: number
  /** The built image's ID (race-free even when another build re-tags `tag`). */
  id: string
  /** `podman build` alone. */
  buildMs: number
  /** The CA file given to the build as a secret, if any. */
  caFile: string | undefined
}

/** Builds the image (see the file header). Throws ImageCommandError with podman's last lines on failure. */
export async function buildImage(podman: Podman, options: BuildOptions = {}): Promise<BuildResult> {
  const tag = options.tag ?? IMAGE
  const onLine = options.onLine ?? (() => {})
  const [dockerfile, lockfile] = await Promise.all([readFile(join(REPO, 'Dockerfile'), 'utf8'), readFile(join(REPO, 'package-lock.json'), 'utf8')])
  const base = baseImage(dockerfileBaseName(dockerfile), lockedNodeVersion(lockfile))
  const ensured = await ensureBaseImage(podman, base, onLine)
  const caFile = await npmCaFile(podman.env)
  const dir = await mkdtemp(join(tmpdir(), 'wrc-image-build-'))
  try {
    const started = Date.now()
    await podman.checked([
      // Host network: RUN steps reach what the host reaches, a proxy on the host's loopback included.
      'build', '--pull=never', '--network=host', '--file', join(REPO, 'Dockerfile'), '--tag', tag, '--iidfile', join(dir, 'id'),
      ...(caFile ? ['--secret', `id=${CA_SECRET_ID},src=${caFile}`] : []),
      REPO,
    ], { onLine })
    const buildMs = Date.now() - started
    const id = (await readFile(join(dir, 'id'), 'utf8')).trim().replace(/^sha256:/, '')
    return { tag, id, base: base.name, baseAssembled: ensured.assembled, baseMs: ensured.ms, buildMs, caFile }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
