// Pod Workers on Pods that really run: kube-scheduler binds each Pod to the fake Node and kwok, the
// Node's kubelet, reports it Running, fails its container (kwok's chaos stage, triggered by a label
// as a chaos tool would) or removes it once deleted. No test writes Pod status. Also what the
// controller relies on kube-controller-manager for: garbage collection by owner reference, and
// namespace deletion, which the Worker finalizer must not block.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { POD_CIDR } from '../../localcluster/kwok.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker } from '../../localcluster/workers.ts'
import {
  condition, eventually, findWorker, getJson, patchWorkerSpec, podPath, runtimeObjectName, saPath, secretPath, startTestReconciler, waitForPhase, waitForPodRunning,
} from './reconciler-kit.ts'

/** kwok's chaos stage (tools/kwok/files): a Running Pod with this label gets its container failed. */
const FAIL_CONTAINER_LABEL = 'pod-container-running-failed.stage.kwok.x-k8s.io'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])

/** A namespace with a reconciler watching it, stopped when the test ends. */
async function namespaceWithReconciler(t: { teardown(fn: () => unknown): void }, prefix: string) {
  const ns = await createNamespace(cp.api, prefix)
  const r = await startTestReconciler(cp, ns)
  t.teardown(() => r.close())
  await eventually('the reconciler to be ready (caches synced)', async () => (r.isReady() ? true : undefined))
  return { ns, r }
}

/** The reasons of the Events about Worker `name` (what `kubectl describe worker` lists). */
async function eventsOf(ns: string, name: string): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await getJson(cp.api, `/api/v1/namespaces/${ns}/events`)
  return list.items.filter((e: any) => e.involvedObject.kind === 'Worker' && e.involvedObject.name === name)
}

const inPodCidr = (ip: string | undefined) => ip?.startsWith(POD_CIDR.split('.').slice(0, 2).join('.') + '.') ?? false

t.test('a pod Worker runs: its Pod is scheduled onto the fake Node, reported Running and Ready by kwok, and the Worker is Running', async (t) => {
  const { ns } = await namespaceWithReconciler(t, 'pod-runs')
  await createWorker(cp.api, ns, 'alice', { backendRuntime: 'pod', state: 'Running', runtime: 'openclaw', image: 'example.com/worker:1' })
  const pod = await waitForPodRunning(cp.api, ns, runtimeObjectName('alice'))
  t.equal(pod.spec.nodeName, cp.nodeName, 'kube-scheduler bound the Pod to the fake Node')
  t.ok(inPodCidr(pod.status.podIP), `kwok gave it an IP from ${POD_CIDR} (${pod.status.podIP})`)
  t.equal(pod.status.hostIP, '127.0.0.1', "the Node's address")
  t.ok(pod.status.containerStatuses[0].state.running, 'the worker container is running')
  const kwokSpecific = [...Object.keys(pod.metadata.annotations ?? {}), ...Object.keys(pod.metadata.labels ?? {}), ...(pod.spec.tolerations ?? []).map((x: any) => x.key ?? '')]
  t.same(kwokSpecific.filter((k) => k.includes('kwok')), [], 'the Pod carries nothing kwok-specific: it schedules as it would in any cluster')

  const running = await waitForPhase(cp.api, ns, 'alice', 'Running')
  t.equal(condition(running, 'Ready')?.status, 'True')
  t.equal(running.status?.backendRuntime, 'pod')
  const listed = await cp.kubectl(['get', 'workers,pods', '-n', ns, '-o', 'wide'])
  t.match(listed.stdout, /worker\.agentteams\.io\/alice\s+Running\s+pod\s+pod\s+Running/, 'kubectl get workers: Running on pod')
  t.match(listed.stdout, new RegExp(`pod/agentteams-worker-alice\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+10\\.244\\.\\S+\\s+${cp.nodeName}`), 'kubectl get pods: 1/1 Running on the fake Node')
  const nodes = await cp.kubectl(['get', 'nodes'])
  t.match(nodes.stdout, new RegExp(`${cp.nodeName}\\s+Ready\\s+agent`), 'kubectl get nodes: the fake Node is Ready')

  await patchWorkerSpec(cp.api, ns, 'alice', { state: 'Stopped' })
  const stopped = await waitForPhase(cp.api, ns, 'alice', 'Stopped')
  t.equal(await getJson(cp.api, podPath(ns, runtimeObjectName('alice'))), undefined, 'Stopped: the Pod is gone (kwok removed it once deleted)')
  t.equal(condition(stopped, 'Ready')?.status, 'False')
})

