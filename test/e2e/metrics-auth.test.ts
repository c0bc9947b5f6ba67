// Secure /metrics end to end: the real controller process (`serve`, as the image runs it) on a real
// API server, authenticated as the chart's ServiceAccount with the chart's RBAC applied for real.
// A ServiceAccount the chart binds to <release>-metrics-reader scrapes 200 over HTTPS (the serving
// certificate checked against its CA) and sees the API client metrics of the Worker it created; a
// ServiceAccount without the binding gets 403; no token or a garbage one gets 401. No token reaches
// the controller's log.

import t from 'tap'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServingCertificates, writeServingCertificates } from '../../certs/certs.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { ensureNamespace } from '../../localcluster/namespaces.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { freePorts } from '../../localcluster/ports.ts'
import { startProcess } from '../../localcluster/processes.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { METRIC_API_REQUESTS } from '../../reconciler/controller/kube-metrics.ts'
import { NAMESPACE, RELEASE, render } from '../chart/helm.ts'
import { kubectlApply } from './rbac-kit.ts'
import { createServiceAccount, scrape, serviceAccountToken, tokenKubeconfig } from './metrics-kit.ts'

const BIN = fileURLToPath(new URL('../../bin/worker-runtime-controller.ts', import.meta.url))
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])
await ensureNamespace(cp.api, NAMESPACE)
const rbac = (await render({ 'monitoring.metricsReaderSubjects': [{ kind: 'ServiceAccount', name: 'scraper', namespace: NAMESPACE }] }))
  .filter((o) => RBAC_KINDS.includes(o.kind))
await kubectlApply(cp, rbac)
for (const name of ['scraper', 'nobody']) await createServiceAccount(cp.api, NAMESPACE, name)

const dir = await createOwnedTempDir('wrc-metrics-')
t.teardown(() => rm(dir, { recursive: true, force: true }))
const certs = await createServingCertificates()
await writeServingCertificates(dir, certs)
const controllerToken = await serviceAccountToken(cp.api, NAMESPACE, RELEASE)
await writeFile(join(dir, 'kubeconfig'), tokenKubeconfig(cp.url, cp.caPem, controllerToken, RELEASE), { mode: 0o600 })
const [webhookPort, healthPort, metricsPort] = (await freePorts(3)) as [number, number, number]
const controller = startProcess({
  name: 'worker-runtime-controller (secure metrics)',
  command: process.execPath,
  args: [BIN, 'serve'],
  logFile: join(dir, 'controller.log'),
  env: {
    HOME: dir,
    KUBECONFIG: join(dir, 'kubeconfig'),
    AGENTTEAMS_WEBHOOK_ADDRESS: '127.0.0.1',
    AGENTTEAMS_WEBHOOK_PORT: String(webhookPort),
    AGENTTEAMS_HEALTH_ADDRESS: '127.0.0.1',
    AGENTTEAMS_HEALTH_PORT: String(healthPort),
    AGENTTEAMS_METRICS_ADDRESS: '127.0.0.1',
    AGENTTEAMS_METRICS_PORT: String(metricsPort),
    AGENTTEAMS_TLS_CERT_FILE: join(dir, 'tls.crt'),
    AGENTTEAMS_TLS_KEY_FILE: join(dir, 'tls.key'),
    AGENTTEAMS_DEPS_FILESYSTEM_DIR: join(dir, 'deps'),
    AGENTTEAMS_LEADER_ELECTION_NAMESPACE: NAMESPACE,
    AGENTTEAMS_SANDBOX_ENABLED: 'false',
  },
})
t.teardown(() => controller.stop())
await pollUntil('the controller to be ready', async () => {
  const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined)
  return ready?.status === 200 ? true : undefined
}, { timeoutMs: 120_000, abortIf: () => (controller.hasExited() ? `it exited:\n${controller.logTail(20)}` : undefined) })

const METRICS_URL = `https://127.0.0.1:${metricsPort}/metrics`
const ca = certs.ca.cert
const tokens = {
  scraper: await serviceAccountToken(cp.api, NAMESPACE, 'scraper'),
  nobody: await serviceAccountToken(cp.api, NAMESPACE, 'nobody'),
}

