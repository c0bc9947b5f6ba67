// The Worker reconcile against recording fakes: "empty status.backendRuntime means pod" on every
// path (running, sleeping, stopping, delete) — the upstream #988 bugs — the guard against reality,
// and the race closure (status.backendRuntime recorded before the first runtime object).

import t from 'tap'
import { pino } from 'pino'
import type { KubeObject } from '../../../api/meta.ts'
import type { Worker } from '../../../api/worker.ts'
import type { Backend, BackendStatus, RuntimeState } from '../../../reconciler/backend/contract.ts'
import type { KubeClient, KubeRequest } from '../../../reconciler/controller/kube.ts'
import { KubeError } from '../../../reconciler/controller/kube.ts'
import { reconcileWorker, type WorkerReconcilerDeps } from '../../../reconciler/worker/reconcile.ts'
import { RuntimeObjects } from '../../../reconciler/worker/runtime-objects.ts'
import { FakeClock } from '../fake-clock.ts'

/** One shared log of everything that happened, in order. */
type Log = string[]

/** A runtime object in the fake cluster: `pods`, `sandboxclaims` or `sandboxes`. */
interface Stored { plural: string; object: KubeObject }

/** The Worker as the API server holds it, behind merge patches with resourceVersion checks; runtime objects listed by name and deleted. */
function fakeKube(stored: { worker: Worker; objects: Stored[] }, log: Log): KubeClient {
  let rv = 10
  return {
    close: async () => {},
    async request<T>(req: KubeRequest): Promise<T> {
      const body = req.body as any
      const runtime = /\/namespaces\/([^/]+)\/(pods|sandboxclaims|sandboxes)(?:\/([^/]+))?$/.exec(req.path)
      if (runtime && req.method === 'GET' && !runtime[3]) {
        const name = String(req.query?.['fieldSelector'] ?? '').replace('metadata.name=', '')
        return { items: stored.objects.filter((o) => o.plural === runtime[2] && o.object.metadata?.namespace === runtime[1] && o.object.metadata?.name === name).map((o) => o.object) } as T
      }
      if (runtime && req.method === 'DELETE') {
        const found = stored.objects.find((o) => o.plural === runtime[2] && o.object.metadata?.namespace === runtime[1] && o.object.metadata?.name === runtime[3])
        if (!found) throw new KubeError('not found', { code: 404, reason: 'NotFound' })
        if (body?.preconditions?.uid !== found.object.metadata?.uid) throw new KubeError('uid precondition', { code: 409, reason: 'Conflict' })
        log.push(`delete ${runtime[2]} ${runtime[3]}`)
        found.object.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z'
        return {} as T
      }
      if (req.method === 'POST' && req.path.endsWith('/events')) return {} as T
      if (req.method === 'DELETE' && req.path.includes('/serviceaccounts/')) {
        log.push('delete ServiceAccount')
        return {} as T
      }
      if (req.method === 'PATCH' && req.path.includes('/workers/')) {
        const w = stored.worker
        if (body.metadata?.resourceVersion !== w.metadata?.resourceVersion) throw new KubeError('conflict', { code: 409, reason: 'Conflict' })
        const next: Worker = structuredClone(w)
        next.metadata!.resourceVersion = String(++rv)
        if (req.path.endsWith('/status')) {
          next.status = { ...(w.status ?? {}), ...body.status }
          for (const [k, v] of Object.entries(body.status)) if (v === null) delete next.status![k]
          log.push(`status ${JSON.stringify(body.status.backendRuntime ?? null)} phase=${body.status.phase ?? '-'}`)
        } else {
          next.metadata!.finalizers = body.metadata.finalizers
          log.push(`finalizers ${JSON.stringify(body.metadata.finalizers)}`)
        }
        stored.worker = next
        return structuredClone(next) as T
      }
      throw new Error(`unexpected request ${req.method} ${req.path}`)
    },
  }
}

/** A backend whose runtime is one state per Worker; every call is logged. */
function fakeBackend(name: string, log: Log, initial: RuntimeState = 'NotFound'): Backend & { state: RuntimeState } {
  const b = {
    name,
    state: initial,
    async status(): Promise<BackendStatus> {
      return { state: b.state }
    },
    async create(): Promise<BackendStatus> {
      log.push(`${name}.create`)
      b.state = 'Starting'
      return { state: b.state }
    },
    async stop(): Promise<BackendStatus> {
      log.push(`${name}.stop`)
      b.state = name === 'sandbox' ? 'Sleeping' : 'NotFound'
      return { state: b.state }
    },
    async delete(): Promise<BackendStatus> {
      log.push(`${name}.delete`)
      b.state = 'NotFound'
      return { state: b.state }
    },
  }
  return b
}

