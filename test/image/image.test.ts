// The container image, built and run for real: `node scripts/image.ts` (what `npm run image` runs)
// builds it with podman; the image holds production dependencies only, no test file, no CA of the
// build machine in any layer, and a numeric non-root user; then it runs as the chart runs it
// (the rendered Deployment's user, read-only root filesystem, env, mounts and ServiceAccount, host
// network) against the real control plane: `--help`, a denial by its webhook over TLS through
// kube-apiserver, the Lease, a pod Worker reconciled to its phase, and SIGTERM → exit 0 within
// the chart's grace period. Needs root and podman; under CI=true a missing podman fails.

import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, readdir, rm } from 'node:fs/promises'
import { get as httpGet } from 'node:http'
import { get as httpsGet } from 'node:https'
import { join } from 'node:path'
import { createServingCertificates } from '../../certs/certs.ts'
import { npmCaFile, REPO } from '../../scripts/image/build.ts'
import { podman, type Podman } from '../../scripts/image/podman.ts'
import { WEBHOOK_DENIAL_PREFIX, waitForBackendRuleEnforced, waitForDefaulting } from '../../localcluster/admission-probes.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { onProcessExit } from '../../localcluster/exit-cleanup.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { ensureNamespace } from '../../localcluster/namespaces.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { applyObject } from '../../localcluster/objects.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { freePorts } from '../../localcluster/ports.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import { rewriteClientConfig } from '../../localcluster/webhooks.ts'
import { workerPath } from '../../api/worker.ts'
import { workerYaml } from '../harness/workers.ts'
import { find, NAMESPACE, RELEASE, render, run } from '../chart/helm.ts'
import { certificateBodiesIn, listFiles, machineOnlyCertificates, mountImage, saveImage, unmountImage } from './image-contents.ts'
import { podRun } from './pod-to-podman.ts'

/** The test's own tag: a developer's `:dev` image is left alone. Runs use the build's image ID. */
const TAG = 'localhost/worker-runtime-controller:test'
/** Label naming the test process that started a container (leftovers of dead runs are removed). */
const OWNER_LABEL = 'io.worker-runtime-controller.test-owner'
/** Cold, measured: base assembled 70–105 s, podman build 30–40 s on 2 shared cores; room for a slow mirror. */
const BUILD_TIMEOUT_MS = 12 * 60_000

const missing = await podman().then(
  (pm): { pm: Podman; reason?: undefined } => ({ pm }),
  (error: Error) => ({ pm: undefined, reason: error.message }),
)
const notRoot = process.getuid?.() !== 0 ? 'the image test runs podman as root (image mount, host network)' : undefined
const skip = process.env['CI'] === 'true' ? false : (missing.reason ?? notRoot ?? false)

