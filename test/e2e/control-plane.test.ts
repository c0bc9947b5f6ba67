// The harness's own promise: a control plane that really serves (RBAC on, TokenRequest works), with
// nodes runs Pods and deletes namespaces, rides out kube-apiserver restarts, and leaves no process
// and no directory behind — after stop(), when a test dies without teardown, when the runner gets
// SIGTERM, and when it gets SIGKILL.

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { expectSuccess } from '../../localcluster/api-client.ts'
import { startControlPlane, type ControlPlane } from '../../localcluster/control-plane.ts'
import { createNamespace, waitForDefaultServiceAccount } from '../harness/namespaces.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { BUILD_AND_START_TIMEOUT_MS, SUITE_TIMEOUT_MS } from '../harness/suite.ts'

const HOLDER = fileURLToPath(new URL('./fixtures/control-plane-holder.ts', import.meta.url))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Starts the holder; resolves with its control plane's pids and directory and the holder's exit. */
async function startHolder(mode: 'hold' | 'throw') {
  const child = spawn(process.execPath, [HOLDER, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    exited.then(() => reject(new Error(`start holder: exited before reporting: ${stderr}`)))
  })
  return { child, exited, ...(JSON.parse(line) as { pids: number[]; dir: string }) }
}

const gone = (pids: readonly number[], dir: string) =>
  pollUntil('every component to be gone', async () => (pids.some(alive) ? undefined : true), { timeoutMs: 30_000 })
    .then(() => pollUntil(`${dir} to be removed`, async () => (existsSync(dir) ? undefined : true), { timeoutMs: 10_000 }))

t.setTimeout(BUILD_AND_START_TIMEOUT_MS)

t.test('a started control plane serves as admin with RBAC and TokenRequest, and stop() leaves nothing', async (t) => {
  const cp = await startControlPlane()
  t.comment(`control plane ready in ${cp.startMs} ms`)
  t.setTimeout(SUITE_TIMEOUT_MS)
  try {
    const whoami = await cp.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}'])
    t.match(whoami.stdout, /^admin .*system:masters/, 'kubectl talks as admin (system:masters)')
    const ns = await createNamespace(cp.api, 'rbac')
    t.equal((await cp.kubectl(['create', 'serviceaccount', 'worker', '-n', ns])).code, 0)
    const forbidden = await cp.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', ns, `--as=system:serviceaccount:${ns}:worker`])
    t.equal(forbidden.stdout.trim(), 'no', 'RBAC is enforced: a ServiceAccount has no rights by default')
    const token = await cp.kubectl(['create', 'token', 'worker', '-n', ns, '--audience=hiclaw-controller', '--duration=1h'])
    t.equal(token.code, 0, token.stderr)
    const review = expectSuccess(
      await cp.api.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token: token.stdout.trim(), audiences: ['hiclaw-controller'] },
      }),
      'create TokenReview',
    )
    t.equal(review.status.user.username, `system:serviceaccount:${ns}:worker`, 'the issued token authenticates')
  } finally {
    await cp.stop()
  }
  t.notOk(cp.pids.some(alive), 'etcd and kube-apiserver have exited')
  t.notOk(existsSync(cp.dir), 'the directory is removed')
})

/** Creates Pod `name` in `ns` and resolves with it once it runs (bound by kube-scheduler, reported by kwok). */
async function runPod(cp: ControlPlane, ns: string, name: string): Promise<any> {
  await waitForDefaultServiceAccount(cp.api, ns)
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'example.com/app:1' }] } }
  expectSuccess(await cp.api.request('POST', `/api/v1/namespaces/${ns}/pods`, pod), `create Pod ${ns}/${name}`)
  return pollUntil(`Pod ${ns}/${name} Running`, async () => {
    const got = (await cp.api.request('GET', `/api/v1/namespaces/${ns}/pods/${name}`)).body
    return got?.status?.phase === 'Running' ? got : undefined
  }, { timeoutMs: 90_000 })
}

