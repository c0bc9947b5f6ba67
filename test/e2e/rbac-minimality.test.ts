// RBAC minimality: every verb of every rule the chart grants is needed. For each one, the chart's
// Role or ClusterRole is applied without it (a rule left with no verb goes), the API server is
// asked (SubjectAccessReview) until it really denies it, and the pod + sandbox scenarios of
// rbac-kit.ts run as the chart's ServiceAccount: the run must fail, and the audit log must show
// the API server refusing the controller exactly that permission (a refused request fails a run at
// once, as a user would see in the controller's errors, so no run waits out a step deadline).
// A verb whose removal fails nothing would be unneeded and must leave the chart (the metrics
// reviews' too: without one, a scrape of the secure /metrics is not answered). The role is
// restored after each run. The comment at the end lists what failed without each verb.

import t from 'tap'
import type { Manifest } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { NAMESPACE, RELEASE, render } from '../chart/helm.ts'
import { type Access, kubectlApply, LEASE, runScenarios, type RunOptions, startRbacEnv, waitForAccess } from './rbac-kit.ts'

const env = await startRbacEnv(t)
const { cp } = env
/** Every run is short when a verb is missing (the first refusal ends it); the baseline runs in seconds. */
t.setTimeout(14 * 60_000)

interface Rule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
  resourceNames?: string[]
}

const rolePath = (role: Manifest) => role.kind === 'ClusterRole'
  ? `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`
  : `/apis/rbac.authorization.k8s.io/v1/namespaces/${role.metadata.namespace}/roles/${role.metadata.name}`

async function putRules(role: Manifest, rules: Rule[]): Promise<void> {
  const current = (await cp.api.request('GET', rolePath(role))).body
  const r = await cp.api.request('PUT', rolePath(role), { ...current, rules })
  if (r.status !== 200) throw new Error(`update ${role.kind} ${role.metadata.name}: HTTP ${r.status} ${r.text}`)
}

/** The SubjectAccessReview question for `verb` on the rule's first resource. */
const accessOf = (role: Manifest, rule: Rule, verb: string): Access => ({
  verb, group: rule.apiGroups[0] as string, resource: rule.resources[0] as string, namespace: role.metadata.namespace ?? 'default', name: rule.resourceNames?.[0],
})

const label = (role: Manifest, rule: Rule, verb: string) =>
  `${role.kind} ${role.metadata.name}: ${verb} ${rule.resources.join(',')}${rule.apiGroups[0] ? `.${rule.apiGroups[0]}` : ''}${rule.resourceNames ? ` [${rule.resourceNames.join(',')}]` : ''}`

