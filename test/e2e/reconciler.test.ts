// The reconciler on a real kube-apiserver, as a user sees it: a pod Worker gets its
// ServiceAccount, Secret and Pod and turns Running; a legacy Worker switched to sandbox is left
// alone with BackendSwitchBlocked; Stopped removes the Pod; Sleeping and wake; delete cleans up.
// Pods really run: kube-scheduler binds them to the fake Node and kwok, its kubelet, reports them.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace, waitForDefaultServiceAccount } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker, patchWorkerStatus } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { getWorker } from '../harness/workers.ts'
import { backendSwitchBlockedMessage } from '../../api/backend-runtime.ts'
import type { Backend, BackendStatus } from '../../reconciler/backend/contract.ts'
import { SPEC_HASH_ANNOTATION } from '../../reconciler/pod/backend.ts'
import {
  condition, cordonNode, eventually, getJson, patchWorkerSpec, podPath, runtimeObjectName, saPath, secretPath, startTestReconciler, type TestReconciler, findWorker, waitForPodRunning,
} from './reconciler-kit.ts'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])

/** Starts a reconciler for `ns` and stops it when the test ends. */
async function reconcilerFor(t: { teardown(fn: () => unknown): void }, ns: string, extra: Parameters<typeof startTestReconciler>[3] = {}): Promise<TestReconciler> {
  const r = await startTestReconciler(cp, ns, {}, extra)
  t.teardown(() => r.close())
  await eventually('the reconciler to be ready (caches synced)', async () => (r.isReady() ? true : undefined))
  return r
}

const worker = (ns: string, name: string) => findWorker(cp.api, ns, name)

function ownedBy(obj: any, w: Worker): boolean {
  return (obj?.metadata?.ownerReferences ?? []).some((o: any) => o.kind === 'Worker' && o.name === w.metadata?.name && o.uid === w.metadata?.uid && o.controller === true)
}

t.test('a pod Worker gets its ServiceAccount, Secret and Pod, and turns Running when the Pod is ready', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-pod')
  await reconcilerFor(t, ns)
  // The Node takes no Pod until the Worker has been seen Starting (kwok runs a bound Pod at once).
  await cordonNode(cp, true)
  t.teardown(() => cordonNode(cp, false))
  const created = await createWorker(cp.api, ns, 'alice', { backendRuntime: 'pod', runtime: 'copaw', image: 'example.com/worker:1', env: { GREETING: "it's me", AGENTTEAMS_WORKER_NAME: 'mallory' }, labels: { team: 'a' }, resources: { limits: { cpu: '500m', memory: '512Mi' } } })
  const name = runtimeObjectName('alice')
  const pod = await eventually('the Pod to exist', () => getJson(cp.api, podPath(ns, name)))
  const sa = await getJson(cp.api, saPath(ns, name))
  const secret = await getJson(cp.api, secretPath(ns, name))
  for (const [kind, obj] of [['ServiceAccount', sa], ['Secret', secret], ['Pod', pod]] as const) {
    t.ok(ownedBy(obj, created), `${kind} is owned by the Worker`)
    t.equal(obj.metadata.labels['agentteams.io/worker'], 'alice', `${kind} has the worker label`)
    t.equal(obj.metadata.labels['agentteams.io/controller'], 'worker-runtime-controller', `${kind} has the controller label`)
  }
  t.equal(pod.metadata.labels.team, 'a', 'spec.labels reach the Pod')
  const c = pod.spec.containers[0]
  t.equal(c.name, 'worker')
  t.equal(c.image, 'example.com/worker:1')
  t.same(c.resources.limits, { cpu: '500m', memory: '512Mi' })
  t.same(c.envFrom, [{ secretRef: { name } }])
  t.equal(pod.spec.serviceAccountName, name)
  const token = pod.spec.volumes.find((v: any) => v.projected)?.projected.sources[0].serviceAccountToken
  t.same(token, { audience: 'agentteams-controller', expirationSeconds: 3600, path: 'token' }, 'projected token with the audience and a bounded lifetime')
  t.equal(c.volumeMounts[0].mountPath, '/var/run/secrets/agentteams')
  const env = Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
  t.equal(env['GREETING'], "it's me")
  t.equal(env['AGENTTEAMS_WORKER_NAME'], 'alice', 'system keys win over spec.env')
  t.equal(env['AGENTTEAMS_AUTH_TOKEN_FILE'], '/var/run/secrets/agentteams/token')

  const starting = await eventually('phase Starting', async () => ((await worker(ns, 'alice'))?.status?.phase === 'Starting' ? worker(ns, 'alice') : undefined))
  t.equal(starting?.status?.backendRuntime, 'pod')
  t.equal(condition(starting, 'Ready')?.status, 'False')
  t.match(starting?.status?.message, /spec\.env AGENTTEAMS_WORKER_NAME is not used: system key/, 'the user learns an env key was ignored')

  await cordonNode(cp, false)
  await waitForPodRunning(cp.api, ns, name)
  const running = await eventually('phase Running', async () => {
    const w = await worker(ns, 'alice')
    return w?.status?.phase === 'Running' ? w : undefined
  })
  t.equal(running.status?.backendRuntime, 'pod')
  t.equal(condition(running, 'Ready')?.status, 'True')
  t.equal(condition(running, 'BackendSwitchBlocked')?.status, 'False')
  t.equal(running.status?.observedGeneration, running.metadata?.generation)
  t.ok(running.metadata?.finalizers?.includes('agentteams.io/cleanup'), 'the cleanup finalizer is set')
  const events = await eventually('events on the Worker', async () => {
    const list = await getJson(cp.api, `/api/v1/namespaces/${ns}/events`)
    const reasons = list.items.filter((e: any) => e.involvedObject.name === 'alice').map((e: any) => e.reason)
    return reasons.includes('Running') ? reasons : undefined
  })
  t.ok(events.includes('RuntimeCreated'), 'an Event tells the runtime was created')
  const managers = (o: any) => new Set((o?.metadata?.managedFields ?? []).map((f: any) => `${f.manager}${f.subresource ? `/${f.subresource}` : ''}`))
  t.ok(managers(running).has('worker-runtime-controller/status'), 'kubectl --show-managed-fields names the controller as the status writer')
  t.ok(managers(running).has('worker-runtime-controller'), '...and as the writer of its finalizer')
  t.ok(managers(await getJson(cp.api, podPath(ns, name))).has('worker-runtime-controller'), '...and of the Pod it created')
})