function setup(worker: Worker, backends: Backend[], log: Log = [], frozenCache = false, objects: Stored[] = []) {
  const stored = { worker: { metadata: { name: 'w', namespace: 'ns', uid: 'u1', generation: 1, resourceVersion: '1', ...worker.metadata }, spec: worker.spec ?? {}, status: worker.status ?? {} } as Worker, objects }
  const cached = structuredClone(stored.worker)
  const kube = fakeKube(stored, log)
  const kindOf: Record<string, string> = { Pod: 'pods', SandboxClaim: 'sandboxclaims', Sandbox: 'sandboxes' }
  const runtimes = new RuntimeObjects({
    naming: { controllerName: 'c', resourcePrefix: 'p-' },
    legacyPrefixes: ['hiclaw-'],
    legacyNamespaces: [],
    kube,
    kinds: ['Pod', 'SandboxClaim', 'Sandbox'],
    // The informer caches: the labelled objects, by `namespace/worker`.
    cache: (kind, namespace) => ({
      byOwner: (key) => stored.objects.filter((o) => o.plural === kindOf[kind] && o.object.metadata?.namespace === namespace && `${namespace}/${o.object.metadata?.labels?.['agentteams.io/worker']}` === key).map((o) => o.object),
    }),
    workerNamespaces: () => ['ns'],
  })
  const deps: WorkerReconcilerDeps = {
    kube,
    runtimes,
    claimTimeout: '5m',
    serviceAccounts: { get: () => ({ metadata: { uid: 'sa1', labels: { 'agentteams.io/controller': 'c' } } }) },
    workers: frozenCache ? { get: () => cached } : { get: () => structuredClone(stored.worker) },
    backends: new Map(backends.map((b) => [b.name, b])),
    naming: { controllerName: 'c', resourcePrefix: 'p-' },
    defaultBackendRuntime: 'pod',
    events: { record: (_w, type, reason) => log.push(`event ${type} ${reason}`) },
    clock: new FakeClock(),
    log: pino({ level: 'silent' }),
  }
  return { log, stored, run: () => reconcileWorker('ns/w', deps), actions: () => log.filter((l) => /^(pod|sandbox)\./.test(l)) }
}

const legacy = (state: string): Worker => ({ spec: { backendRuntime: 'sandbox', state }, status: { phase: 'Running' } })
const blocked = (w: Worker) => w.status?.conditions?.find((c) => c.type === 'BackendSwitchBlocked')

t.test('Running: a legacy pod Worker switched to sandbox is blocked and its Pod left alone', async (t) => {
  const log: Log = []
  const { stored, run, actions } = setup(legacy('Running'), [fakeBackend('pod', log, 'Running'), fakeBackend('sandbox', log)], log)
  await run()
  t.same(actions(), [], 'no backend was asked to create, stop or delete anything')
  t.equal(blocked(stored.worker)?.status, 'True')
  t.match(blocked(stored.worker)?.message, /current=pod, desired=sandbox/)
  t.equal(stored.worker.status?.phase, 'Running')
  t.notOk(stored.worker.status?.backendRuntime, 'status.backendRuntime is not stamped')
})

t.test('Sleeping: the legacy Pod is put to sleep on the pod backend, never the sandbox one', async (t) => {
  const log: Log = []
  const { stored, run, actions } = setup(legacy('Sleeping'), [fakeBackend('pod', log, 'Running'), fakeBackend('sandbox', log)], log)
  await run()
  t.same(actions(), ['pod.stop'])
  t.equal(stored.worker.status?.phase, 'Sleeping')
  t.notOk(stored.worker.status?.backendRuntime, 'the desired backend is not stamped into status')
})

t.test('Stopped: the legacy Pod is deleted (the upstream orphan-pod bug)', async (t) => {
  const log: Log = []
  const pod = fakeBackend('pod', log, 'Running')
  const { stored, run, actions } = setup(legacy('Stopped'), [pod, fakeBackend('sandbox', log)], log)
  await run()
  t.same(actions(), ['pod.delete'])
  t.equal(pod.state, 'NotFound')
  t.equal(stored.worker.status?.phase, 'Stopped')
  t.equal(blocked(stored.worker)?.status, 'False', 'once stopped the switch is allowed')
})