t.test('with nodes, a Pod runs on the fake Node and a namespace can be deleted; stop() ends every component', async (t) => {
  const cp = await startControlPlane({ nodes: true })
  t.comment(`control plane with nodes ready in ${cp.startMs} ms`)
  t.setTimeout(SUITE_TIMEOUT_MS)
  try {
    t.equal(cp.pids.length, 5, 'etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok')
    const nodes = await cp.kubectl(['get', 'nodes', '--no-headers'])
    t.match(nodes.stdout, new RegExp(`^${cp.nodeName}\\s+Ready\\s`), 'the fake Node is Ready')
    const ns = await createNamespace(cp.api, 'pods')
    const pod = await runPod(cp, ns, 'p')
    t.equal(pod.spec.nodeName, cp.nodeName, 'bound to the fake Node by kube-scheduler')
    t.equal(pod.spec.serviceAccountName, 'default', "ServiceAccount admission gave it the namespace's default ServiceAccount")
    t.equal((await cp.kubectl(['delete', 'namespace', ns, '--timeout=120s'])).code, 0, 'the namespace controller finishes a namespace deletion')
    t.equal((await cp.api.request('GET', `/api/v1/namespaces/${ns}`)).status, 404)
  } finally {
    await cp.stop()
  }
  t.notOk(cp.pids.some(alive), 'every component has exited')
  t.notOk(existsSync(cp.dir), 'the directory is removed')
})

t.test('restartApiserver: a new process on the same URL, certificates and etcd, the other components ride it out; pause freezes it, resume thaws it', async (t) => {
  const cp = await startControlPlane({ nodes: true })
  t.setTimeout(SUITE_TIMEOUT_MS)
  try {
    const ns = await createNamespace(cp.api, 'kept')
    const before = cp.pids[1] as number
    await cp.restartApiserver()
    t.notOk(alive(before), 'the old kube-apiserver has exited')
    t.not(cp.pids[1], before, 'a new kube-apiserver process')
    t.ok(alive(cp.pids[1] as number))
    const got = await cp.kubectl(['get', 'namespace', ns, '-o', 'name'])
    t.equal(got.stdout.trim(), `namespace/${ns}`, 'the old kubeconfig (URL and certificates) works, and the data in etcd is kept')
    t.ok(cp.pids.every(alive), 'kube-controller-manager, kube-scheduler and kwok are still running')
    t.equal((await runPod(cp, ns, 'after-restart')).spec.nodeName, cp.nodeName, 'and a Pod created after the restart is scheduled and run')

    await cp.pauseApiserver()
    const frozen = await cp.api.request('GET', '/readyz', undefined, { timeoutMs: 2_000 }).then(
      (r) => `HTTP ${r.status}`,
      () => 'no answer',
    )
    t.equal(frozen, 'no answer', 'a paused kube-apiserver answers nothing')
    await cp.resumeApiserver()
    t.equal((await cp.api.request('GET', `/api/v1/namespaces/${ns}`)).status, 200, 'resumed, it serves again')
    await cp.pauseApiserver()
  } finally {
    await cp.stop()
  }
  t.notOk(cp.pids.some(alive), 'stop() ends a paused kube-apiserver, etcd and the other components too')
  t.notOk(existsSync(cp.dir), 'the directory is removed')
})

t.test('a test process that dies of an uncaught exception leaves nothing behind', async (t) => {
  const holder = await startHolder('throw')
  t.ok(holder.pids.every(alive), 'the control plane was running')
  t.not((await holder.exited).code, 0)
  await gone(holder.pids, holder.dir)
  t.pass('every component and the directory are gone')
})

t.test('a test process stopped with SIGTERM leaves nothing behind and ends by that signal', async (t) => {
  const holder = await startHolder('hold')
  holder.child.kill('SIGTERM')
  t.equal((await holder.exited).signal, 'SIGTERM')
  await gone(holder.pids, holder.dir)
  t.pass('every component and the directory are gone')
})

t.test('a test process killed with SIGKILL: its children die with it, the next start sweeps its directory', async (t) => {
  const holder = await startHolder('hold')
  holder.child.kill('SIGKILL')
  await holder.exited
  await pollUntil('every component to be gone', async () => (holder.pids.some(alive) ? undefined : true), { timeoutMs: 30_000 })
  t.pass('etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok died with their parent')
  // A SIGKILLed process cannot remove its directory itself; the next start anywhere on the machine
  // sweeps it (another test file running in parallel may get there first).
  const next = await startControlPlane()
  await next.stop()
  t.notOk(existsSync(holder.dir), 'the abandoned directory was swept by the next control plane start')
})