t.test('a changed spec replaces the Pod; a deleted Pod is recreated', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-change')
  await reconcilerFor(t, ns)
  await createWorker(cp.api, ns, 'bob', { backendRuntime: 'pod', image: 'example.com/worker:1' })
  const name = runtimeObjectName('bob')
  const first = await eventually('the Pod', () => getJson(cp.api, podPath(ns, name)))
  await patchWorkerSpec(cp.api, ns, 'bob', { image: 'example.com/worker:2' })
  const second = await eventually('a Pod with the new image', async () => {
    const p = await getJson(cp.api, podPath(ns, name))
    return p && p.metadata.uid !== first.metadata.uid && p.spec.containers[0].image === 'example.com/worker:2' ? p : undefined
  })
  t.not(second.metadata.annotations[SPEC_HASH_ANNOTATION], first.metadata.annotations[SPEC_HASH_ANNOTATION])
  await cp.api.request('DELETE', podPath(ns, name))
  await eventually('the deleted Pod to come back', async () => {
    const p = await getJson(cp.api, podPath(ns, name))
    return p && p.metadata.uid !== second.metadata.uid ? p : undefined
  })
  t.pass('recreated')
})

/**
 * A stand-in sandbox backend whose "runtime" is a ConfigMap `sandbox-<worker>`. It records every
 * create with the status.backendRuntime the API server held at that moment.
 */
function spySandbox(ns: string) {
  const creates: string[] = []
  const make = (kube: any): Backend => {
    const cm = (w: Worker) => `/api/v1/namespaces/${w.metadata?.namespace}/configmaps/sandbox-${w.metadata?.name}`
    const status = async (w: Worker): Promise<BackendStatus> => ((await kube.request({ method: 'GET', path: cm(w) }).catch(() => undefined)) ? { state: 'Running' } : { state: 'NotFound' })
    return {
      name: 'sandbox',
      status,
      async create(w) {
        const stored = await getJson(cp.api, workerPath(ns, w.metadata!.name!))
        creates.push(stored.status?.backendRuntime ?? 'unset')
        await kube.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `sandbox-${w.metadata?.name}` } } }).catch(() => undefined)
        return { state: 'Running' }
      },
      stop: status,
      delete: async (w) => {
        await kube.request({ method: 'DELETE', path: cm(w) }).catch(() => undefined)
        return { state: 'NotFound' }
      },
    }
  }
  return { creates, make }
}

