// The admission webhooks end to end: a real kube-apiserver calls the project's webhook server over
// TLS, and the real kubectl shows users the defaults, the denial of an unsafe backend switch with
// the full explanation (apply, patch, replace, edit, server dry run), the transitions that stay
// allowed, schema errors naming the field, the printer columns, and finally the
// ValidatingAdmissionPolicy taking over once the webhooks are removed.

import t from 'tap'
import { parse } from 'yaml'
import { WARNING_RESOURCES_IGNORED } from '../../server/mutate-worker.ts'
import { POLICY_DENIAL_PREFIX, WEBHOOK_DENIAL_PREFIX, waitForBackendRuleEnforced, waitForBackendRuleLifted } from '../../localcluster/admission-probes.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { applyManifestFile } from '../../localcluster/objects.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { unregisterWebhooks } from '../../localcluster/webhooks.ts'
import { workerYaml } from '../harness/workers.ts'
import { LEGACY_TO_SANDBOX, SLEEPING_SANDBOX_TO_POD } from './expected-messages.ts'

const { cp } = await startWebhookSuite(t)

const apply = (ns: string, name: string, spec: Record<string, unknown>, ...flags: string[]) =>
  cp.kubectl(['apply', ...flags, '-f', '-'], { stdin: workerYaml(ns, name, spec) })
const setStatus = (ns: string, name: string, status: Record<string, unknown>) =>
  cp.kubectl(['patch', 'worker', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })])
const getSpec = async (ns: string, name: string) => parse((await cp.kubectl(['get', 'worker', name, '-n', ns, '-o', 'yaml'])).stdout).spec

/** A legacy Worker: created without backendRuntime, then run by "some controller" as a pod. */
async function legacyWorker(ns: string, name: string): Promise<void> {
  const created = await apply(ns, name, { image: 'example.com/worker:1' })
  if (created.code !== 0) throw new Error(`create Worker ${ns}/${name}: ${created.stderr}`)
  const status = await setStatus(ns, name, { phase: 'Running' })
  if (status.code !== 0) throw new Error(`update Worker ${ns}/${name} status: ${status.stderr}`)
}

t.test('kubectl apply without backendRuntime and state: kubectl get -o yaml shows the webhook\'s defaults', async (t) => {
  const ns = await createNamespace(cp.api, 'defaults')
  const result = await apply(ns, 'plain', { image: 'example.com/worker:1' })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, 'worker.agentteams.io/plain created')
  const yaml = await cp.kubectl(['get', 'worker', 'plain', '-n', ns, '-o', 'yaml'])
  t.equal(yaml.code, 0, yaml.stderr)
  t.match(yaml.stdout, /\n {2}backendRuntime: pod\n/)
  t.match(yaml.stdout, /\n {2}state: Running\n/)
  t.same(parse(yaml.stdout).spec, { backendRuntime: 'pod', state: 'Running', image: 'example.com/worker:1' })
  t.notOk(parse(yaml.stdout).status, 'the webhook never writes status')
})

t.test('a sandbox Worker with spec.resources: kubectl prints the webhook\'s warning', async (t) => {
  const ns = await createNamespace(cp.api, 'warnings')
  const result = await apply(ns, 'sized', { backendRuntime: 'sandbox', resources: { limits: { cpu: '1' } } })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stderr, `Warning: ${WARNING_RESOURCES_IGNORED}`)
})

