// The SandboxClaim a Worker gets (docs/sandbox.md, docs/deps.md): names, owner, labels, timeouts, image swap,
// deps mounts matching the storage keys; fields that must never be set; the spec digest.

import t from 'tap'
import { depsKeys } from '../../../reconciler/deps/store.ts'
import { checkClaimable, claimLabels, claimName, claimSpecHash, desiredSandboxClaim, recordedSpecHash, type Sandbox, type SandboxClaim, type SandboxSettings } from '../../../reconciler/sandbox/objects.ts'
import type { Worker } from '../../../api/worker.ts'
import { sandboxSettings } from '../../e2e/sandbox-settings.ts'

const settings: SandboxSettings = sandboxSettings({ controllerName: 'wrc' })

const worker: Worker = {
  apiVersion: 'agentteams.io/v1beta1',
  kind: 'Worker',
  metadata: { name: 'alice', namespace: 'team-a', uid: 'uid-alice' },
  spec: {
    backendRuntime: 'sandbox',
    runtime: 'openclaw',
    labels: { team: 'blue', 'agentteams.io/worker': 'mallory', 'agents.kruise.io/claim-name': 'x', 'agents.kruise.io/sandbox-id': 'y' },
  },
}

t.test('the claim of docs/sandbox.md', async (t) => {
  const claim = desiredSandboxClaim(settings, { worker, image: 'registry/worker:1', attempt: 1, specHash: 'h' })
  t.equal(claim.apiVersion, 'agents.kruise.io/v1alpha1')
  t.equal(claim.metadata.name, 'agentteams-worker-alice')
  t.equal(claim.metadata.namespace, 'team-a')
  t.same(claim.metadata.ownerReferences, [
    { apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', name: 'alice', uid: 'uid-alice', controller: true, blockOwnerDeletion: true },
  ])
  t.match(claim.spec, { templateName: 'agentteams-builtin', replicas: 1, claimTimeout: '5m', waitReadyTimeout: '2m', ttlAfterCompleted: '15m', inplaceUpdate: { image: 'registry/worker:1' } })
  t.notOk('template' in claim.spec, 'never a template')
  t.notOk('skipInitRuntime' in claim.spec, 'never skipInitRuntime (the mounts need the init runtime)')
})

t.test('labels: the same in metadata and spec.labels; system labels win; provider keys never copied', async (t) => {
  const claim = desiredSandboxClaim(settings, { worker, image: 'i', attempt: 1 })
  t.same(claim.metadata.labels, claim.spec.labels)
  t.same(claim.spec.labels, { team: 'blue', app: 'agentteams-worker', 'agentteams.io/runtime': 'openclaw', 'agentteams.io/worker': 'alice', 'agentteams.io/controller': 'wrc' })
  t.not(claim.metadata.labels, claim.spec.labels, 'two copies, not one shared object')
})

t.test('deps mounts: env and token folders, read-only, on the deps PV, at the storage keys', async (t) => {
  const claim = desiredSandboxClaim(settings, { worker, image: 'i', attempt: 1 })
  const keys = depsKeys('alice')
  t.same(claim.spec.dynamicVolumesMount, [
    { pvName: 'agentteams', mountPath: '/mnt/agentteams/env', subPath: 'workers-deps/alice/env', readOnly: true },
    { pvName: 'agentteams', mountPath: '/var/run/secrets/agentteams', subPath: 'workers-deps/alice/token', readOnly: true, attributes: { credentialProviderName: 'agentteams-token' } },
  ])
  t.equal(`${claim.spec.dynamicVolumesMount?.[0]?.subPath}/env`, keys.env, 'the env file is <subPath>/env')
  t.equal(`${claim.spec.dynamicVolumesMount?.[1]?.subPath}/token`, keys.token, 'the token file is <subPath>/token')
  t.notMatch(JSON.stringify(claim), 'credProviderName', 'never the legacy attribute spelling')
})

t.test('the re-claim attempt travels on the claim', async (t) => {
  t.equal(desiredSandboxClaim(settings, { worker, image: 'i', attempt: 3 }).metadata.annotations?.['agentteams.io/claim-attempt'], '3')
})

t.test('claim names longer than a label value are refused with a clear reason', async (t) => {
  t.equal(checkClaimable(settings, 'alice'), undefined)
  const long = 'a'.repeat(50)
  t.equal(claimName(settings, long).length, 68)
  t.match(checkClaimable(settings, long), /has 50 characters, at most 45 are allowed: its SandboxClaim would be named "agentteams-worker-a{50}" \(68 characters/)
  t.equal(checkClaimable({ resourcePrefix: 'x-' }, long), undefined, 'a shorter prefix leaves room for a longer name')
})

t.test('the spec digest: changes with image, env, labels or runtime; carried by the claim and, for the provider to copy, its spec.annotations', async (t) => {
  const base = { uid: 'uid-alice', image: 'registry/worker:1', labels: claimLabels(settings, worker), envFile: "export MODE='one'\n" }
  const hash = claimSpecHash(base)
  t.match(hash, /^[0-9a-f]{32}$/)
  t.equal(claimSpecHash({ ...base, labels: { ...base.labels } }), hash, 'the same inputs, the same digest')
  t.equal(claimSpecHash({ ...base, labels: Object.fromEntries(Object.entries(base.labels).reverse()) }), hash, 'label order does not matter')
  const changed = {
    image: claimSpecHash({ ...base, image: 'registry/worker:2' }),
    env: claimSpecHash({ ...base, envFile: "export MODE='two'\n" }),
    labels: claimSpecHash({ ...base, labels: claimLabels(settings, { ...worker, spec: { ...worker.spec, labels: { team: 'red' } } }) }),
    runtime: claimSpecHash({ ...base, labels: claimLabels(settings, { ...worker, spec: { ...worker.spec, runtime: 'hermes' } }) }),
    uid: claimSpecHash({ ...base, uid: 'uid-other' }),
  }
  for (const [what, other] of Object.entries(changed)) t.not(other, hash, `a different ${what}, a different digest`)
  t.notMatch(hash, 'one', 'a digest, not the value')

  const claim = desiredSandboxClaim(settings, { worker, image: 'i', attempt: 1, specHash: hash })
  t.equal(claim.metadata.annotations?.['agentteams.io/spec-hash'], hash)
  t.same(claim.spec.annotations, { 'agentteams.io/spec-hash': hash }, 'copied onto the Sandbox by the provider')
  t.equal(claim.metadata.annotations?.['agentteams.io/claim-attempt'], '1', 'next to the attempt')
})

t.test('the recorded digest: the claim’s, else the Sandbox’s copy (the claim may be gone after its TTL), else none', async (t) => {
  const meta = (annotations?: Record<string, string>) => ({ name: 'x', namespace: 'team-a', ...(annotations ? { annotations } : {}) })
  const claim = (h?: string): SandboxClaim => ({ apiVersion: 'agents.kruise.io/v1alpha1', kind: 'SandboxClaim', metadata: meta(h ? { 'agentteams.io/spec-hash': h } : undefined), spec: { templateName: 'p' } })
  const sandbox = (h?: string): Sandbox => ({ apiVersion: 'agents.kruise.io/v1alpha1', kind: 'Sandbox', metadata: meta(h ? { 'agentteams.io/spec-hash': h } : undefined) })
  t.equal(recordedSpecHash(claim('c'), sandbox('s')), 'c')
  t.equal(recordedSpecHash(undefined, sandbox('s')), 's')
  t.equal(recordedSpecHash(claim(), sandbox('s')), 's')
  t.equal(recordedSpecHash(claim(), sandbox()), undefined, 'nothing recorded: never counted as drift')
})