/** What an older controller left behind: a Worker with a phase but no status.backendRuntime, and its running Pod. */
async function legacyWorker(ns: string, name: string) {
  const legacy = await createWorker(cp.api, ns, name, { backendRuntime: 'pod' })
  const podName = runtimeObjectName(name)
  const podBody = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: podName, namespace: ns, labels: { 'agentteams.io/worker': name, 'agentteams.io/controller': 'worker-runtime-controller' }, ownerReferences: [{ apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', name, uid: legacy.metadata?.uid, controller: true }] },
    spec: { containers: [{ name: 'worker', image: 'example.com/legacy:1' }] },
  }
  await waitForDefaultServiceAccount(cp.api, ns)
  const pod = (await cp.api.request('POST', `/api/v1/namespaces/${ns}/pods`, podBody)).body
  await waitForPodRunning(cp.api, ns, podName)
  await patchWorkerStatus(cp.api, ns, name, { phase: 'Running' })
  return { pod, podName }
}

t.test('a legacy Worker switched to sandbox keeps its Pod; Stopped deletes it; Running then moves to sandbox, recorded first', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-legacy')
  const { pod: legacyPod, podName: name } = await legacyWorker(ns, 'carol')
  // The webhook is not installed: the switch reaches the reconciler, which must hold the line itself.
  await patchWorkerSpec(cp.api, ns, 'carol', { backendRuntime: 'sandbox' })
  const sandbox = spySandbox(ns)
  await reconcilerFor(t, ns, { backends: ({ kube }) => [sandbox.make(kube)] })

  const blocked = await eventually('BackendSwitchBlocked=True', async () => {
    const w = await worker(ns, 'carol')
    return condition(w, 'BackendSwitchBlocked')?.status === 'True' ? w : undefined
  })
  const expected = backendSwitchBlockedMessage({ current: 'pod', desired: 'sandbox', phase: 'Running', recordedBackendRuntime: undefined })
  t.equal(condition(blocked, 'BackendSwitchBlocked')?.message, expected, 'the same message the webhook gives')
  t.equal(blocked.status?.message, expected)
  t.equal(blocked.status?.phase, 'Running', 'the Worker is still reported running')
  t.notOk(blocked.status?.backendRuntime, 'status.backendRuntime stays unset (still a legacy pod)')
  const pod = await getJson(cp.api, podPath(ns, name))
  t.equal(pod?.metadata.uid, legacyPod.metadata.uid, 'the running Pod was not touched')
  t.equal(pod?.spec.containers[0].image, 'example.com/legacy:1')
  t.same(sandbox.creates, [], 'no sandbox runtime was created')
  t.equal(await getJson(cp.api, `/api/v1/namespaces/${ns}/configmaps/sandbox-carol`), undefined)
  const events = await getJson(cp.api, `/api/v1/namespaces/${ns}/events`)
  t.ok(events.items.some((e: any) => e.reason === 'BackendSwitchBlocked' && e.type === 'Warning'), 'a Warning event explains the block')

  await patchWorkerSpec(cp.api, ns, 'carol', { state: 'Stopped' })
  const stopped = await eventually('phase Stopped', async () => {
    const w = await worker(ns, 'carol')
    return w?.status?.phase === 'Stopped' ? w : undefined
  })
  t.equal(await getJson(cp.api, podPath(ns, name)), undefined, 'Stopped deleted the legacy Pod (empty status.backendRuntime means pod)')
  t.equal(condition(stopped, 'BackendSwitchBlocked')?.status, 'False', 'the switch is no longer blocked')
  t.same(sandbox.creates, [], 'still nothing on sandbox while Stopped')

  await patchWorkerSpec(cp.api, ns, 'carol', { state: 'Running' })
  const moved = await eventually('Running on sandbox', async () => {
    const w = await worker(ns, 'carol')
    return w?.status?.phase === 'Running' && w.status.backendRuntime === 'sandbox' ? w : undefined
  })
  t.same(sandbox.creates.slice(0, 1), ['sandbox'], 'status.backendRuntime was sandbox before the first sandbox object was created')
  t.equal(await getJson(cp.api, podPath(ns, name)), undefined, 'no Pod comes back on the old backend')
  t.equal(condition(moved, 'Ready')?.status, 'True')
})

t.test('a Worker asking for a backend this controller does not have gets a clear condition and no Pod', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-nosandbox')
  await reconcilerFor(t, ns)
  await createWorker(cp.api, ns, 'dave', { backendRuntime: 'sandbox' })
  const w = await eventually('Ready=False BackendUnavailable', async () => {
    const got = await worker(ns, 'dave')
    return condition(got, 'Ready')?.reason === 'BackendUnavailable' ? got : undefined
  })
  t.match(condition(w, 'Ready')?.message, /sandbox backend is not available/)
  t.equal(w.status?.phase, 'Pending')
  t.notOk(w.status?.backendRuntime, 'nothing is recorded for a backend that cannot run it')
  t.equal(await getJson(cp.api, podPath(ns, runtimeObjectName('dave'))), undefined, 'no Pod as a fallback')
})