t.test('a Pod whose container fails turns the Worker Failed, and a new Pod replaces it and runs', async (t) => {
  const { ns } = await namespaceWithReconciler(t, 'pod-fails')
  await createWorker(cp.api, ns, 'bob', { backendRuntime: 'pod' })
  const name = runtimeObjectName('bob')
  const first = await waitForPodRunning(cp.api, ns, name)
  await waitForPhase(cp.api, ns, 'bob', 'Running')

  // The container crashes: kwok's chaos stage writes the failure (phase Failed, exit code 1).
  const labelled = await cp.kubectl(['label', 'pod', name, '-n', ns, `${FAIL_CONTAINER_LABEL}=true`])
  t.equal(labelled.code, 0, labelled.stderr)
  const failed = await eventually('a Warning Event Failed on the Worker', async () => (await eventsOf(ns, 'bob')).find((e) => e.reason === 'Failed'))
  t.equal(failed.type, 'Warning')
  t.match(failed.message, /replacing the finished Pod: containerFailed \(exit code 1\): container failed/, 'the Event says why: the container exit kwok reported')

  const second = await eventually('a new Pod in place of the failed one, running', async () => {
    const pod = await getJson(cp.api, podPath(ns, name))
    return pod && pod.metadata.uid !== first.metadata.uid && pod.status?.phase === 'Running' ? pod : undefined
  })
  t.notOk(second.metadata.labels[FAIL_CONTAINER_LABEL], 'the replacement is the controller\'s own Pod, without the chaos label')
  const again = await waitForPhase(cp.api, ns, 'bob', 'Running')
  t.equal(condition(again, 'Ready')?.status, 'True', 'Running and Ready again')
  const reasons = (await eventsOf(ns, 'bob')).map((e) => e.reason)
  t.ok(reasons.filter((r) => r === 'Running').length >= 1, `the Events tell the story: ${reasons.join(', ')}`)
})

t.test('a Pod deleted by someone else is re-created, runs, and the Worker is Running again', async (t) => {
  const { ns } = await namespaceWithReconciler(t, 'pod-deleted')
  await createWorker(cp.api, ns, 'carl', { backendRuntime: 'pod' })
  const name = runtimeObjectName('carl')
  const first = await waitForPodRunning(cp.api, ns, name)
  await waitForPhase(cp.api, ns, 'carl', 'Running')
  const deleted = await cp.kubectl(['delete', 'pod', name, '-n', ns])
  t.equal(deleted.code, 0, deleted.stderr)
  const second = await eventually('the Pod to come back and run', async () => {
    const pod = await getJson(cp.api, podPath(ns, name))
    return pod && pod.metadata.uid !== first.metadata.uid && pod.status?.phase === 'Running' ? pod : undefined
  })
  t.equal(second.spec.nodeName, cp.nodeName, 'scheduled onto the fake Node again')
  t.equal(condition(await waitForPhase(cp.api, ns, 'carl', 'Running'), 'Ready')?.status, 'True')
})

t.test('a Worker deleted with its finalizer removed by force leaves no Pod, Secret or ServiceAccount: garbage collection follows the owner references', async (t) => {
  const { ns, r } = await namespaceWithReconciler(t, 'pod-gc')
  await createWorker(cp.api, ns, 'dana', { backendRuntime: 'pod' })
  const name = runtimeObjectName('dana')
  await waitForPodRunning(cp.api, ns, name)
  await waitForPhase(cp.api, ns, 'dana', 'Running')
  t.ok(await getJson(cp.api, secretPath(ns, name)), 'the env Secret exists')
  t.ok(await getJson(cp.api, saPath(ns, name)), 'the ServiceAccount exists')

  // The controller is gone (uninstalled, say) and someone clears the finalizer to get rid of the Worker.
  await r.close()
  const cleared = await cp.kubectl(['patch', 'worker', 'dana', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'])
  t.equal(cleared.code, 0, cleared.stderr)
  const deleted = await cp.kubectl(['delete', 'worker', 'dana', '-n', ns])
  t.equal(deleted.code, 0, deleted.stderr)
  t.equal(await findWorker(cp.api, ns, 'dana'), undefined, 'the Worker is gone at once (no finalizer)')
  // The garbage collector learns of a CRD installed after it started at its next discovery resync
  // (every 30 s, fixed in kube-controller-manager), so its first look at a Worker's dependents can wait that long.
  await eventually('the garbage collector to remove the Pod, Secret and ServiceAccount', async () => {
    const left = await Promise.all([podPath(ns, name), secretPath(ns, name), saPath(ns, name)].map((p) => getJson(cp.api, p)))
    return left.every((o) => o === undefined) ? true : undefined
  }, 120_000)
  t.pass('nothing of the Worker is left')
})

t.test('deleting a namespace with running Workers in it completes: each Worker is cleaned up and released while the namespace terminates', async (t) => {
  const { ns } = await namespaceWithReconciler(t, 'ns-delete')
  for (const name of ['erin', 'finn']) await createWorker(cp.api, ns, name, { backendRuntime: 'pod' })
  for (const name of ['erin', 'finn']) await waitForPhase(cp.api, ns, name, 'Running')
  const deleted = await cp.kubectl(['delete', 'namespace', ns, '--wait=false'])
  t.equal(deleted.code, 0, deleted.stderr)
  await eventually(`namespace ${ns} to be gone`, async () => ((await cp.api.request('GET', `/api/v1/namespaces/${ns}`)).status === 404 ? true : undefined), 120_000)
  t.pass('the namespace is deleted: every Worker finalizer was released')
})