t.test('switching a running legacy Worker to sandbox is denied with the full explanation', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy')
  await legacyWorker(ns, 'legacy')
  const expected = WEBHOOK_DENIAL_PREFIX + LEGACY_TO_SANDBOX
  const storedBackend = async () => (await getSpec(ns, 'legacy')).backendRuntime

  t.test('kubectl apply', async (t) => {
    const result = await apply(ns, 'legacy', { image: 'example.com/worker:1', backendRuntime: 'sandbox' })
    t.equal(result.code, 1, 'kubectl exits 1')
    t.match(result.stderr, /^Error from server \(Forbidden\): /)
    t.match(result.stderr, expected)
    t.equal(await storedBackend(), 'pod', 'the stored Worker is unchanged')
  })
  t.test('kubectl apply --server-side', async (t) => {
    const result = await apply(ns, 'legacy', { image: 'example.com/worker:1', backendRuntime: 'sandbox' }, '--server-side', '--force-conflicts')
    t.equal(result.code, 1)
    t.match(result.stderr, expected)
    t.equal(await storedBackend(), 'pod', 'the stored Worker is unchanged')
  })
  t.test('kubectl patch', async (t) => {
    const result = await cp.kubectl(['patch', 'worker', 'legacy', '-n', ns, '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
    t.equal(result.code, 1)
    t.match(result.stderr, /^Error from server \(Forbidden\): /)
    t.match(result.stderr, expected)
    t.equal(await storedBackend(), 'pod', 'the stored Worker is unchanged')
  })
  t.test('kubectl replace (a PUT of the whole object)', async (t) => {
    const current = parse((await cp.kubectl(['get', 'worker', 'legacy', '-n', ns, '-o', 'yaml'])).stdout)
    current.spec.backendRuntime = 'sandbox'
    const result = await cp.kubectl(['replace', '-f', '-'], { stdin: JSON.stringify(current) })
    t.equal(result.code, 1)
    t.match(result.stderr, /^Error from server \(Forbidden\): /)
    t.match(result.stderr, expected)
    t.equal(await storedBackend(), 'pod', 'the stored Worker is unchanged')
  })
  t.test('kubectl edit', async (t) => {
    const result = await cp.kubectl(['edit', 'worker', 'legacy', '-n', ns], {
      env: { KUBE_EDITOR: "sed -i 's/backendRuntime: pod/backendRuntime: sandbox/'", TMPDIR: cp.dir },
    })
    t.equal(result.code, 1)
    t.match(result.stderr, expected)
    t.equal(await storedBackend(), 'pod', 'the stored Worker is unchanged')
  })
  t.test('kubectl apply --dry-run=server and kubectl patch --dry-run=server', async (t) => {
    const applied = await apply(ns, 'legacy', { image: 'example.com/worker:1', backendRuntime: 'sandbox' }, '--dry-run=server')
    t.equal(applied.code, 1)
    t.match(applied.stderr, expected)
    const patched = await cp.kubectl(['patch', 'worker', 'legacy', '-n', ns, '--dry-run=server', '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
    t.equal(patched.code, 1)
    t.match(patched.stderr, expected)
  })
  t.test('the same apply succeeds once the status says Stopped', async (t) => {
    t.equal((await apply(ns, 'legacy', { image: 'example.com/worker:1', state: 'Stopped' })).code, 0)
    t.equal((await setStatus(ns, 'legacy', { phase: 'Stopped' })).code, 0)
    const result = await apply(ns, 'legacy', { image: 'example.com/worker:1', state: 'Stopped', backendRuntime: 'sandbox' })
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, 'worker.agentteams.io/legacy configured')
    t.equal((await getSpec(ns, 'legacy')).backendRuntime, 'sandbox')
  })
})

t.test('a sandbox Worker that is Sleeping cannot go back to pod; the message names the recorded backend', async (t) => {
  const ns = await createNamespace(cp.api, 'sleeping')
  t.equal((await apply(ns, 'w', { backendRuntime: 'sandbox', state: 'Sleeping' })).code, 0)
  t.equal((await setStatus(ns, 'w', { phase: 'Sleeping', backendRuntime: 'sandbox' })).code, 0)
  const result = await cp.kubectl(['patch', 'worker', 'w', '-n', ns, '--type=merge', '-p', '{"spec":{"backendRuntime":"pod"}}'])
  t.equal(result.code, 1)
  t.match(result.stderr, WEBHOOK_DENIAL_PREFIX + SLEEPING_SANDBOX_TO_POD)
})

t.test('allowed: before the first reconcile, switching back to the applied backend, unrelated edits of a mismatch', async (t) => {
  const ns = await createNamespace(cp.api, 'allowed')
  t.equal((await apply(ns, 'w', {})).code, 0)
  const early = await apply(ns, 'w', { backendRuntime: 'sandbox' })
  t.equal(early.code, 0, `a Worker without status may change backend: ${early.stderr}`)
  // The controller recorded pod and runs it: desired sandbox, applied pod — a mismatch.
  t.equal((await setStatus(ns, 'w', { phase: 'Running', backendRuntime: 'pod' })).code, 0)
  const unrelated = await apply(ns, 'w', { backendRuntime: 'sandbox', image: 'example.com/worker:2' })
  t.equal(unrelated.code, 0, `an unrelated edit of a mismatched Worker goes through: ${unrelated.stderr}`)
  const labelled = await cp.kubectl(['label', 'worker', 'w', '-n', ns, 'team=blue'])
  t.equal(labelled.code, 0, labelled.stderr)
  const back = await apply(ns, 'w', { backendRuntime: 'pod', image: 'example.com/worker:2' })
  t.equal(back.code, 0, `switching back to the applied backend while Running goes through: ${back.stderr}`)
  t.equal((await getSpec(ns, 'w')).backendRuntime, 'pod')
})

t.test('invalid enum values are rejected with a message naming the field', async (t) => {
  const ns = await createNamespace(cp.api, 'enums')
  const backend = await apply(ns, 'bad', { backendRuntime: 'vm' })
  t.equal(backend.code, 1)
  t.match(backend.stderr, 'spec.backendRuntime: Unsupported value: "vm": supported values: "pod", "sandbox"')
  const state = await apply(ns, 'bad', { state: 'Paused' })
  t.equal(state.code, 1)
  t.match(state.stderr, 'spec.state: Unsupported value: "Paused": supported values: "Running", "Sleeping", "Stopped"')
  t.equal((await apply(ns, 'good', {})).code, 0)
  const phase = await setStatus(ns, 'good', { phase: 'Exploded' })
  t.equal(phase.code, 1)
  t.match(phase.stderr, 'status.phase: Unsupported value: "Exploded"')
})

t.test('status subresource writes are never blocked by the webhooks', async (t) => {
  const ns = await createNamespace(cp.api, 'status')
  await legacyWorker(ns, 'w')
  for (const status of [{ backendRuntime: 'sandbox' }, { phase: 'Failed', backendRuntime: 'pod' }, { phase: 'Running' }]) {
    const result = await setStatus(ns, 'w', status)
    t.equal(result.code, 0, `status ${JSON.stringify(status)}: ${result.stderr}`)
  }
  const status = parse((await cp.kubectl(['get', 'worker', 'w', '-n', ns, '-o', 'yaml'])).stdout).status
  t.same(status, { phase: 'Running', backendRuntime: 'pod' })
})

t.test('kubectl get workers shows Phase, Backend, Desired, State and Age', async (t) => {
  const ns = await createNamespace(cp.api, 'columns')
  t.equal((await apply(ns, 'alpha', { backendRuntime: 'sandbox' })).code, 0)
  t.equal((await setStatus(ns, 'alpha', { phase: 'Starting', backendRuntime: 'sandbox' })).code, 0)
  const result = await cp.kubectl(['get', 'workers', '-n', ns])
  t.equal(result.code, 0, result.stderr)
  const [header, row] = result.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/))
  t.same(header, ['NAME', 'PHASE', 'BACKEND', 'DESIRED', 'STATE', 'AGE'])
  t.same(row?.slice(0, 5), ['alpha', 'Starting', 'sandbox', 'sandbox', 'Running'])
  const short = await cp.kubectl(['get', 'wk', 'alpha', '-n', ns, '-o', 'name'])
  t.equal(short.stdout.trim(), 'worker.agentteams.io/alpha', 'the short name wk works')
})

t.test('with the webhooks removed and the ValidatingAdmissionPolicy installed instead, the switch is still denied', async (t) => {
  const probeNs = await createNamespace(cp.api, 'policy-probe')
  await unregisterWebhooks(cp.api, [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook])
  await waitForBackendRuleLifted(cp.api, probeNs)
  await applyManifestFile(cp.api, MANIFESTS.validatingAdmissionPolicy)
  await waitForBackendRuleEnforced(cp.api, probeNs, POLICY_DENIAL_PREFIX)
  const ns = await createNamespace(cp.api, 'policy')
  await legacyWorker(ns, 'legacy')
  const result = await apply(ns, 'legacy', { image: 'example.com/worker:1', backendRuntime: 'sandbox' })
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error from server \(Forbidden\): /)
  t.match(result.stderr, POLICY_DENIAL_PREFIX + LEGACY_TO_SANDBOX)
  t.notMatch(result.stderr, 'admission webhook', 'no webhook took part')
})
