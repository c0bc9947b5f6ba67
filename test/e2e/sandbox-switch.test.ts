// The whole stop-then-switch story a user lives through, on a real API server with the real webhook,
// kubectl, MinIO and the controller: a legacy pod Worker → switch to sandbox rejected with the
// helpful message → Stopped → Pod gone → switch accepted → Running → sandbox claimed after its
// deps were written → Running. kwok plays the kubelet of the fake Node; the test plays the
// OpenKruise controller (sandbox-kit.ts).

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { createNamespace, waitForDefaultServiceAccount } from '../harness/namespaces.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { createWorker, patchWorkerStatus } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { WEBHOOK_DENIAL_PREFIX } from '../../localcluster/admission-probes.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import { LEGACY_TO_SANDBOX } from './expected-messages.ts'
import { condition, eventually, getJson, podPath, waitForPodRunning } from './reconciler-kit.ts'
import { bindSandbox, getClaim, LogCapture, SANDBOX_CRD_FILES, startS3Store, startSandboxController } from './sandbox-kit.ts'

const { cp } = await startWebhookSuite(t)
await installCrds(cp.api, SANDBOX_CRD_FILES)
const { s3, store } = await startS3Store(t)
const logs = new LogCapture()
const worker = (ns: string) => getJson(cp.api, workerPath(ns, 'lena')) as Promise<Worker | undefined>
const patch = (ns: string, spec: Record<string, string>) => cp.kubectl(['patch', 'worker', 'lena', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })])
const phase = (ns: string, wanted: string) =>
  eventually(`phase ${wanted}`, async () => {
    const w = await worker(ns)
    return w?.status?.phase === wanted ? w : undefined
  }, 90_000)

t.test('legacy pod Worker → rejected switch → Stopped → switch → Running on a sandbox with its deps', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-switch')
  const pod = 'agentteams-worker-lena'
  // What an older controller left behind: a Worker with a phase but no status.backendRuntime, and its Pod.
  const legacy = await createWorker(cp.api, ns, 'lena', { runtime: 'openclaw', env: { SECRET_NOTE: 'switch-secret-value-42' } })
  t.equal(legacy.spec?.backendRuntime, 'pod', 'the mutating webhook defaulted the backend')
  const podBody = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: pod, namespace: ns, labels: { 'agentteams.io/worker': 'lena', 'agentteams.io/controller': 'worker-runtime-controller' } },
    spec: { containers: [{ name: 'worker', image: 'example.com/legacy:1' }] },
  }
  await waitForDefaultServiceAccount(cp.api, ns)
  t.equal((await cp.api.request('POST', `/api/v1/namespaces/${ns}/pods`, podBody)).status, 201)
  await waitForPodRunning(cp.api, ns, pod)
  await patchWorkerStatus(cp.api, ns, 'lena', { phase: 'Running' })

  const rejected = await patch(ns, { backendRuntime: 'sandbox' })
  t.not(rejected.code, 0, 'kubectl patch fails')
  t.match(rejected.stderr, `Error from server (Forbidden): ${WEBHOOK_DENIAL_PREFIX}${LEGACY_TO_SANDBOX}`)

  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  t.equal((await patch(ns, { state: 'Stopped' })).code, 0, 'Stopped is accepted')
  const stopped = await phase(ns, 'Stopped')
  t.equal(await getJson(cp.api, podPath(ns, pod)), undefined, 'the Pod is gone')
  t.equal(stopped.status?.backendRuntime ?? 'pod', 'pod', 'it was stopped on the pod backend')

  const accepted = await patch(ns, { backendRuntime: 'sandbox' })
  t.equal(accepted.code, 0, `the switch is accepted once Stopped: ${accepted.stderr}`)
  t.equal((await patch(ns, { state: 'Running' })).code, 0)

  const claim = await eventually('the SandboxClaim', () => getClaim(cp.api, ns, 'lena'), 90_000)
  const keys = depsKeys('lena')
  t.same(await s3.listKeys('workers-deps/lena/'), [keys.env, keys.owner, keys.token], 'deps written before the claim was created')
  t.match((await s3.getObject(keys.env))?.toString(), "export SECRET_NOTE='switch-secret-value-42'")
  const token = (await s3.getObject(keys.token))?.toString() ?? ''
  const starting = await worker(ns)
  t.equal(starting?.status?.backendRuntime, 'sandbox', 'status.backendRuntime moved to sandbox')
  t.equal(await getJson(cp.api, podPath(ns, pod)), undefined, 'no Pod came back')

  await bindSandbox(cp.api, claim)
  const running = await phase(ns, 'Running')
  t.equal(condition(running, 'Ready')?.status, 'True')
  t.equal(condition(running, 'DepsMaterialized')?.status, 'True')
  t.equal(condition(running, 'BackendSwitchBlocked')?.status ?? 'False', 'False')
  const columns = await cp.kubectl(['get', 'worker', 'lena', '-n', ns])
  t.match(columns.stdout, /lena\s+Running\s+sandbox\s+sandbox/, 'kubectl get workers: Phase Running, Backend sandbox, Desired sandbox')

  t.same(logs.leaks([token, 'switch-secret-value-42', s3.secretAccessKey]), [], 'no secret in any log line')
})
