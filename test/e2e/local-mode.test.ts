// The embedded local mode (cli/local.ts) as `npm start` uses it: with the real webhook server
// running, it starts a control plane with a fake Node in its data directory, installs the CRD and
// the webhooks (enforced on return), writes a kubeconfig kubectl can use, keeps its data across
// restarts (the Node Ready again), refuses a second instance on the same directory, and leaves no
// process behind when closed.

import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { parse } from 'yaml'
import { detectCluster } from '../../cli/cluster.ts'
import { startLocalControlPlane } from '../../localcluster/local-mode.ts'
import { findKubeBinaries } from '../../localcluster/binaries.ts'
import { removeDirNow } from '../../localcluster/exit-cleanup.ts'
import { runKubectl } from '../../localcluster/kubectl.ts'
import { BUILD_AND_START_TIMEOUT_MS, SUITE_TIMEOUT_MS } from '../harness/suite.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import { startTestWebhookServer } from '../harness/webhook-server.ts'
import { workerYaml } from '../harness/workers.ts'

t.setTimeout(BUILD_AND_START_TIMEOUT_MS)
const binaries = await findKubeBinaries()
const dir = await createOwnedTempDir('wrc-local-mode-')
t.teardown(() => removeDirNow(dir))
const webhook = await startTestWebhookServer()
t.teardown(() => webhook.close())
const log = pino({ level: 'silent' })
const start = () => startLocalControlPlane({ log, webhook: webhook.server, caPem: webhook.endpoint.caPem, dir })
const kubectl = (args: string[], stdin?: string) =>
  runKubectl({ kubectlPath: binaries.kubectl, kubeconfigPath: join(dir, 'kubeconfig'), cacheDir: join(dir, 'kubectl-cache') }, args, { stdin })
t.setTimeout(SUITE_TIMEOUT_MS)

t.test('detectCluster: a kubeconfig wins, then in-cluster, else local', async (t) => {
  const emptyHome = dir
  t.equal(detectCluster({}, emptyHome), 'local')
  t.equal(detectCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, emptyHome), 'in-cluster')
  t.equal(detectCluster({ KUBECONFIG: '/x/config', KUBERNETES_SERVICE_HOST: '10.0.0.1' }, emptyHome), 'kubeconfig')
})

t.test('the local control plane serves the Worker API with the webhooks enforced, and keeps its data', async (t) => {
  const first = await start()
  t.equal(first.kubeconfigPath, join(dir, 'kubeconfig'))
  t.match(first.welcome(), `export KUBECONFIG=${join(dir, 'kubeconfig')}`)
  t.match(first.welcome(), 'kubectl get workers')
  const probe = await kubectl(['get', 'workers', '-A', '-o', 'name'])
  t.equal(probe.stdout.trim(), '', 'the admission probe Worker was removed again')

  t.equal((await kubectl(['create', 'namespace', 'demo'])).code, 0)
  const created = await kubectl(['apply', '-f', '-'], workerYaml('demo', 'alice', { runtime: 'openclaw' }))
  t.equal(created.code, 0, created.stderr)
  const stored = parse((await kubectl(['get', 'worker', 'alice', '-n', 'demo', '-o', 'yaml'])).stdout)
  t.same(stored.spec, { runtime: 'openclaw', backendRuntime: 'pod', state: 'Running' }, 'defaults from the webhook')
  t.equal((await kubectl(['patch', 'worker', 'alice', '-n', 'demo', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}'])).code, 0)
  const denied = await kubectl(['patch', 'worker', 'alice', '-n', 'demo', '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
  t.equal(denied.code, 1)
  t.match(denied.stderr, 'admission webhook "validate.workers.agentteams.io" denied the request: spec.backendRuntime cannot be changed')

  t.match((await kubectl(['get', 'nodes'])).stdout, /kwok-node-0\s+Ready\s+agent/, 'the fake Node is Ready')
  t.match(first.welcome(), 'kubectl get nodes')
  t.notMatch(first.welcome(), /stays Pending/, 'no caveat about Pods that never run')

  await t.rejects(start(), { name: 'LocalControlPlaneError', message: /already used by process/ }, 'a second instance on the same directory is refused')
  t.ok(processesOf(dir).split('\n').length >= 5, 'etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run')
  await first.close()
  t.equal(processesOf(dir), '', 'close() leaves no process of the control plane running')

  const second = await start()
  t.teardown(() => second.close())
  const again = await kubectl(['get', 'worker', 'alice', '-n', 'demo', '-o', 'jsonpath={.spec.backendRuntime}/{.status.phase}'])
  t.equal(again.stdout, 'pod/Running', 'the Worker survived the restart')
  t.match((await kubectl(['get', 'nodes'])).stdout, /kwok-node-0\s+Ready\s+agent/, 'the same fake Node is Ready again after the restart')
})

/** Command lines of processes whose arguments mention `path` (pgrep exits 1 when there are none). */
function processesOf(path: string): string {
  try {
    return execFileSync('pgrep', ['-af', path], { encoding: 'utf8' }).trim()
  } catch {
    return ''
  }
}