t.test('a ServiceAccount bound to metrics-reader scrapes 200 over HTTPS the CA vouches for', async (t) => {
  const r = await scrape(METRICS_URL, ca, `Bearer ${tokens.scraper}`)
  t.equal(r.status, 200)
  t.match(String(r.headers['content-type']), /^text\/plain/)
  t.match(r.text, /worker_runtime_controller_leader 1/, 'the reconciler\'s metrics')
  t.match(r.text, `${METRIC_API_REQUESTS}{verb="create",group="authentication.k8s.io",resource="tokenreviews",code="201"} 1`, 'its own TokenReview, counted like any API request')
  await t.rejects(scrape(METRICS_URL, (await createServingCertificates()).ca.cert, `Bearer ${tokens.scraper}`), /self-signed|unable to verify|certificate/, 'another CA is not trusted: the certificate is the serving one')
})

t.test('a ServiceAccount without the binding gets 403; no token or a garbage one gets 401', async (t) => {
  const denied = await scrape(METRICS_URL, ca, `Bearer ${tokens.nobody}`)
  t.same([denied.status, denied.text], [403, `Authorization denied for user system:serviceaccount:${NAMESPACE}:nobody\n`])
  t.notMatch(denied.text, 'worker_runtime_controller_')
  const controllerItself = await scrape(METRICS_URL, ca, `Bearer ${controllerToken}`)
  t.equal(controllerItself.status, 403, 'the controller\'s own account may review, not read')
  const none = await scrape(METRICS_URL, ca)
  t.same([none.status, none.text, none.headers['www-authenticate']], [401, 'Unauthorized\n', 'Bearer'])
  const garbage = await scrape(METRICS_URL, ca, 'Bearer not-a-token.at-all')
  t.equal(garbage.status, 401)
  const basic = await scrape(METRICS_URL, ca, `Basic ${Buffer.from('admin:admin').toString('base64')}`)
  t.equal(basic.status, 401, 'only bearer tokens')
})

t.test('API requests per Worker can be read from the running controller', async (t) => {
  const count = (text: string, verb: string, resource: string) => [...text.matchAll(new RegExp(`^${METRIC_API_REQUESTS}\\{verb="${verb}",group="[^"]*",resource="${resource}",code="2\\d\\d"\\} (\\d+)$`, 'gm'))]
    .reduce((sum, m) => sum + Number(m[1]), 0)
  const before = (await scrape(METRICS_URL, ca, `Bearer ${tokens.scraper}`)).text
  const ns = await createNamespace(cp.api, 'metrics')
  await createWorker(cp.api, ns, 'alice', { runtime: 'openclaw' })
  const after = await pollUntil('the Worker\'s Pod create to show in the metrics', async () => {
    const text = (await scrape(METRICS_URL, ca, `Bearer ${tokens.scraper}`)).text
    return count(text, 'create', 'pods') > count(before, 'create', 'pods') && count(text, 'patch', 'workers/status') > count(before, 'patch', 'workers/status') ? text : undefined
  }, { timeoutMs: 60_000 })
  t.equal(count(after, 'create', 'pods') - count(before, 'create', 'pods'), 1, 'one Pod created for one Worker')
  t.ok(count(after, 'patch', 'workers/status') - count(before, 'patch', 'workers/status') >= 1, 'its status written')
  t.notMatch(after, new RegExp(`${ns}|alice`), 'no namespace or object name in any label')
})

t.test('no token in the controller log; it stops cleanly', async (t) => {
  await controller.stop(30_000)
  t.same(await controller.exited, { code: 0, signal: null }, 'SIGTERM: exit 0')
  const log = await readFile(join(dir, 'controller.log'), 'utf8')
  t.match(log, '"msg":"serving /metrics over HTTPS to callers the API server allows get on /metrics"')
  for (const [name, token] of Object.entries({ ...tokens, controller: controllerToken })) t.notOk(log.includes(token), `the ${name} token is not logged`)
  t.notOk(log.includes('not-a-token.at-all'), 'nor a garbage one')
})
