// What the Dockerfile builds, without a Docker engine: the file's own rules (Node 24 LTS base,
// `npm ci --omit=dev`, numeric non-root user, no HEALTHCHECK), then its image tree made the way the
// build would make it — the committed files its COPY lines name, minus .dockerignore, plus a
// production-only `npm ci` — and its command run from that tree against a real control plane:
// `serve --help`, then `serve` with webhooks and reconciler until ready, a real admission verdict,
// metrics, a clean SIGTERM exit, and not one byte written into the tree or the home directory.

import t from 'tap'
import { execFile } from 'node:child_process'
import { request } from 'node:https'
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createServingCertificates, writeServingCertificates } from '../../certs/certs.ts'
import { installCrds } from '../harness/crds.ts'
import { MANIFESTS } from '../harness/manifests.ts'
import { pollUntil } from '../harness/polling.ts'
import { freePorts } from '../harness/ports.ts'
import { startProcess } from '../harness/processes.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { legacyPodWorker, updateReview, withSpec } from '../fixtures/admission-review.ts'
import { LEGACY_TO_SANDBOX } from '../e2e/expected-messages.ts'
import { run } from './helm.ts'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
/** Node 24 (the repository's devDependency) first on PATH, so npm and the command run on it. */
const PATH = `${join(REPO, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`
const dockerfile = await readFile(join(REPO, 'Dockerfile'), 'utf8')

/** The instructions of each stage, comments and blank lines dropped. */
function stages(text: string): Array<Array<{ op: string; args: string }>> {
  const out: Array<Array<{ op: string; args: string }>> = []
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue
    const [op = '', ...rest] = line.split(/\s+/)
    if (op.toUpperCase() === 'FROM') out.push([])
    out.at(-1)?.push({ op: op.toUpperCase(), args: rest.join(' ') })
  }
  return out
}
const [deps = [], final = []] = stages(dockerfile)