t.test('delete: a legacy Worker is cleaned up on the pod backend, then released', async (t) => {
  const worker = { ...legacy('Running'), metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['agentteams.io/cleanup'] } }
  const log: Log = []
  const { stored, run } = setup(worker, [fakeBackend('pod', log, 'Running'), fakeBackend('sandbox', log)], log)
  await run()
  const order = log.filter((l) => !l.startsWith('event'))
  t.same(order, ['pod.delete', 'sandbox.delete', 'delete ServiceAccount', 'finalizers []'], 'runtime first, leftovers elsewhere, then the ServiceAccount, then the finalizer')
  t.same(stored.worker.metadata?.finalizers, [])
})

t.test('delete: the finalizer stays while the runtime still exists', async (t) => {
  const pod = fakeBackend('pod', [], 'Running')
  pod.delete = async () => ({ state: 'Stopping' })
  const worker = { spec: {}, status: { phase: 'Running', backendRuntime: 'pod' }, metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['agentteams.io/cleanup'] } }
  const { stored, run } = setup(worker, [pod])
  t.same(await run(), { requeueAfterMs: 1000 })
  t.same(stored.worker.metadata?.finalizers, ['agentteams.io/cleanup'])
})

t.test('a new Worker: finalizer first, status.backendRuntime recorded before the runtime is created', async (t) => {
  const log: Log = []
  const sandbox = fakeBackend('sandbox', log)
  const { run } = setup({ spec: { backendRuntime: 'sandbox' } }, [fakeBackend('pod', log), sandbox], log)
  await run()
  const order = log.filter((l) => !l.startsWith('event'))
  t.same(order.slice(0, 3), ['finalizers ["agentteams.io/cleanup"]', 'status "sandbox" phase=-', 'sandbox.create'])
})

t.test('a hibernated sandbox still counts as existing: waking on pod is blocked', async (t) => {
  const log: Log = []
  const sandbox = fakeBackend('sandbox', log, 'Sleeping')
  const { stored, run } = setup({ spec: { backendRuntime: 'pod', state: 'Running' }, status: { phase: 'Sleeping', backendRuntime: 'sandbox' } }, [fakeBackend('pod', log), sandbox], log)
  await run()
  t.same(log.filter((l) => /\.(create|stop|delete)$/.test(l)), [])
  t.equal(blocked(stored.worker)?.status, 'True')
})

t.test('a Worker on a backend this controller does not have gets a clear condition, not a Pod', async (t) => {
  const log: Log = []
  const { stored, run } = setup({ spec: { backendRuntime: 'sandbox' } }, [fakeBackend('pod', log)], log)
  const result = await run()
  t.same(log.filter((l) => /\.create$/.test(l)), [])
  const ready = stored.worker.status?.conditions?.find((c) => c.type === 'Ready')
  t.equal(ready?.reason, 'BackendUnavailable')
  t.match(ready?.message, /sandbox backend is not available/)
  t.ok(result.requeueAfterMs, 'looked at again later')
})

t.test('a write based on a stale cache hits a conflict and fails the pass, so the queue retries it', async (t) => {
  const { stored, run } = setup({ spec: { backendRuntime: 'pod' } }, [fakeBackend('pod', [])], [], true)
  // Someone changed the Worker after the cache saw it: the server is at a newer resourceVersion.
  stored.worker = { ...stored.worker, metadata: { ...stored.worker.metadata, resourceVersion: '99' } }
  await t.rejects(run(), { message: /add finalizer of Worker ns\/w: conflict/ })
})

t.test("a backend's own requeue request (token refresh, claim polling) is honoured when it is the earliest", async (t) => {
  const sandbox = fakeBackend('sandbox', [])
  sandbox.create = async () => ({ state: 'Running', requeueAfterMs: 45_000 })
  const { run } = setup({ spec: { backendRuntime: 'sandbox' } }, [fakeBackend('pod', []), sandbox])
  t.same(await run(), { requeueAfterMs: 45_000 }, 'a running Worker is looked at again when the backend asks')
  sandbox.create = async () => ({ state: 'Starting', requeueAfterMs: 5_000 })
  t.same(await run(), { requeueAfterMs: 5_000 }, 'the earlier of the backend request and our own 30 s recheck')
})

