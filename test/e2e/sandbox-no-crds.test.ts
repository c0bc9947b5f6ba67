// A cluster without the OpenKruise Agents CRDs, on a real API server: the controller starts, pod
// Workers run as usual, a sandbox Worker gets Ready=False saying the sandbox API is missing, and
// installing the CRDs later makes it converge — same controller process, no restart.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker } from '../../localcluster/workers.ts'
import type { Worker } from '../../api/worker.ts'
import { FilesystemDepsStore } from '../../reconciler/deps/filesystem.ts'
import { onProcessExit, removeDirNow } from '../../localcluster/exit-cleanup.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import { condition, eventually, getJson, podPath, findWorker, waitForPodRunning } from './reconciler-kit.ts'
import { bindSandbox, getClaim, LogCapture, SANDBOX_CRD_FILES, startSandboxController } from './sandbox-kit.ts'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])
const dir = await createOwnedTempDir('wrc-deps-')
t.teardown(onProcessExit(() => removeDirNow(dir)))
t.teardown(() => removeDirNow(dir))
const logs = new LogCapture()
const worker = (ns: string, name: string) => findWorker(cp.api, ns, name)

t.test('without the sandbox API: pod Workers run, sandbox Workers say why; installing the CRDs converges', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-no-crds')
  const c = await startSandboxController(cp, ns, { store: new FilesystemDepsStore({ dir }), logs })
  t.teardown(() => c.close())

  await createWorker(cp.api, ns, 'pete', { backendRuntime: 'pod' })
  await waitForPodRunning(cp.api, ns, 'agentteams-worker-pete')
  await eventually('the pod Worker Running', async () => ((await worker(ns, 'pete'))?.status?.phase === 'Running' ? true : undefined))
  t.pass('a pod Worker runs while the sandbox API is missing')

  await createWorker(cp.api, ns, 'sara', { backendRuntime: 'sandbox' })
  const waiting = await eventually('Ready=False naming the missing sandbox API', async () => {
    const w = await worker(ns, 'sara')
    return /sandbox API .* is not installed/.test(condition(w, 'Ready')?.message ?? '') ? w : undefined
  })
  t.equal(condition(waiting, 'Ready')?.status, 'False')
  t.equal(condition(waiting, 'Ready')?.reason, 'SandboxApiMissing', 'kubectl get -o yaml says why in the Ready reason')
  t.not(condition(waiting, 'DepsMaterialized')?.status, 'True', 'the Worker does not claim its deps were delivered')
  t.match(waiting.status?.message, 'install its CRDs')
  t.not(waiting.status?.phase, 'Running')

  await installCrds(cp.api, SANDBOX_CRD_FILES)
  const claim = await eventually('a claim once the CRDs are installed', () => getClaim(cp.api, ns, 'sara'), 120_000)
  await bindSandbox(cp.api, claim)
  const running = await eventually('the sandbox Worker Running', async () => {
    const w = await worker(ns, 'sara')
    return w?.status?.phase === 'Running' ? w : undefined
  }, 120_000)
  t.equal(condition(running, 'Ready')?.status, 'True', 'converged without restarting the controller')
  t.equal((await worker(ns, 'pete'))?.status?.phase, 'Running', 'the pod Worker was never disturbed')
})
