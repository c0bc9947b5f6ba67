// The project's OpenKruise Agents test CRDs (manifests/openkruise/) on a real API server: they
// install and become usable, the API server applies the real defaults and CEL rules, prunes fields
// the real schema does not know, and takes status only through the status subresource.

import t from 'tap'
import { fileURLToPath } from 'node:url'
import { expectSuccess } from '../../localcluster/api-client.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { metaTime } from '../../api/meta.ts'

const CRD_FILES = ['sandboxes', 'sandboxclaims', 'sandboxsets'].map((plural) =>
  fileURLToPath(new URL(`../../manifests/openkruise/${plural}.agents.kruise.io.yaml`, import.meta.url)),
)
const GROUP = '/apis/agents.kruise.io/v1alpha1'

const cp = await startSuiteControlPlane(t)
const crds = await installCrds(cp.api, CRD_FILES)
const ns = await createNamespace(cp.api, 'sandbox-crds')

t.test('the three kinds install under agents.kruise.io/v1alpha1 with their short names', async (t) => {
  t.same(crds.map((c) => c.metadata.name).sort(), ['sandboxclaims.agents.kruise.io', 'sandboxes.agents.kruise.io', 'sandboxsets.agents.kruise.io'])
  const names = await cp.kubectl(['api-resources', '--api-group=agents.kruise.io', '-o', 'name'])
  t.match(names.stdout, /sandboxclaims\.agents\.kruise\.io/)
  const shortGet = await cp.kubectl(['get', 'sbc,sbx,sbs', '-n', ns])
  t.equal(shortGet.code, 0, 'kubectl knows sbc, sbx and sbs')
})

t.test('a SandboxClaim gets the provider defaults; unknown spec fields are pruned', async (t) => {
  const claim = expectSuccess(
    await cp.api.request('POST', `${GROUP}/namespaces/${ns}/sandboxclaims`, {
      apiVersion: 'agents.kruise.io/v1alpha1',
      kind: 'SandboxClaim',
      metadata: { name: 'defaults' },
      spec: { templateName: 'pool', template: { spec: {} }, dynamicVolumesMount: [{ pvName: 'agentteams', mountPath: '/m', credProviderName: 'x' }] },
    }),
    'create SandboxClaim',
  )
  t.match(claim.spec, { replicas: 1, claimTimeout: '1m', ttlAfterCompleted: '60m', waitReadyTimeout: '30s', createOnNoStock: true, skipInitRuntime: false })
  t.notOk('template' in claim.spec, 'spec.template does not exist on a claim')
  t.same(claim.spec.dynamicVolumesMount, [{ pvName: 'agentteams', mountPath: '/m' }], 'a misspelt mount attribute is pruned')
})

t.test('CEL rules: claimTimeout below 1s and a replicas change are rejected', async (t) => {
  const tooShort = await cp.api.request('POST', `${GROUP}/namespaces/${ns}/sandboxclaims`, {
    apiVersion: 'agents.kruise.io/v1alpha1', kind: 'SandboxClaim', metadata: { name: 'short' }, spec: { templateName: 'pool', claimTimeout: '0s' },
  })
  t.equal(tooShort.status, 422)
  t.match(tooShort.body?.message, 'claimTimeout must be at least 1 second')
  const patched = await cp.api.request('PATCH', `${GROUP}/namespaces/${ns}/sandboxclaims/defaults`, { spec: { replicas: 2 } }, { contentType: 'application/merge-patch+json' })
  t.equal(patched.status, 422)
  t.match(patched.body?.message, 'replicas is immutable')
})

t.test('status goes through the status subresource and must satisfy the condition schema', async (t) => {
  const path = `${GROUP}/namespaces/${ns}/sandboxclaims/defaults`
  const viaMain = await cp.api.request('PATCH', path, { status: { phase: 'Completed' } }, { contentType: 'application/merge-patch+json' })
  t.equal(viaMain.body?.status?.phase, undefined, 'the main resource ignores status')
  const bad = await cp.api.request('PATCH', `${path}/status`, { status: { conditions: [{ type: 'TimedOut', status: 'True' }] } }, { contentType: 'application/merge-patch+json' })
  t.equal(bad.status, 422, 'a condition without reason/message/lastTransitionTime is invalid')
  const now = metaTime(Date.now())
  const good = expectSuccess(
    await cp.api.request('PATCH', `${path}/status`, {
      status: {
        phase: 'Completed', claimedReplicas: 0, message: 'Timeout reached after 1m0.5s, claimed 0/1 sandboxes',
        conditions: [
          { type: 'TimedOut', status: 'True', reason: 'ClaimTimeoutReached', message: 'claim timed out', lastTransitionTime: now },
          { type: 'Completed', status: 'True', reason: 'TimeoutReached', message: 'claim completed', lastTransitionTime: now },
        ],
      },
    }, { contentType: 'application/merge-patch+json' }),
    'patch SandboxClaim status',
  )
  t.equal(good.status.phase, 'Completed')
  const printed = await cp.kubectl(['get', 'sandboxclaim', 'defaults', '-n', ns])
  t.match(printed.stdout, /defaults\s+Completed\s+pool\s+1\s+0/, 'printer columns: Phase, Template, Desired, Claimed')
})

t.test('a Sandbox keeps its schemaless pod template; a SandboxSet requires replicas and scales', async (t) => {
  const sandbox = expectSuccess(
    await cp.api.request('POST', `${GROUP}/namespaces/${ns}/sandboxes`, {
      apiVersion: 'agents.kruise.io/v1alpha1', kind: 'Sandbox', metadata: { name: 'sbx-1', labels: { 'agents.kruise.io/sandbox-claimed': 'true' } },
      spec: { paused: false, template: { spec: { containers: [{ name: 'worker', image: 'busybox' }] } } },
    }),
    'create Sandbox',
  )
  t.equal(sandbox.spec.template.spec.containers[0].image, 'busybox')
  const noReplicas = await cp.api.request('POST', `${GROUP}/namespaces/${ns}/sandboxsets`, {
    apiVersion: 'agents.kruise.io/v1alpha1', kind: 'SandboxSet', metadata: { name: 'pool' }, spec: {},
  })
  t.equal(noReplicas.status, 422)
  expectSuccess(await cp.api.request('POST', `${GROUP}/namespaces/${ns}/sandboxsets`, {
    apiVersion: 'agents.kruise.io/v1alpha1', kind: 'SandboxSet', metadata: { name: 'pool' }, spec: { replicas: 0 },
  }), 'create SandboxSet with 0 replicas')
  const scaled = await cp.kubectl(['scale', 'sandboxset', 'pool', '-n', ns, '--replicas=2'])
  t.equal(scaled.code, 0, scaled.stderr)
})
