// RBAC sufficiency: the controller runs with the chart's ServiceAccount only (a TokenRequest token
// in a kubeconfig, never admin) against an API server that enforces owner-reference permissions
// and audits every request; a pod Worker and a sandbox Worker go through their lifecycles, leader
// election and a scrape of the secure /metrics included, and the API server refuses none of the
// controller's requests — cluster-wide (the chart's default ClusterRole) and namespaced
// (config.watchNamespace: a Role instead). The start-up CRD checks read the published OpenAPI,
// which needs no rule of the chart's.

import t from 'tap'
import { runKubectl } from '../../localcluster/kubectl.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { NAMESPACE, RELEASE, render } from '../chart/helm.ts'
import { canI, CONTROLLER_USER, describeRefusal, kubectlApply, runScenarios, startRbacEnv, waitForAccess } from './rbac-kit.ts'

const env = await startRbacEnv(t)
const { cp } = env

t.test('the kubeconfig authenticates as the chart\'s ServiceAccount, not as admin', async (t) => {
  const whoami = await runKubectl({ kubectlPath: cp.binaries.kubectl, kubeconfigPath: env.kubeconfigPath, cacheDir: `${cp.dir}/kubectl-cache` }, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])
  t.equal(whoami.code, 0, whoami.stderr)
  t.equal(whoami.stdout, CONTROLLER_USER)
  const admin = await runKubectl({ kubectlPath: cp.binaries.kubectl, kubeconfigPath: env.kubeconfigPath, cacheDir: `${cp.dir}/kubectl-cache` }, ['get', 'configmaps', '-n', 'kube-system', '--request-timeout=20s'])
  t.not(admin.code, 0, 'it cannot do what admin can: read ConfigMaps it never touches')
  t.match(admin.stderr, /forbidden|Forbidden/)
})

t.test("the start-up CRD checks need no rule of the chart's: the ServiceAccount reads the published schemas (system:discovery)", async (t) => {
  for (const [gv, kind] of [['agentteams.io/v1beta1', 'io.agentteams.v1beta1.Worker'], ['agents.kruise.io/v1alpha1', 'io.kruise.agents.v1alpha1.SandboxClaim']]) {
    const got = await runKubectl({ kubectlPath: cp.binaries.kubectl, kubeconfigPath: env.kubeconfigPath, cacheDir: `${cp.dir}/kubectl-cache` }, ['get', '--raw', `/openapi/v3/apis/${gv}`])
    t.equal(got.code, 0, got.stderr)
    t.match(got.stdout, kind, `${gv}: the schema the check reads`)
  }
})

t.test('cluster-wide (ClusterRole): pod and sandbox Worker lifecycles, the Lease and a secure /metrics scrape, nothing refused', async (t) => {
  const run = await runScenarios(env, { watchAll: true })
  t.equal(run.failure, undefined, run.failure ?? `every step reached in ${run.ms} ms`)
  t.same(run.refusals.map(describeRefusal), [], 'the API server refused no request of the controller')
  t.comment(`cluster-wide run: ${run.ms} ms`)
})

t.test('namespaced (config.watchNamespace, a Role in that namespace and in a legacy namespace): the same, nothing refused', async (t) => {
  const ns = await createNamespace(cp.api, 'rbac-ns')
  const legacyNs = await createNamespace(cp.api, 'rbac-legacy')
  const namespaced = (await render({ 'config.watchNamespace': ns, 'config.legacyNamespaces': [legacyNs] })).filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')
  t.same(namespaced.map((o) => `${o.kind} ${o.metadata.namespace}`).sort(), [`Role ${NAMESPACE}`, `Role ${ns}`, `Role ${legacyNs}`, `RoleBinding ${NAMESPACE}`, `RoleBinding ${ns}`, `RoleBinding ${legacyNs}`].sort())
  await kubectlApply(cp, namespaced)
  const binding = `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${RELEASE}`
  const saved = (await cp.api.request('GET', binding)).body
  await cp.api.request('DELETE', binding)
  t.teardown(() => cp.api.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { ...saved, metadata: { name: saved.metadata.name, labels: saved.metadata.labels } }))
  await waitForAccess(env, { verb: 'list', group: '', resource: 'pods', namespace: 'default' }, false)
  t.ok(await canI(env, { verb: 'list', group: '', resource: 'pods', namespace: ns }), 'only the watched namespace is granted now')
  const run = await runScenarios(env, { namespace: ns, legacyNamespace: legacyNs })
  t.equal(run.failure, undefined, run.failure ?? `every step reached in ${run.ms} ms`)
  t.same(run.refusals.map(describeRefusal), [], 'the API server refused no request of the controller')
})
