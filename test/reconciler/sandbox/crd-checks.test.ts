// The start-up checks of the installed CRDs (docs/runtime-objects.md, docs/sandbox.md), unit level with published
// OpenAPI documents shaped as the API server serves them: HEAD's Worker CRD (backendRuntime: pod
// only) and a v0.3.0 SandboxClaim CRD (no mount attributes) get one warning line each and a gauge
// of 0; this project's CRDs get none and 1; a group-version published late is waited for; an
// unreadable schema is said once and never fails anything. The real API server's documents are read
// in test/e2e/status-convergence.test.ts and test/e2e/sandbox-provider-compat.test.ts.

import t from 'tap'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { CLAIM_ATTRIBUTES_CHECK, METRIC_CRD_CAPABILITY, runCrdChecks, WORKER_SANDBOX_CHECK } from '../../../reconciler/sandbox/crd-checks.ts'
import { fieldAt, type JsonSchema, publishedSchema } from '../../../reconciler/controller/crd-schema.ts'
import { KubeError } from '../../../reconciler/controller/kube.ts'
import { notFound, type RecordingKube, recordingKube } from '../fake-kube.ts'
import { FakeClock } from '../fake-clock.ts'

const gvk = (group: string, version: string, kind: string) => ({ 'x-kubernetes-group-version-kind': [{ group, version, kind }] })
const meta = { ObjectMeta: { type: 'object', properties: { name: { type: 'string' } } } as JsonSchema }

function workerDoc(enumValues: string[] | undefined) {
  return {
    components: {
      schemas: {
        'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': meta.ObjectMeta,
        'io.agentteams.v1beta1.Worker': {
          type: 'object',
          ...gvk('agentteams.io', 'v1beta1', 'Worker'),
          properties: {
            metadata: { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] },
            spec: { type: 'object', properties: { backendRuntime: { type: 'string', ...(enumValues ? { enum: enumValues } : {}) } } },
          },
        },
        'io.agentteams.v1beta1.WorkerList': { type: 'object', ...gvk('agentteams.io', 'v1beta1', 'WorkerList') },
      },
    },
  }
}

function claimDoc(attributes: boolean) {
  const mount = { type: 'object', properties: { pvName: { type: 'string' }, mountPath: { type: 'string' }, ...(attributes ? { attributes: { type: 'object', additionalProperties: { type: 'string' } } } : {}) } }
  return {
    components: {
      schemas: {
        'io.kruise.agents.v1alpha1.SandboxClaim': { type: 'object', ...gvk('agents.kruise.io', 'v1alpha1', 'SandboxClaim'), properties: { spec: { type: 'object', properties: { dynamicVolumesMount: { type: 'array', items: mount } } } } },
      },
    },
  }
}

/** An API client that serves `docs` by path; a missing path is a 404, a function may throw. */
function serving(docs: Record<string, unknown | (() => unknown)>): RecordingKube {
  return recordingKube((req) => {
    const doc = docs[req.path]
    if (doc === undefined) throw notFound()
    return typeof doc === 'function' ? doc() : doc
  })
}

function logger() {
  const lines: Array<{ level: number; msg: string; crd?: string }> = []
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _e, done) => { lines.push(JSON.parse(chunk.toString())); done() } }))
  return { log, warnings: () => lines.filter((l) => l.level === 40), lines }
}

const WORKER = '/openapi/v3/apis/agentteams.io/v1beta1'
const CLAIM = '/openapi/v3/apis/agents.kruise.io/v1alpha1'
const gaugeOf = async (registry: Registry, capability: string) =>
  (await registry.getSingleMetric(METRIC_CRD_CAPABILITY)?.get())?.values.find((v) => v.labels['capability'] === capability)?.value