// The controller's roles; the chart's metrics-reader ClusterRole is for scrapers (metrics-auth.test.ts
// shows a scraper without it refused), and its rule names a URL, not resources.
const roles = env.rbac.filter((o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && (o['rules'] as Rule[]).every((r) => r.resources))
const summary: string[] = []

let baseline = false
t.test('baseline: with the chart\'s RBAC as it is, every step is reached and nothing is refused', async (t) => {
  const run = await runScenarios(env)
  baseline = t.equal(run.failure, undefined, run.failure ?? `passed in ${run.ms} ms`)
})

t.test('the chart grants these rules (the list this file proves rule by rule)', async (t) => {
  t.same(roles.map((r) => `${r.kind} ${r.metadata.name}`).sort(), [`ClusterRole ${RELEASE}`, `ClusterRole ${RELEASE}-metrics-auth`, `Role ${RELEASE}-leader-election`])
  const lease = roles.find((r) => r.kind === 'Role') as Manifest
  t.equal(lease.metadata.namespace, NAMESPACE, 'the Lease Role lives in the release namespace')
  t.ok((lease['rules'] as Rule[]).some((r) => r.resourceNames?.includes(LEASE)), 'and names the one Lease it renews')
})

/** One test per verb of `role`: without it, a run with `options` fails on exactly that permission. */
function proveEachVerb(role: Manifest, options: () => RunOptions): void {
  const rules = role['rules'] as Rule[]
  rules.forEach((rule, index) => {
    for (const verb of rule.verbs) {
      const name = label(role, rule, verb)
      t.test(`without ${name}: a scenario fails`, async (t) => {
        const reduced = rules
          .map((r, i) => (i === index ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r))
          .filter((r) => r.verbs.length > 0)
        await putRules(role, reduced)
        t.teardown(async () => {
          await putRules(role, rules)
          await waitForAccess(env, accessOf(role, rule, verb), true)
        })
        await waitForAccess(env, accessOf(role, rule, verb), false)
        if (!t.ok(baseline, 'the baseline passed (else a failure here proves nothing)')) return
        const run = await runScenarios(env, options())
        t.ok(run.failure, `removing ${name} breaks the controller`)
        // The refusal is that very permission; a missing workers/finalizers `update` shows as the
        // OwnerReferencesPermissionEnforcement refusal of a create with blockOwnerDeletion.
        const group = rule.apiGroups[0] ? `.${rule.apiGroups[0]}` : ''
        const itself = run.refusals.some((r) => r.verb === verb && r.resource === `${rule.resources[0]}${group}`)
        const ownerReference = rule.resources[0] === 'workers/finalizers' && run.refusals.some((r) => r.message.includes('cannot set blockOwnerDeletion'))
        t.ok(itself || ownerReference, `the API server refused exactly that permission: ${run.refusals.map((r) => `${r.verb} ${r.resource}`).join(', ')}`)
        summary.push(`${name} → ${run.failure ?? 'NOTHING FAILED (unneeded)'}`)
      })
    }
  })
}

for (const role of roles) proveEachVerb(role, () => ({}))

// With config.watchNamespace and config.legacyNamespaces the chart adds a Role in each legacy
// namespace (the upstream controller's runtime objects there): its verbs are proven the same way,
// with the ClusterRole's binding removed so that only the namespaced Roles grant anything.
const watched = await createNamespace(cp.api, 'rbac-min-ns')
const legacyNs = await createNamespace(cp.api, 'rbac-min-legacy')
const namespaced = (await render({ 'config.watchNamespace': watched, 'config.legacyNamespaces': [legacyNs] })).filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')
const legacyRole = namespaced.find((o) => o.kind === 'Role' && o.metadata.namespace === legacyNs) as Manifest
const legacyOptions = (): RunOptions => ({ namespace: watched, legacyNamespace: legacyNs })
let legacyBaseline = false
let restoreClusterBinding = async (): Promise<void> => {}
t.test('namespaced with a legacy namespace: the baseline passes with only the namespaced Roles', async (t) => {
  await kubectlApply(cp, namespaced)
  const binding = `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${RELEASE}`
  const saved = (await cp.api.request('GET', binding)).body
  await cp.api.request('DELETE', binding)
  // Restored once every legacy verb was tried (tap runs this file's tests in order).
  restoreClusterBinding = async () => {
    await cp.api.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { ...saved, metadata: { name: saved.metadata.name, labels: saved.metadata.labels } })
  }
  await waitForAccess(env, { verb: 'list', group: '', resource: 'pods', namespace: 'default' }, false)
  const run = await runScenarios(env, legacyOptions())
  legacyBaseline = t.equal(run.failure, undefined, run.failure ?? `passed in ${run.ms} ms`)
  baseline = baseline && legacyBaseline
})
proveEachVerb(legacyRole, legacyOptions)
t.test('the ClusterRole binding is put back', async () => restoreClusterBinding())

t.test('summary', async (t) => {
  t.comment(`each verb and what failed without it:\n${summary.join('\n')}`)
  t.equal(summary.length, [...roles, legacyRole].reduce((n, r) => n + (r['rules'] as Rule[]).reduce((m, rule) => m + rule.verbs.length, 0), 0), 'every verb was tried')
})
