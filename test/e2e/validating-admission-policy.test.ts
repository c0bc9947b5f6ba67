// The ValidatingAdmissionPolicy alternative (manifests/policy/) on a real kube-apiserver with NO
// webhook at all: the unsafe backend switch is still rejected, with the policy's message, and the
// transitions docs/backend-runtime.md allows still go through, and names are checked as the webhook checks them.
// Driven with the real kubectl.

import t from 'tap'
import { POLICY_DENIAL_PREFIX, waitForBackendRuleEnforced } from '../../localcluster/admission-probes.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { applyManifestFile } from '../../localcluster/objects.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { workerYaml } from '../harness/workers.ts'
import { LEGACY_TO_SANDBOX, SLEEPING_SANDBOX_TO_POD } from './expected-messages.ts'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])
await applyManifestFile(cp.api, MANIFESTS.validatingAdmissionPolicy)
await waitForBackendRuleEnforced(cp.api, await createNamespace(cp.api, 'policy-probe'), POLICY_DENIAL_PREFIX)

const apply = (ns: string, name: string, spec: Record<string, unknown>) =>
  cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, name, spec) })
const setStatus = (ns: string, name: string, status: Record<string, unknown>) =>
  cp.kubectl(['patch', 'worker', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })])

t.test('no webhook configuration is installed', async (t) => {
  const result = await cp.kubectl(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-o', 'name'])
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout.trim(), '')
})

t.test('the policy rejects switching a running legacy Worker to sandbox, with the full explanation', async (t) => {
  const ns = await createNamespace(cp.api, 'policy-legacy')
  t.equal((await apply(ns, 'legacy', { state: 'Running' })).code, 0)
  t.equal((await setStatus(ns, 'legacy', { phase: 'Running' })).code, 0)
  const result = await apply(ns, 'legacy', { state: 'Running', backendRuntime: 'sandbox' })
  t.not(result.code, 0, 'kubectl apply fails')
  t.match(result.stderr, /^Error from server \(Forbidden\): /)
  t.match(result.stderr, POLICY_DENIAL_PREFIX + LEGACY_TO_SANDBOX, 'the policy\'s full message')
  const patched = await cp.kubectl(['patch', 'worker', 'legacy', '-n', ns, '--type=merge', '-p', '{"spec":{"backendRuntime":"sandbox"}}'])
  t.not(patched.code, 0, 'kubectl patch fails')
  t.match(patched.stderr, POLICY_DENIAL_PREFIX + LEGACY_TO_SANDBOX, 'the policy\'s full message')
  const stored = await cp.kubectl(['get', 'worker', 'legacy', '-n', ns, '-o', 'jsonpath={.spec.backendRuntime}'])
  t.equal(stored.stdout, '', 'the stored Worker is unchanged')
})

t.test('a Worker on sandbox that is Sleeping cannot go back to pod; the message names the recorded backend', async (t) => {
  const ns = await createNamespace(cp.api, 'policy-sleeping')
  t.equal((await apply(ns, 'w', { backendRuntime: 'sandbox', state: 'Sleeping' })).code, 0)
  t.equal((await setStatus(ns, 'w', { phase: 'Sleeping', backendRuntime: 'sandbox' })).code, 0)
  const result = await apply(ns, 'w', { backendRuntime: 'pod', state: 'Sleeping' })
  t.not(result.code, 0)
  t.match(result.stderr, POLICY_DENIAL_PREFIX + SLEEPING_SANDBOX_TO_POD, 'the policy\'s full message')
})

t.test('the allowed transitions go through', async (t) => {
  const ns = await createNamespace(cp.api, 'policy-allowed')
  t.test('before the first reconcile (no status) the backend may change', async (t) => {
    t.equal((await apply(ns, 'fresh', {})).code, 0)
    const result = await apply(ns, 'fresh', { backendRuntime: 'sandbox' })
    t.equal(result.code, 0, result.stderr)
  })
  t.test('once the status says Stopped the switch succeeds', async (t) => {
    t.equal((await apply(ns, 'stopped', { state: 'Stopped' })).code, 0)
    t.equal((await setStatus(ns, 'stopped', { phase: 'Stopped' })).code, 0)
    const result = await apply(ns, 'stopped', { state: 'Stopped', backendRuntime: 'sandbox' })
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, /worker\.agentteams\.io\/stopped configured/)
  })
  t.test('a mismatched Worker accepts unrelated edits and switching back to the applied backend', async (t) => {
    // A mismatch that exists legitimately: desired sandbox recorded while Stopped, then running on pod.
    t.equal((await apply(ns, 'mismatch', { backendRuntime: 'sandbox' })).code, 0)
    t.equal((await setStatus(ns, 'mismatch', { phase: 'Running', backendRuntime: 'pod' })).code, 0)
    const unrelated = await apply(ns, 'mismatch', { backendRuntime: 'sandbox', image: 'example.com/worker:2' })
    t.equal(unrelated.code, 0, unrelated.stderr)
    const back = await apply(ns, 'mismatch', { backendRuntime: 'pod', image: 'example.com/worker:2' })
    t.equal(back.code, 0, back.stderr)
  })
  t.test('status writes are never blocked by the policy', async (t) => {
    t.equal((await apply(ns, 'status', { backendRuntime: 'pod' })).code, 0)
    t.equal((await setStatus(ns, 'status', { phase: 'Running', backendRuntime: 'sandbox' })).code, 0)
    const result = await setStatus(ns, 'status', { phase: 'Failed', backendRuntime: 'pod' })
    t.equal(result.code, 0, result.stderr)
  })
})

t.test('names are checked as the webhook checks them, with the same messages', async (t) => {
  const ns = await createNamespace(cp.api, 'policy-names')
  const long = `researcher-${'a'.repeat(53)}`
  const tooLong = await apply(ns, long, { backendRuntime: 'pod' })
  t.not(tooLong.code, 0, 'a 64-character name is refused')
  t.match(tooLong.stderr, `${POLICY_DENIAL_PREFIX}metadata.name: Too long: "${long}" has 64 characters, at most 63 are allowed: the name becomes the value of the agentteams.io/worker label`)
  t.equal((await apply(ns, long.slice(0, 63), { backendRuntime: 'pod' })).code, 0, '63 characters on the pod backend')

  const sandbox = `researcher-${'b'.repeat(35)}`
  const refused = await apply(ns, sandbox, { backendRuntime: 'sandbox' })
  t.not(refused.code, 0, 'a 46-character sandbox Worker is refused')
  t.match(
    refused.stderr,
    `${POLICY_DENIAL_PREFIX}metadata.name: Too long for the sandbox backend: "${sandbox}" has 46 characters, at most 45 are allowed: its SandboxClaim would be named "agentteams-worker-${sandbox}" (64 characters, resource prefix "agentteams-"), and the sandbox API takes at most 63. Use a Worker name of at most 45 characters, or spec.backendRuntime: pod`,
  )
  t.equal((await apply(ns, sandbox.slice(0, 45), { backendRuntime: 'sandbox' })).code, 0, '45 characters on sandbox')

  const moving = `mover-${'c'.repeat(44)}`
  t.equal((await apply(ns, moving, { backendRuntime: 'pod', state: 'Stopped' })).code, 0)
  t.equal((await setStatus(ns, moving, { phase: 'Stopped', backendRuntime: 'pod' })).code, 0)
  const moved = await apply(ns, moving, { backendRuntime: 'sandbox', state: 'Stopped' })
  t.not(moved.code, 0, 'a stopped pod Worker named with 50 characters cannot move to sandbox')
  t.match(moved.stderr, 'Too long for the sandbox backend')
})
