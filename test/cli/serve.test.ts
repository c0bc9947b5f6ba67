// The command a newcomer runs: `worker-runtime-controller serve` with no cluster configured brings
// up the embedded control plane, serves the webhooks and the reconciler, answers real kubectl, and
// on SIGTERM stops everything and exits 0. Bad configuration: one line, exit 2, nothing started.

import t from 'tap'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findKubeBinaries } from '../harness/binaries.ts'
import { runKubectl } from '../harness/kubectl.ts'
import { childEnvironment } from '../harness/processes.ts'

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

t.test('serve with no cluster: local control plane, webhooks, reconciler, clean SIGTERM', async (t) => {
  const binaries = await findKubeBinaries({ build: process.env['CI'] !== 'true' })
  const cwd = await mkdtemp(join(tmpdir(), 'wrc-cli-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  // The binaries this test found are handed over (envtest's KUBEBUILDER_ASSETS), as the fresh HOME has no cache.
  const r = run(['serve', '--webhook-port=0', '--health-port=0', '--metrics-port=0'], cwd, { KUBEBUILDER_ASSETS: binaries.dir })
  t.teardown(() => void r.child.kill('SIGKILL'))
  await waitFor('the reconciler to start', () => r.output().includes('workers started'), 180_000, r.output)

  const out = r.output()
  t.match(out, `export KUBECONFIG=${join(cwd, '.local/kubeconfig')}`, 'prints the KUBECONFIG line')
  const kubectl = { kubectlPath: binaries.kubectl, kubeconfigPath: join(cwd, '.local/kubeconfig'), cacheDir: join(cwd, '.kubecache') }
  t.equal((await runKubectl(kubectl, ['create', 'namespace', 'demo'])).code, 0)
  const worker = 'apiVersion: agentteams.io/v1beta1\nkind: Worker\nmetadata: {name: alice, namespace: demo}\nspec: {runtime: openclaw}\n'
  const applied = await runKubectl(kubectl, ['apply', '-f', '-'], { stdin: worker })
  t.equal(applied.code, 0, applied.stderr)

  // The reconciler runs it as a pod (no kubelet: the Pod stays Pending, the Worker Starting).
  let row = ''
  for (let i = 0; i < 150 && !/Starting\s+pod\s+pod\s+Running/.test(row); i++) {
    row = (await runKubectl(kubectl, ['get', 'workers', '-n', 'demo'])).stdout
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.match(row, /alice\s+Starting\s+pod\s+pod\s+Running/, 'kubectl get workers shows phase, backend, desired and state')

  const denied = await runKubectl(kubectl, ['patch', 'worker', 'alice', '-n', 'demo', '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
  t.equal(denied.code, 1)
  t.match(denied.stderr, 'admission webhook "validate.workers.agentteams.io" denied the request: spec.backendRuntime cannot be changed until the Worker is Stopped; current=pod, desired=sandbox (status.phase=Starting; status.backendRuntime=pod).')

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
  t.equal(running(join(cwd, '.local')), '', 'no etcd or kube-apiserver is left running')
})

/** Command lines of processes whose arguments mention `path` (pgrep exits 1 when there are none). */
function running(path: string): string {
  try {
    return execFileSync('pgrep', ['-af', path], { encoding: 'utf8' }).trim()
  } catch {
    return ''
  }
}
