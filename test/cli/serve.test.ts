// The command a newcomer runs: `worker-runtime-controller serve` with no cluster configured brings
// up the embedded control plane (Pods run on its fake Node), serves the webhooks and the
// reconciler, answers real kubectl, and on SIGTERM stops everything and exits 0. Bad
// configuration: one line, exit 2, nothing started.

import t from 'tap'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findKubeBinaries, findKwokBinaries } from '../../localcluster/binaries.ts'
import { runKubectl } from '../../localcluster/kubectl.ts'
import { childEnvironment } from '../../localcluster/processes.ts'

const BIN = fileURLToPath(new URL('../../bin/worker-runtime-controller.ts', import.meta.url))

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function run(args: string[], cwd: string, env: Record<string, string> = {}): Run {
  // A fresh HOME and no KUBECONFIG: nothing tells the command where a cluster is.
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...childEnvironment({ HOME: cwd, ...env }), KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => text, exited }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

t.test('an invalid value stops the command with one line and exit code 2', async (t) => {
  const cwd = await mkdtemp(join(tmpdir(), 'wrc-cli-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  const r = run(['serve', '--webhook-port=https'], cwd)
  t.equal(await r.exited, 2)
  t.equal(r.output(), 'worker-runtime-controller: invalid configuration: AGENTTEAMS_WEBHOOK_PORT (--webhook-port) = "https": must be an integer from 0 to 65535\n')
  t.notOk(existsSync(join(cwd, '.local')), 'no control plane was started')
})

t.test('certs writes a CA and a serving certificate and prints the CA bundle', async (t) => {
  const cwd = await mkdtemp(join(tmpdir(), 'wrc-cli-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  const r = run(['certs', '--dns', 'webhook.example.svc'], cwd)
  t.equal(await r.exited, 0)
  const ca = await readFile(join(cwd, 'certs/ca.crt'), 'utf8')
  t.match(r.output(), Buffer.from(ca).toString('base64'), 'the base64 CA bundle is printed')
  t.match(r.output(), 'SANs: 127.0.0.1, localhost, webhook.example.svc')
  t.ok(existsSync(join(cwd, 'certs/tls.key')))
})

t.test('serve with no cluster: local control plane with a fake Node, webhooks, reconciler, a pod Worker Running, clean SIGTERM', async (t) => {
  const binaries = await findKubeBinaries({ build: process.env['CI'] !== 'true' })
  const kwok = await findKwokBinaries({ build: process.env['CI'] !== 'true' })
  const cwd = await mkdtemp(join(tmpdir(), 'wrc-cli-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  // The binaries this test found are handed over, as the fresh HOME has no cache: the kube ones as
  // envtest's KUBEBUILDER_ASSETS, kwok through the tools cache it was built into.
  const toolsCache = dirname(dirname(kwok.kwok))
  const r = run(['serve', '--webhook-port=0', '--health-port=0', '--metrics-port=0'], cwd, { KUBEBUILDER_ASSETS: binaries.dir, WRC_TOOLS_CACHE: toolsCache })
  t.teardown(() => void r.child.kill('SIGKILL'))
  await waitFor('the reconciler to start', () => r.output().includes('workers started'), 180_000, r.output)

  const out = r.output()
  t.match(out, `export KUBECONFIG=${join(cwd, '.local/kubeconfig')}`, 'prints the KUBECONFIG line')
  const kubectl = { kubectlPath: binaries.kubectl, kubeconfigPath: join(cwd, '.local/kubeconfig'), cacheDir: join(cwd, '.kubecache') }
  t.equal((await runKubectl(kubectl, ['create', 'namespace', 'demo'])).code, 0)
  const worker = 'apiVersion: agentteams.io/v1beta1\nkind: Worker\nmetadata: {name: alice, namespace: demo}\nspec: {runtime: openclaw}\n'
  const applied = await runKubectl(kubectl, ['apply', '-f', '-'], { stdin: worker })
  t.equal(applied.code, 0, applied.stderr)

  t.match((await runKubectl(kubectl, ['get', 'nodes'])).stdout, /kwok-node-0\s+Ready\s+agent/, 'kubectl get nodes: the fake Node is Ready')

  // The reconciler runs it as a pod, which kube-scheduler binds to the fake Node and kwok runs.
  const rows = async (pattern: RegExp): Promise<string> => {
    let text = ''
    for (let i = 0; i < 300 && !pattern.test(text); i++) {
      text = (await runKubectl(kubectl, ['get', 'workers,pods', '-n', 'demo'])).stdout
      if (!pattern.test(text)) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    return text
  }
  const running = await rows(/alice\s+Running\s+pod\s+pod\s+Running[\s\S]*agentteams-worker-alice\s+1\/1\s+Running/)
  t.match(running, /worker\.agentteams\.io\/alice\s+Running\s+pod\s+pod\s+Running/, 'kubectl get workers shows phase Running, backend, desired and state')
  t.match(running, /pod\/agentteams-worker-alice\s+1\/1\s+Running/, 'and its Pod 1/1 Running')
  const ready = await runKubectl(kubectl, ['get', 'worker', 'alice', '-n', 'demo', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])
  t.equal(ready.stdout, 'True', 'Ready=True')

  const denied = await runKubectl(kubectl, ['patch', 'worker', 'alice', '-n', 'demo', '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
  t.equal(denied.code, 1)
  t.match(denied.stderr, 'admission webhook "validate.workers.agentteams.io" denied the request: spec.backendRuntime cannot be changed until the Worker is Stopped; current=pod, desired=sandbox (status.phase=Running; status.backendRuntime=pod).')

  t.equal((await runKubectl(kubectl, ['patch', 'worker', 'alice', '-n', 'demo', '--type=merge', '-p', '{"spec":{"state":"Stopped"}}'])).code, 0)
  const stopped = await rows(/alice\s+Stopped\s+pod\s+pod\s+Stopped/)
  t.match(stopped, /worker\.agentteams\.io\/alice\s+Stopped\s+pod\s+pod\s+Stopped/, 'Stopped is reported')
  t.notMatch(stopped, /pod\/agentteams-worker-alice/, 'and the Pod is gone')

  // Local mode: plain-HTTP /metrics on loopback, and it says so (a cluster gets HTTPS and tokens).
  const metricsUrl = r.output().match(/Metrics: curl (http:\/\/127\.0\.0\.1:\d+\/metrics) +# plain HTTP, no authentication: local mode/)?.[1]
  t.ok(metricsUrl, 'the welcome names the plain-HTTP metrics URL')
  t.match(r.output(), '"msg":"serving /metrics over plain HTTP without authentication (local mode)"')
  t.match(await (await fetch(metricsUrl as string)).text(), /worker_runtime_controller_rest_client_requests_total\{verb="patch",group="agentteams.io",resource="workers\/status"/)

  const lockOwner = Number(await readFile(join(cwd, '.local/lock'), 'utf8').catch(() => '0'))
  t.equal(lockOwner, r.child.pid, 'the local mode holds its directory lock')
  r.child.kill('SIGTERM')
  t.equal(await r.exited, 0, 'exits 0 after SIGTERM')
  t.match(r.output(), '"msg":"stopped"')
  t.notOk(existsSync(join(cwd, '.local/lock')), 'the lock is released')
  t.equal(processesOf(join(cwd, '.local')), '', 'no etcd, kube-apiserver, kube-controller-manager, kube-scheduler or kwok is left running')
})

/** Command lines of processes whose arguments mention `path` (pgrep exits 1 when there are none). */
function processesOf(path: string): string {
  try {
    return execFileSync('pgrep', ['-af', path], { encoding: 'utf8' }).trim()
  } catch {
    return ''
  }
}