/** .dockerignore as a predicate (patterns with * and **, later `!` patterns re-include). */
async function dockerignore(): Promise<(path: string) => boolean> {
  const rules = (await readFile(join(REPO, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  const compiled = rules.map((rule) => {
    const negate = rule.startsWith('!')
    const glob = negate ? rule.slice(1) : rule
    const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '(.*/)?')
    return { negate, regex: new RegExp(`^${source}(/.*)?$`) }
  })
  return (path) => compiled.reduce((ignored, r) => (r.regex.test(path) ? !r.negate : ignored), false)
}

async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort()
}

t.test('the Dockerfile: Node 24 LTS, production dependencies only, numeric non-root user, no HEALTHCHECK', async (t) => {
  t.match(dockerfile, /^ARG NODE_IMAGE=node:24-[a-z-]*slim$/m, 'Node 24 LTS (slim) for both stages')
  t.ok([deps, final].every((s) => s[0]?.args.startsWith('${NODE_IMAGE}')), 'both stages on that image')
  t.ok(deps.some((i) => i.op === 'RUN' && /npm ci --omit=dev\b/.test(i.args)), 'npm ci --omit=dev')
  t.ok(final.some((i) => i.op === 'COPY' && i.args.startsWith('--from=')), 'node_modules come from the dependency stage')
  const user = final.find((i) => i.op === 'USER')?.args ?? ''
  t.match(user, /^[1-9]\d*:[1-9]\d*$/, 'a numeric, non-root user (runAsNonRoot can check it)')
  t.notOk([...deps, ...final].some((i) => i.op === 'HEALTHCHECK'), 'no HEALTHCHECK')
  t.same(final.find((i) => i.op === 'ENTRYPOINT')?.args, '["node", "bin/worker-runtime-controller.ts"]')
  t.same(final.find((i) => i.op === 'CMD')?.args, '["serve"]')
})

t.test('the image tree installs and its command serves with production dependencies only, writing nothing', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'wrc-image-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const app = join(root, 'app')
  const home = join(root, 'home')
  await Promise.all([mkdir(app), mkdir(home), mkdir(join(root, 'deps'))])

  // The dependency stage: package.json and the lockfile, npm ci as the Dockerfile says.
  const ci = deps.find((i) => i.op === 'RUN')?.args.split('&&')[0]?.trim().split(/\s+/) ?? []
  await promisify(execFile)('/bin/sh', ['-c', `git -C "${REPO}" archive HEAD package.json package-lock.json | tar -x -C "${join(root, 'deps')}"`])
  const installed = await run(ci[0] as string, ci.slice(1), { cwd: join(root, 'deps'), env: { PATH, npm_config_prefer_offline: 'true' }, timeoutMs: 10 * 60_000 })
  t.equal(installed.code, 0, `${ci.join(' ')}: ${installed.stderr.slice(-500)}`)
  await rename(join(root, 'deps', 'node_modules'), join(app, 'node_modules'))
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const devOnly = Object.entries(lock.packages).filter(([path, p]) => path.startsWith('node_modules/') && p.dev).map(([path]) => path)
  t.ok(devOnly.includes('node_modules/tap') && devOnly.includes('node_modules/typescript'), 'the lockfile marks the dev-only packages')
  const present = []
  for (const path of devOnly) if (await readdir(join(app, path)).catch(() => undefined)) present.push(path)
  t.same(present, [], `none of the ${devOnly.length} dev-only packages is installed`)

  // The final stage: the committed files of each COPY source, minus .dockerignore.
  const sources = final.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from=')).flatMap((i) => {
    const parts = i.args.split(/\s+/)
    return parts.slice(0, -1)
  })
  await promisify(execFile)('/bin/sh', ['-c', `git -C "${REPO}" archive HEAD ${sources.map((s) => `"${s}"`).join(' ')} | tar -x -C "${app}"`])
  const ignored = await dockerignore()
  for (const file of await listFiles(app)) {
    if (!file.startsWith('node_modules/') && ignored(file)) await rm(join(app, file))
  }
  const tree = (await listFiles(app)).filter((f) => !f.startsWith('node_modules/'))
  t.notOk(tree.some((f) => f.startsWith('test/') || f.endsWith('.test.ts')), 'no test code in the image (the production path never loads it)')
  t.ok(tree.includes('bin/worker-runtime-controller.ts') && tree.includes('package.json'))

  const env = { PATH, HOME: home, NODE_ENV: 'production' }
  const help = await run('node', ['bin/worker-runtime-controller.ts', 'serve', '--help'], { cwd: app, env })
  t.equal(help.code, 0, help.stderr)
  t.match(help.stdout, /usage: worker-runtime-controller <command>/)
  t.match(help.stdout, /AGENTTEAMS_SANDBOX_PREWARM_SIZE/)

  const cp = await startSuiteControlPlane(t)
  await installCrds(cp.api, [MANIFESTS.workerCrd])
  const certs = await createServingCertificates()
  const tls = join(root, 'tls')
  await mkdir(tls)
  await writeServingCertificates(tls, certs)
  const [webhookPort, healthPort, metricsPort] = (await freePorts(3)) as [number, number, number]
  const before = await listFiles(app)
  const controller = startProcess({
    name: 'worker-runtime-controller (image tree)',
    command: join(REPO, 'node_modules', '.bin', 'node'),
    args: [join(app, 'bin', 'worker-runtime-controller.ts'), 'serve'],
    logFile: join(root, 'controller.log'),
    env: {
      ...env,
      KUBECONFIG: cp.kubeconfigPath,
      AGENTTEAMS_WEBHOOK_ADDRESS: '127.0.0.1',
      AGENTTEAMS_WEBHOOK_PORT: String(webhookPort),
      AGENTTEAMS_HEALTH_ADDRESS: '127.0.0.1',
      AGENTTEAMS_HEALTH_PORT: String(healthPort),
      // Plain-HTTP metrics here; the secured scrape is test/e2e/metrics-auth.test.ts's.
      AGENTTEAMS_METRICS_ADDRESS: '127.0.0.1',
      AGENTTEAMS_METRICS_PORT: String(metricsPort),
      AGENTTEAMS_METRICS_SECURE: 'false',
      AGENTTEAMS_TLS_CERT_FILE: join(tls, 'tls.crt'),
      AGENTTEAMS_TLS_KEY_FILE: join(tls, 'tls.key'),
      AGENTTEAMS_DEPS_FILESYSTEM_DIR: join(root, 'deps-store'),
      AGENTTEAMS_LEADER_ELECTION_NAMESPACE: 'default',
    },
  })
  t.teardown(() => controller.stop())
  const health = (path: string) => fetch(`http://127.0.0.1:${healthPort}${path}`).then(async (r) => ({ status: r.status, text: await r.text() }))
  await pollUntil('the controller from the image tree to be ready', async () => ((await health('/readyz').catch(() => undefined))?.status === 200 ? true : undefined), {
    timeoutMs: 120_000,
    abortIf: () => (controller.hasExited() ? `it exited:\n${controller.logTail(20)}` : undefined),
  })

  const legacy = legacyPodWorker()
  const verdict = await new Promise<any>((resolve, reject) => {
    const req = request(`https://127.0.0.1:${webhookPort}/validate-workers`, { method: 'POST', ca: certs.ca.cert, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve(JSON.parse(body)))
    })
    req.on('error', reject)
    req.end(JSON.stringify(updateReview(legacy, withSpec(legacy, { backendRuntime: 'sandbox' }))))
  })
  t.equal(verdict.response?.allowed, false, 'the validating webhook of the image tree denies the unsafe switch')
  t.equal(verdict.response?.status?.message, LEGACY_TO_SANDBOX)
  const scrape = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text())
  t.match(await scrape(), /worker_runtime_controller_admission_decisions_total\{[^}]*result="denied"[^}]*\} 1\n/)
  t.match(await scrape(), /worker_runtime_controller_leader 1/, 'the reconciler leads')

  await controller.stop(30_000)
  t.same(await controller.exited, { code: 0, signal: null }, 'SIGTERM: drained and exited 0')
  t.same(await listFiles(app), before, 'nothing was written into the image tree (a read-only root filesystem is fine)')
  t.same(await listFiles(home), [], 'nor into the home directory')
})
