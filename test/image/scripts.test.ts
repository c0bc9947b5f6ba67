// The image scripts' decisions that need no podman: the base they assemble for the Dockerfile's
// NODE_IMAGE, the npm of the Node release, the containers.conf limits, and `npm run image` on a
// machine without podman (one line naming the Debian packages, exit 1).

import t from 'tap'
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { baseImage, bundledNpmVersion, dockerfileBaseName, lockedNodeVersion } from '../../scripts/image/base.ts'
import { REPO } from '../../scripts/image/build.ts'
import { APT_PACKAGES } from '../../scripts/image/commands.ts'
import { containersConf } from '../../scripts/image/podman.ts'
import { run } from '../chart/helm.ts'

t.test("the base is the Dockerfile's NODE_IMAGE, with the lockfile's Node", async (t) => {
  const [dockerfile, lockfile] = await Promise.all([readFile(join(REPO, 'Dockerfile'), 'utf8'), readFile(join(REPO, 'package-lock.json'), 'utf8')])
  const name = dockerfileBaseName(dockerfile)
  t.match(name, /^node:24-[a-z]+-slim$/, 'Node 24 LTS, slim')
  const base = baseImage(name, lockedNodeVersion(lockfile))
  t.equal(base.suite, 'bookworm')
  t.match(base.nodeVersion, /^24\.\d+\.\d+$/)
  t.throws(() => baseImage('node:22-bookworm-slim', '24.21.0'), /Node 22 in its tag, but the lockfile pins Node 24\.21\.0/, 'a Node major the lockfile does not pin is refused')
  t.throws(() => baseImage('node:24-alpine', '24.21.0'), /names no Debian suite/)
})

t.test("npm is the one the Node release bundles: the newest upgrade in its changelog", async (t) => {
  const changelog = [
    '## 2026-09-08, Version 24.21.0', '* [x] - **deps**: update undici to 7.1.0',
    '## 2026-08-26, Version 24.20.0', '* [y] - **deps**: upgrade npm to 11.19.0 (npm team)',
    '## 2026-08-03, Version 24.19.0', '* [z] - **deps**: upgrade npm to 11.18.0 (npm team)',
  ].join('\n')
  t.equal(bundledNpmVersion(changelog), '11.19.0')
  t.throws(() => bundledNpmVersion('## Version 24.0.0'), /no "deps: upgrade npm to X" entry/)
})

t.test('containers.conf: runc, and ulimits within the hard limits (nproc at most 32768)', async (t) => {
  const conf = containersConf({ nofile: 20000, nproc: 96367 })
  t.match(conf, 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]')
  t.match(conf, 'runtime = "runc"')
  t.match(containersConf({ nofile: 1024, nproc: 512 }), '"nofile=1024:1024", "nproc=512:512"')
  t.match(containersConf({ nofile: Infinity, nproc: Infinity }), '"nofile=1048576:1048576", "nproc=32768:32768"')
})

t.test('npm run image without podman: one line naming the Debian packages, exit 1', async (t) => {
  // A PATH with Node only: no podman, no runc.
  const bin = await mkdtemp(join(tmpdir(), 'wrc-no-podman-'))
  t.teardown(() => rm(bin, { recursive: true, force: true }))
  await symlink(process.execPath, join(bin, 'node'))
  const r = await run(join(bin, 'node'), [join(REPO, 'scripts', 'image.ts')], { env: { PATH: bin, CONTAINERS_CONF: '/nonexistent' } })
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  // runc is looked up in /usr/sbin as well (podman finds it there), so it may or may not be named.
  t.match(r.stderr, new RegExp(`^npm run image: podman(, runc)? not found: install the Debian packages with \`apt-get install ${APT_PACKAGES}\`\n$`))
})