t.test('delete: a Worker that moved to sandbox is cleaned there, and its old pod leftovers too', async (t) => {
  const log: Log = []
  const worker = { spec: { backendRuntime: 'sandbox' }, status: { phase: 'Running', backendRuntime: 'sandbox' }, metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['agentteams.io/cleanup'] } }
  const { run } = setup(worker, [fakeBackend('pod', log), fakeBackend('sandbox', log, 'Running')], log)
  await run()
  t.same(log.filter((l) => !l.startsWith('event')), ['sandbox.delete', 'pod.delete', 'delete ServiceAccount', 'finalizers []'])
})

const conditionOf = (w: Worker, type: string) => w.status?.conditions?.find((c) => c.type === type)

t.test('DepsMaterialized follows the backend: not claimed while the sandbox API is missing; the backend reason is the Ready reason', async (t) => {
  const sandbox = fakeBackend('sandbox', [])
  sandbox.create = async () => ({ state: 'Unknown', reason: 'SandboxApiMissing', message: 'the OpenKruise Agents sandbox API is not installed' })
  const { stored, run } = setup({ spec: { backendRuntime: 'sandbox' } }, [fakeBackend('pod', []), sandbox])
  await run()
  t.equal(conditionOf(stored.worker, 'DepsMaterialized'), undefined, 'nothing claims the deps were delivered')
  t.match(conditionOf(stored.worker, 'Ready'), { status: 'False', reason: 'SandboxApiMissing', message: /sandbox API is not installed/ })

  sandbox.create = async () => ({ state: 'Starting', reason: 'ClaimPending', message: 'created SandboxClaim ns/p-worker-w', depsDelivered: true })
  await run()
  t.match(conditionOf(stored.worker, 'DepsMaterialized'), { status: 'True', reason: 'Delivered' }, 'True once the backend delivered them')
  t.match(conditionOf(stored.worker, 'Ready'), { status: 'False', reason: 'ClaimPending' })

  sandbox.create = async () => ({ state: 'Failed', reason: 'ClaimTimedOut', message: 'SandboxClaim ns/p-worker-w timed out' })
  await run()
  t.equal(stored.worker.status?.phase, 'Failed')
  t.match(conditionOf(stored.worker, 'Ready'), { status: 'False', reason: 'ClaimTimedOut', message: /timed out/ })
})

t.test('a pass that cannot tell leaves an earlier DepsMaterialized=False as it is', async (t) => {
  const sandbox = fakeBackend('sandbox', [])
  sandbox.create = async () => ({ state: 'Unknown', reason: 'SandboxApiMissing' })
  const failed = { type: 'DepsMaterialized', status: 'False' as const, reason: 'StoreUnavailable', message: 'write deps object ...: connect ECONNREFUSED', lastTransitionTime: '2026-01-01T00:00:00Z' }
  const { stored, run } = setup({ spec: { backendRuntime: 'sandbox' }, status: { backendRuntime: 'sandbox', phase: 'Pending', conditions: [failed] } }, [fakeBackend('pod', []), sandbox])
  await run()
  t.same(conditionOf(stored.worker, 'DepsMaterialized'), failed)
})

t.test('delete: a Worker that moved from sandbox to pod is cleaned on pod, and the sandbox backend removes its deps, claim and Sandboxes', async (t) => {
  const log: Log = []
  const worker = { spec: { backendRuntime: 'pod' }, status: { phase: 'Running', backendRuntime: 'pod' }, metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['agentteams.io/cleanup'] } }
  const { stored, run } = setup(worker, [fakeBackend('pod', log, 'Running'), fakeBackend('sandbox', log)], log)
  await run()
  t.same(log.filter((l) => !l.startsWith('event')), ['pod.delete', 'sandbox.delete', 'delete ServiceAccount', 'finalizers []'])
  t.same(stored.worker.metadata?.finalizers, [])
})

t.test('delete: the finalizer stays while a leftover on the other backend is still going', async (t) => {
  const sandbox = fakeBackend('sandbox', [])
  sandbox.delete = async () => ({ state: 'Stopping', message: 'waiting for Sandbox x to be deleted' })
  const worker = { spec: {}, status: { phase: 'Running', backendRuntime: 'pod' }, metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['agentteams.io/cleanup'] } }
  const { stored, run } = setup(worker, [fakeBackend('pod', []), sandbox])
  t.same(await run(), { requeueAfterMs: 1000 })
  t.same(stored.worker.metadata?.finalizers, ['agentteams.io/cleanup'])
})