t.test('fieldAt: declared fields, enums, array items, $ref, and objects that keep unknown fields', async (t) => {
  const worker = await publishedSchema(serving({ [WORKER]: workerDoc(['pod']) }), WORKER_SANDBOX_CHECK.gvk)
  t.ok(worker, 'the Worker kind is found by its group-version-kind, not by its list')
  t.same(fieldAt(worker!, 'spec.backendRuntime').schema?.enum, ['pod'])
  t.equal(fieldAt(worker!, 'spec.nothing').stored, false)
  t.equal(fieldAt(worker!, 'metadata.name').stored, true, 'through allOf/$ref')
  const claim = await publishedSchema(serving({ [CLAIM]: claimDoc(true) }), CLAIM_ATTRIBUTES_CHECK.gvk)
  t.equal(fieldAt(claim!, 'spec.dynamicVolumesMount[].attributes').stored, true)
  t.equal(fieldAt(claim!, 'spec.dynamicVolumesMount[].other').stored, false)
  const open = { root: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } as JsonSchema, schemas: {} }
  t.same(fieldAt(open, 'spec.anything.deeper'), { schema: undefined, stored: true }, 'below an object that preserves unknown fields, anything is stored')
  t.equal(await publishedSchema(serving({}), WORKER_SANDBOX_CHECK.gvk), undefined, 'a group-version not published')
})

t.test("upstream's CRDs: one warning line each, gauge 0", async (t) => {
  const { log, warnings } = logger()
  const registry = new Registry()
  const findings = await runCrdChecks({ kube: serving({ [WORKER]: workerDoc(['pod']), [CLAIM]: claimDoc(false) }), log, registry, checks: [WORKER_SANDBOX_CHECK, CLAIM_ATTRIBUTES_CHECK] })
  t.same(findings.map((f) => f.ok), [false, false])
  t.equal(warnings().length, 2)
  t.match(warnings()[0]?.msg, /does not allow spec\.backendRuntime: sandbox .*install this project's Worker CRD/)
  t.match(warnings()[1]?.msg, /cannot store spec\.dynamicVolumesMount\[\]\.attributes \(OpenKruise Agents v0\.3\.0 or older\)/)
  t.equal(await gaugeOf(registry, 'worker-backend-sandbox'), 0)
  t.equal(await gaugeOf(registry, 'sandboxclaim-mount-attributes'), 0)
})

t.test("this project's CRDs (or a Worker CRD without an enum): no warning, gauge 1", async (t) => {
  for (const enumValues of [['pod', 'sandbox'], undefined]) {
    const { log, warnings } = logger()
    const registry = new Registry()
    const findings = await runCrdChecks({ kube: serving({ [WORKER]: workerDoc(enumValues), [CLAIM]: claimDoc(true) }), log, registry, checks: [WORKER_SANDBOX_CHECK, CLAIM_ATTRIBUTES_CHECK] })
    t.same(findings.map((f) => f.ok), [true, true])
    t.same(warnings(), [])
    t.equal(await gaugeOf(registry, 'worker-backend-sandbox'), 1)
  }
})

t.test('a group-version published late is asked again; one never published is left alone', async (t) => {
  const clock = new FakeClock()
  const docs: Record<string, unknown> = {}
  const kube = serving(docs)
  const { log, warnings } = logger()
  const registry = new Registry()
  const running = runCrdChecks({ kube, log, registry, clock, retries: 3, retryEveryMs: 1000, checks: [WORKER_SANDBOX_CHECK, CLAIM_ATTRIBUTES_CHECK] })
  await clock.advance(1000)
  docs[WORKER] = workerDoc(['pod'])
  await clock.advance(1000)
  for (let i = 0; i < 4; i++) await clock.advance(1000)
  const findings = await running
  t.same(findings.map((f) => f.ok), [false, undefined], 'the Worker CRD once published; the sandbox API never')
  t.equal(warnings().length, 1)
  t.equal(kube.requests.filter((r) => r.path === CLAIM).length, 4, 'asked once and again `retries` times')
  t.equal(await gaugeOf(registry, 'sandboxclaim-mount-attributes'), undefined, 'not known: no gauge value')
})

t.test('an unreadable schema (refused, broken) is said at info level and fails nothing', async (t) => {
  const { log, warnings, lines } = logger()
  const refused = () => { throw new KubeError('forbidden', { code: 403, reason: 'Forbidden' }) }
  const findings = await runCrdChecks({ kube: serving({ [WORKER]: refused, [CLAIM]: () => ({ components: 'garbage' }) }), log, checks: [WORKER_SANDBOX_CHECK, CLAIM_ATTRIBUTES_CHECK], retries: 0 })
  t.same(findings.map((f) => f.ok), [undefined, undefined])
  t.same(warnings(), [])
  t.ok(lines.some((l) => l.msg.startsWith('could not read the published schema') && l.crd === 'workers.agentteams.io'))
})