t.test('Sleeping deletes the Pod; waking creates a new one', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-sleep')
  await reconcilerFor(t, ns)
  await createWorker(cp.api, ns, 'erin', { backendRuntime: 'pod' })
  const name = runtimeObjectName('erin')
  const first = await waitForPodRunning(cp.api, ns, name)
  await eventually('phase Running', async () => ((await worker(ns, 'erin'))?.status?.phase === 'Running' ? true : undefined))
  await patchWorkerSpec(cp.api, ns, 'erin', { state: 'Sleeping' })
  const sleeping = await eventually('phase Sleeping', async () => {
    const w = await worker(ns, 'erin')
    return w?.status?.phase === 'Sleeping' ? w : undefined
  })
  t.equal(await getJson(cp.api, podPath(ns, name)), undefined, 'the Pod is gone while sleeping')
  t.equal(sleeping.status?.backendRuntime, 'pod')
  t.equal(condition(sleeping, 'Ready')?.status, 'False')
  t.ok(await getJson(cp.api, secretPath(ns, name)), 'the env Secret stays for the wake-up')
  await patchWorkerSpec(cp.api, ns, 'erin', { state: 'Running' })
  const woken = await eventually('a new Pod', async () => {
    const p = await getJson(cp.api, podPath(ns, name))
    return p && p.metadata.uid !== first.metadata.uid ? p : undefined
  })
  await waitForPodRunning(cp.api, ns, woken.metadata.name)
  await eventually('phase Running again', async () => ((await worker(ns, 'erin'))?.status?.phase === 'Running' ? true : undefined))
  t.pass('woke up')
})

t.test('deleting a Worker removes its Pod, Secret and ServiceAccount, then the Worker', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-delete')
  await reconcilerFor(t, ns)
  await createWorker(cp.api, ns, 'frank', { backendRuntime: 'pod' })
  const name = runtimeObjectName('frank')
  await eventually('the Pod', () => getJson(cp.api, podPath(ns, name)))
  const deleted = await cp.kubectl(['delete', 'worker', 'frank', '-n', ns, '--wait=false'])
  t.equal(deleted.code, 0, deleted.stderr)
  await eventually('the Worker to be gone', async () => ((await worker(ns, 'frank')) === undefined ? true : undefined))
  t.equal(await getJson(cp.api, podPath(ns, name)), undefined, 'Pod removed')
  t.equal(await getJson(cp.api, secretPath(ns, name)), undefined, 'Secret removed')
  t.equal(await getJson(cp.api, saPath(ns, name)), undefined, 'ServiceAccount removed')
})

t.test('a status write racing a spec update is retried, never lost', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-race')
  let raced = 0
  let conflicts = 0
  const r = await reconcilerFor(t, ns, {
    wrapKube: (kube) => ({
      close: () => kube.close(),
      async request(req) {
        // Right before the first full status write, a user changes the spec: the write must 409.
        if (raced === 0 && req.method === 'PATCH' && req.path.endsWith('/workers/gina/status') && (req.body as any)?.status?.phase) {
          raced++
          await patchWorkerSpec(cp.api, ns, 'gina', { env: { ADDED: 'during the write' } })
        }
        try {
          return await kube.request(req)
        } catch (error) {
          if ((error as any).code === 409 && req.path.endsWith('/status')) conflicts++
          throw error
        }
      },
    }),
  })
  await createWorker(cp.api, ns, 'gina', { backendRuntime: 'pod' })
  const name = runtimeObjectName('gina')
  const done = await eventually('the status to catch up with the changed spec', async () => {
    const w = await worker(ns, 'gina')
    // Starting or already Running: kwok runs the replaced Pod as soon as it is bound.
    return ['Starting', 'Running'].includes(w?.status?.phase ?? '') && w?.status?.observedGeneration === w?.metadata?.generation && w?.metadata?.generation === 2 ? w : undefined
  })
  t.equal(raced, 1, 'the race was staged')
  t.ok(conflicts >= 1, 'the status write hit a conflict')
  const secret = await getJson(cp.api, secretPath(ns, name))
  t.equal(Buffer.from(secret.data.ADDED, 'base64').toString(), 'during the write', 'the spec change was applied too')
  t.equal(done.status?.backendRuntime, 'pod')
  t.ok((await r.metric('worker_runtime_controller_reconcile_total', { result: 'error' })) >= 1, 'the conflict was retried through the queue')
})