/** A Pod as the upstream controller makes it: its prefix, its controller label, owned by the Worker. */
function upstreamPod(phase: 'Running' | 'Failed', extra: Partial<NonNullable<KubeObject['metadata']>> = {}): Stored {
  return {
    plural: 'pods',
    object: {
      metadata: {
        name: 'hiclaw-worker-w',
        namespace: 'ns',
        uid: 'legacy-pod-1',
        labels: { 'agentteams.io/worker': 'w', 'agentteams.io/controller': 'hiclaw-controller', app: 'hiclaw-worker' },
        ownerReferences: [{ apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', name: 'w', uid: 'u1', controller: true }],
        ...extra,
      },
      status: { phase, conditions: [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False' }] },
    } as KubeObject,
  }
}
const legacyRunning: Worker = { spec: { runtime: 'openclaw' }, status: { phase: 'Running' } }
const adoptedOf = (w: Worker) => w.status?.conditions?.find((c) => c.type === 'RuntimeAdopted')

t.test('one runtime: a running upstream Pod is adopted as it is, never duplicated', async (t) => {
  const log: Log = []
  const { stored, run, actions } = setup(legacyRunning, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [upstreamPod('Running')])
  t.same(await run(), {}, 'nothing to poll: a running adopted Pod reports through its watch')
  t.same(actions(), [], 'no backend creates anything beside it')
  t.notOk(log.some((l) => l.startsWith('delete')), 'and nothing is deleted')
  t.equal(stored.worker.status?.backendRuntime, 'pod')
  t.equal(stored.worker.status?.phase, 'Running')
  t.match(adoptedOf(stored.worker), { status: 'True', reason: 'LegacyRuntimeAdopted', message: /Pod ns\/hiclaw-worker-w \(made by hiclaw-controller\)/, observedGeneration: 1 })
  t.ok(log.includes('event Normal RuntimeAdopted'))
  await run()
  t.equal(log.filter((l) => l === 'event Normal RuntimeAdopted').length, 1, 'one Event, not one per pass')
})

t.test('one runtime: a spec change of an adopted Worker is reported and waits for Stopped → Running', async (t) => {
  const log: Log = []
  const { stored, run, actions } = setup(legacyRunning, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [upstreamPod('Running')])
  await run()
  stored.worker = { ...stored.worker, metadata: { ...stored.worker.metadata, generation: 2 }, spec: { ...stored.worker.spec, image: 'example.com/worker:2' } }
  await run()
  t.same(actions(), [], 'the running Pod is not replaced unasked')
  t.match(adoptedOf(stored.worker), { status: 'True', reason: 'SpecChangedSinceAdoption', observedGeneration: 1 })
  t.match(stored.worker.status?.message, /spec changed after the runtime was adopted \(generation 1 → 2\): set spec.state=Stopped/)
})

t.test('one runtime: a legacy Worker switched to sandbox with its upstream Pod running is blocked', async (t) => {
  const log: Log = []
  const { stored, run, actions } = setup({ spec: { backendRuntime: 'sandbox' }, status: { phase: 'Running' } }, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [upstreamPod('Running')])
  await run()
  t.same(actions(), [])
  t.match(blocked(stored.worker), { status: 'True', message: /current=pod, desired=sandbox/ })
})

t.test('one runtime: Stopped deletes the upstream Pod (uid precondition) and reports Stopped only once it is gone', async (t) => {
  const log: Log = []
  const legacyPod = upstreamPod('Running')
  const { stored, run } = setup({ spec: { state: 'Stopped' }, status: { phase: 'Running' } }, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [legacyPod])
  t.same(await run(), { requeueAfterMs: 5000 })
  t.ok(log.includes('delete pods hiclaw-worker-w'))
  t.equal(stored.worker.status?.phase, 'Stopping', 'not Stopped while the Pod terminates')
  t.match(stored.worker.status?.message, /waiting for Pod ns\/hiclaw-worker-w to be deleted/)
  t.equal(blocked(stored.worker)?.status, 'False')
  await run()
  t.equal(stored.worker.status?.phase, 'Stopping')
  stored.objects.length = 0
  await run()
  t.equal(stored.worker.status?.phase, 'Stopped', 'Stopped once nothing of the Worker exists')
})

t.test('one runtime: an unlabelled Pod with a legacy name, found by asking the API server, blocks a create', async (t) => {
  const log: Log = []
  const unlabelled = upstreamPod('Running', { labels: { app: 'hiclaw-worker' } })
  const { stored, run, actions } = setup({ spec: {}, status: { phase: 'Stopped', backendRuntime: 'pod' } }, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [unlabelled])
  await run()
  t.same(actions(), [], 'no second runtime')
  t.match(adoptedOf(stored.worker), { status: 'True', message: /Pod ns\/hiclaw-worker-w \(made by an unlabelled controller\)/ })
})

t.test('one runtime: objects of other Workers are never taken for this one', async (t) => {
  const log: Log = []
  const namesake = upstreamPod('Running', { ownerReferences: [{ apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', name: 'w', uid: 'another-worker', controller: true }] })
  const replicaSetPod = upstreamPod('Running', { name: 'hiclaw-worker-w', uid: 'rs', labels: {}, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs1', controller: true }] })
  const lookalike = upstreamPod('Running', { name: 'hiclaw-worker-w-2', uid: 'x', labels: {}, ownerReferences: [] })
  const { stored, run, actions } = setup({ spec: {}, status: { phase: 'Running', backendRuntime: 'pod' } }, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [namesake, replicaSetPod, lookalike])
  await run()
  t.same(actions(), ['pod.create'], "the Worker's own runtime is created")
  t.equal(adoptedOf(stored.worker), undefined)
  stored.worker = { ...stored.worker, spec: { state: 'Stopped' } }
  await run()
  t.notOk(log.some((l) => l.startsWith('delete pods')), 'and Stopped deletes none of them')
})

t.test('one runtime: a finished upstream Pod is removed, then replaced by this controller\'s own', async (t) => {
  const log: Log = []
  const { stored, run, actions } = setup(legacyRunning, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [upstreamPod('Failed')])
  t.same(await run(), { requeueAfterMs: 5000 })
  t.ok(log.includes('delete pods hiclaw-worker-w'))
  t.equal(stored.worker.status?.phase, 'Failed')
  t.same(actions(), [], 'nothing created while it still exists')
  stored.objects.length = 0
  await run()
  t.same(actions(), ['pod.create'])
  t.match(adoptedOf(stored.worker), { status: 'False', reason: 'LegacyRuntimeGone' })
})

t.test('delete: the upstream Pod goes before the finalizer', async (t) => {
  const log: Log = []
  const worker = { ...legacyRunning, metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['agentteams.io/cleanup'] } }
  const { stored, run } = setup(worker, [fakeBackend('pod', log), fakeBackend('sandbox', log)], log, false, [upstreamPod('Running')])
  t.same(await run(), { requeueAfterMs: 5000 })
  t.ok(log.includes('delete pods hiclaw-worker-w'))
  t.same(stored.worker.metadata?.finalizers, ['agentteams.io/cleanup'], 'kept while the Pod terminates')
  stored.objects.length = 0
  await run()
  t.same(stored.worker.metadata?.finalizers, [])
})

t.test('one runtime: an upstream Pod that appears beside this controller\'s own is reported, neither adopted nor deleted', async (t) => {
  const log: Log = []
  const own: Stored = { plural: 'pods', object: { metadata: { name: 'p-worker-w', namespace: 'ns', uid: 'own-pod', labels: { 'agentteams.io/worker': 'w', 'agentteams.io/controller': 'c' } } } }
  const { stored, run, actions } = setup({ spec: {}, status: { phase: 'Running', backendRuntime: 'pod' } }, [fakeBackend('pod', log, 'Running'), fakeBackend('sandbox', log)], log, false, [own, upstreamPod('Running')])
  await run()
  t.same(actions(), ['pod.create'], "this controller's runtime is kept as it is")
  t.notOk(log.some((l) => l.startsWith('delete')), 'nothing is deleted unasked')
  t.match(adoptedOf(stored.worker), { status: 'False', reason: 'ForeignRuntimeBeside', message: /a second runtime of this Worker runs beside this controller's own: Pod ns\/hiclaw-worker-w \(made by hiclaw-controller\)/ })
  t.match(stored.worker.status?.message, /stop the controller that made it/)
  t.ok(log.includes('event Warning ForeignRuntimeBeside'))
})