t.test('the container image', { skip }, async (t) => {
  const pm = missing.pm
  if (!pm) throw new Error(`${missing.reason} (under CI=true a missing podman fails the image test)`)
  if (notRoot) throw new Error(notRoot)
  t.setTimeout(BUILD_TIMEOUT_MS)
  const dir = await createOwnedTempDir('wrc-image-test-')
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await removeLeftoverContainers(pm)

  const built = await run(process.execPath, [join(REPO, 'scripts', 'image.ts'), '--tag', TAG], { timeoutMs: BUILD_TIMEOUT_MS, env: pm.env as Record<string, string> })
  t.equal(built.code, 0, built.code === 0 ? 'node scripts/image.ts built the image' : built.stderr.trim().split('\n').slice(-8).join('\n'))
  const summary = built.stdout.trim().split('\n').pop() ?? ''
  t.comment(summary)
  const id = summary.match(/\(image ([0-9a-f]{12})\)/)?.[1]
  if (!id) throw new Error(`no image id in: ${summary}`)

  await t.test('what the image holds: production dependencies, no test file, no CA of the build machine, a non-root user', async (t) => {
    const [config] = JSON.parse((await pm.checked(['image', 'inspect', id])).stdout) as Array<{ Config: { User: string; Env: string[]; Entrypoint: string[]; Cmd: string[]; Healthcheck?: unknown } }>
    t.match(config?.Config.User, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root user (runAsNonRoot can verify it)')
    t.same(config?.Config.Entrypoint, ['node', 'bin/worker-runtime-controller.ts'], 'the TypeScript entry point, run by Node directly')
    t.same(config?.Config.Cmd, ['serve'], 'serve by default')
    t.notOk(config?.Config.Healthcheck, 'no HEALTHCHECK: Kubernetes probes /healthz and /readyz')
    const leaked = (config?.Config.Env ?? []).filter((e) => /^(NODE_EXTRA_CA_CERTS|NPM_CONFIG_|npm_config_|SSL_CERT_|https?_proxy|HTTPS?_PROXY)/.test(e))
    t.same(leaked, [], 'no CA path, npm setting or proxy of the build machine in its environment')

    const root = await mountImage(pm, id)
    t.teardown(() => unmountImage(pm, id))
    const app = join(root, 'app')
    const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path.startsWith('node_modules/') && p.dev).map(([path]) => path)
    t.ok(devOnly.includes('node_modules/typescript') && devOnly.includes('node_modules/tap'), 'the lockfile marks the dev-only packages')
    t.same(devOnly.filter((path) => existsSync(join(app, path))), [], `none of the ${devOnly.length} dev-only packages`)
    const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    t.same(Object.keys(manifest.dependencies).filter((name) => !existsSync(join(app, 'node_modules', name))), [], 'every production dependency')
    const files = await listFiles(app, (path) => path.startsWith('node_modules'))
    t.ok(files.includes('bin/worker-runtime-controller.ts'), 'the sources')
    t.same(files.filter((f) => /(^|\/)test\/|\.test\.ts$/.test(f)), [], 'no test file')
    t.same(files.filter((f) => f.startsWith('localcluster/')), [], 'no local control plane (localcluster/)')
    t.same(files.filter((f) => f.startsWith('certs/') && f !== 'certs/certs.ts'), [], 'no local key material')
    t.notOk(existsSync(join(root, 'run', 'secrets', 'npm-ca')), 'no trace of the build secret')

    const caFile = (await npmCaFile(pm.env)) ?? '/etc/ssl/certs/ca-certificates.crt'
    const machineOnly = existsSync(caFile) ? await machineOnlyCertificates(caFile) : []
    const archive = join(dir, 'image.tar')
    await saveImage(pm, id, archive)
    const inImage = await certificateBodiesIn(archive)
    await rm(archive)
    t.comment(`${inImage.size} PEM certificates in the image's layers; ${machineOnly.length} of ${caFile} that Node does not ship`)
    t.same(machineOnly.filter((c) => inImage.has(c.body)).map((c) => c.subject), [], `no certificate of the build machine's ${caFile} in any layer`)
  })

  const cp = await startSuiteControlPlane(t)
  t.setTimeout(10 * 60_000)
  await installCrds(cp.api, [MANIFESTS.workerCrd])
  await ensureNamespace(cp.api, NAMESPACE)
  const [webhookPort, healthPort] = (await freePorts(2)) as [number, number]
  const objects = await render({
    'config.webhookAddress': '127.0.0.1', 'config.webhookPort': webhookPort,
    'config.healthAddress': '127.0.0.1', 'config.healthPort': healthPort,
  })
  const rbac = objects.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind))
  const applied = await cp.kubectl(['apply', '-f', '-'], { stdin: rbac.map((o) => JSON.stringify(o)).join('\n---\n') })
  t.equal(applied.code, 0, said("the chart's RBAC applied", applied))
  const deployment = find(objects, 'Deployment')
  const serviceAccount = deployment['spec'].template.spec.serviceAccountName as string
  const tokenRequest = await cp.api.request('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${serviceAccount}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
  })
  const token = tokenRequest.body?.status?.token as string
  t.ok(token, `a token of the chart's ServiceAccount: HTTP ${tokenRequest.status}`)
  const certs = await createServingCertificates()
  const name = `${RELEASE}-test-${process.pid}`
  const pod = await podRun(deployment, {
    image: id, name, dir,
    secrets: { [`${RELEASE}-tls`]: { 'tls.crt': certs.serving.cert, 'tls.key': certs.serving.key } },
    serviceAccount: { token, caPem: cp.caPem, namespace: NAMESPACE },
    apiserver: { host: '127.0.0.1', port: Number(new URL(cp.url).port) },
    labels: { [OWNER_LABEL]: String(process.pid) },
  })
  t.equal(pod.ports['webhook'], webhookPort, 'the chart\'s webhook port is the one the webhook configurations call')

  await t.test('--help prints usage, as the chart user with a read-only root filesystem', async (t) => {
    const [user] = pod.args.slice(pod.args.indexOf('--user') + 1)
    const help = await pm.run(['run', '--rm', '--network=none', '--read-only', '--read-only-tmpfs=false', '--user', user as string, id, '--help'])
    t.equal(help.code, 0, said('exit 0', help))
    t.match(help.stdout, /usage: worker-runtime-controller <command>/)
    t.match(help.stdout, /^ {2}serve {3}/m, 'the serve command')
  })

  const started = await pm.run(['run', ...pod.args])
  t.equal(started.code, 0, said("podman run --network=host --read-only, the chart's user, env and mounts", started))
  const removeNow = () => spawnSync('podman', ['rm', '--force', '--time', '0', name], { env: pm.env, stdio: 'ignore' })
  const unregister = onProcessExit(removeNow)
  t.teardown(async () => {
    await pm.run(['rm', '--force', '--time', '0', name])
    unregister()
  })
  const logs = async () => {
    const r = await pm.run(['logs', name])
    return r.stdout + r.stderr
  }
  const state = async () => JSON.parse((await pm.checked(['inspect', '--format', '{{json .State}}', name])).stdout) as { Running: boolean; Pid: number; ExitCode: number }
  const readyz = deployment['spec'].template.spec.containers[0].readinessProbe.httpGet
  const readyUrl = `${(readyz.scheme ?? 'HTTP').toLowerCase()}://127.0.0.1:${pod.ports[readyz.port] ?? readyz.port}${readyz.path}`
  const readiness = await pollUntil('the controller in the container to be ready', async () => {
    if (!(await state()).Running) return 'exited'
    return (await probeStatus(readyUrl).catch(() => undefined)) === 200 ? 'ready' : undefined
  }, { timeoutMs: 120_000, intervalMs: 500 })
  if (readiness === 'exited') throw new Error(`the container exited:\n${(await logs()).split('\n').slice(-20).join('\n')}`)
  const status = await readFile(`/proc/${(await state()).Pid}/status`, 'utf8')
  t.match(status, /^Uid:\t1000\t1000\t1000\t1000$/m, 'the process runs as uid 1000, the chart\'s runAsUser')

  await t.test('its webhook denies the unsafe switch over TLS, through kube-apiserver; its reconciler holds the Lease and runs a pod Worker', async (t) => {
    const endpoint = { url: `https://127.0.0.1:${webhookPort}`, caPem: certs.ca.cert }
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) await applyObject(cp.api, rewriteClientConfig(find(objects, kind), endpoint))
    const probe = await createNamespace(cp.api, 'image-probe')
    await waitForDefaulting(cp.api, probe)
    await waitForBackendRuleEnforced(cp.api, probe, WEBHOOK_DENIAL_PREFIX)

    const lease = await pollUntil('the container to hold the Lease', async () => {
      const r = await cp.api.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/worker-runtime-controller-reconciler`)
      return r.body?.spec?.holderIdentity as string | undefined
    })
    t.match(lease, new RegExp(`^${name}_`), 'held by the container (its hostname is the pod name)')

    const ns = await createNamespace(cp.api, 'image')
    const created = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'alice', { image: 'example.com/worker:1' }) })
    t.equal(created.code, 0, said('kubectl apply of a pod Worker', created))
    const worker = await pollUntil('the reconciler in the container to run the pod Worker', async () => {
      const w = (await cp.api.request('GET', workerPath(ns, 'alice'))).body
      return ['Starting', 'Running'].includes(w?.status?.phase) ? w : undefined
    })
    t.equal(worker.spec.backendRuntime, 'pod', 'defaulted by its mutating webhook')
    t.equal(worker.status.backendRuntime, 'pod', 'recorded before the Pod was created')
    // `Starting` while the Pod is Pending (no node runs it here), `Running` once a node does.
    const pods = (await cp.api.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=agentteams.io/worker=alice`)).body
    t.equal(pods?.items?.length, 1, 'its Pod exists')

    const denied = await cp.kubectl(['patch', 'worker', 'alice', '-n', ns, '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
    t.equal(denied.code, 1, 'kubectl exits 1')
    t.match(denied.stderr, /^Error from server \(Forbidden\): /)
    t.match(denied.stderr, WEBHOOK_DENIAL_PREFIX + 'spec.backendRuntime cannot be changed until the Worker is Stopped; current=pod, desired=sandbox')
    t.match(denied.stderr, /\(status\.phase=(Starting|Running); status\.backendRuntime=pod\)\. Set spec\.state=Stopped/)
  })

  await t.test(`SIGTERM: it drains and exits 0 within the chart's terminationGracePeriodSeconds (${pod.gracePeriodSeconds} s)`, async (t) => {
    const before = Date.now()
    // What kubelet does: SIGTERM, then SIGKILL after the grace period.
    const stopped = await pm.run(['stop', '--time', String(pod.gracePeriodSeconds), name])
    const ms = Date.now() - before
    t.equal(stopped.code, 0, said('podman stop', stopped))
    const { ExitCode } = await state()
    t.equal(ExitCode, 0, ExitCode === 0 ? 'exit code 0' : `exit code ${ExitCode} (137: SIGKILLed):\n${(await logs()).split('\n').slice(-10).join('\n')}`)
    t.ok(ms < pod.gracePeriodSeconds * 1000, `exited after ${ms} ms`)
    t.comment(`SIGTERM to exit: ${ms} ms`)
    const output = await logs()
    t.notOk(output.includes(token) || output.includes(certs.serving.key.trim().split('\n')[1] ?? '-'), 'neither the token nor the TLS key in its logs')
  })
})

/** The status code of GET `url` as kubelet's HTTP(S) probe sees it (an HTTPS probe verifies no certificate). */
function probeStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)))
    req.on('error', reject)
  })
}

/** An assertion message: `what`, and on failure the command's error output. */
function said(what: string, result: { code: number | null; stderr: string }): string {
  return result.code === 0 ? what : `${what}: ${result.stderr.trim()}`
}

/** Removes containers of this test whose owner process is gone (a runner killed with SIGKILL). */
async function removeLeftoverContainers(pm: Podman): Promise<void> {
  const listed = await pm.run(['ps', '--all', '--filter', `label=${OWNER_LABEL}`, '--format', `{{.ID}} {{index .Labels "${OWNER_LABEL}"}}`])
  for (const line of listed.stdout.trim().split('\n').filter(Boolean)) {
    const [container, owner] = line.split(' ')
    if (owner && !(await readdir(`/proc/${owner}`).catch(() => undefined))) await pm.run(['rm', '--force', '--time', '0', container as string])
  }
}
