// The API client metrics' labels: the Kubernetes verb, group and resource of every path shape the
// controller builds (namespaced, cluster-scoped, subresources, the core group), never a name; and
// the counters and histogram a request leaves, `<error>` for one that got no answer.

import t from 'tap'
import { Registry } from 'prom-client'
import { METRIC_API_DURATION, METRIC_API_REQUESTS, describeRequest, observeApiRequests } from '../../../reconciler/controller/kube-metrics.ts'
import { resourcePath } from '../../../reconciler/controller/kube.ts'

t.test('verb, group and resource from method and path', async (t) => {
  const cases: Array<[Parameters<typeof describeRequest>[0], ReturnType<typeof describeRequest>]> = [
    [{ method: 'GET', path: resourcePath({ group: '', version: 'v1', plural: 'pods', namespace: 'team-a', name: 'agentteams-worker-alice' }) }, { verb: 'get', group: '', resource: 'pods' }],
    [{ method: 'GET', path: resourcePath({ group: '', version: 'v1', plural: 'pods', namespace: 'team-a' }), query: { labelSelector: 'x' } }, { verb: 'list', group: '', resource: 'pods' }],
    [{ method: 'GET', path: '/apis/agentteams.io/v1beta1/workers', query: { watch: 'true' } }, { verb: 'watch', group: 'agentteams.io', resource: 'workers' }],
    [{ method: 'PATCH', path: resourcePath({ group: 'agentteams.io', version: 'v1beta1', plural: 'workers', namespace: 'ns', name: 'alice', subresource: 'status' }) }, { verb: 'patch', group: 'agentteams.io', resource: 'workers/status' }],
    [{ method: 'POST', path: '/api/v1/namespaces/ns/serviceaccounts/agentteams-worker-alice/token' }, { verb: 'create', group: '', resource: 'serviceaccounts/token' }],
    [{ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews' }, { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' }],
    [{ method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/agentteams-system/leases/worker-runtime-controller-reconciler' }, { verb: 'update', group: 'coordination.k8s.io', resource: 'leases' }],
    [{ method: 'DELETE', path: '/apis/agents.kruise.io/v1alpha1/namespaces/ns/sandboxclaims/agentteams-worker-bob' }, { verb: 'delete', group: 'agents.kruise.io', resource: 'sandboxclaims' }],
    [{ method: 'DELETE', path: '/api/v1/namespaces/ns/pods' }, { verb: 'deletecollection', group: '', resource: 'pods' }],
    [{ method: 'GET', path: '/api/v1/namespaces/team-a' }, { verb: 'get', group: '', resource: 'namespaces' }],
    [{ method: 'PUT', path: '/api/v1/namespaces/team-a/finalize' }, { verb: 'update', group: '', resource: 'namespaces/finalize' }],
    [{ method: 'GET', path: '/api/v1/nodes/node-1' }, { verb: 'get', group: '', resource: 'nodes' }],
    [{ method: 'GET', path: '/version' }, { verb: 'get', group: '', resource: 'other' }],
  ]
  for (const [request, expected] of cases) t.same(describeRequest(request), expected, `${request.method} ${request.path}`)
})

t.test('a request counts by verb, group, resource and code and is timed; no names in any label', async (t) => {
  const registry = new Registry()
  const observe = observeApiRequests(registry)
  const patch = { method: 'PATCH' as const, path: '/apis/agentteams.io/v1beta1/namespaces/secret-team/workers/alice/status' }
  observe(patch, 200, 0.012)
  observe(patch, 409, 0.004)
  observe(patch, 200, 0.02)
  observe({ method: 'GET', path: '/api/v1/namespaces/secret-team/pods/alice' }, 0, 30)
  const text = await registry.metrics()
  t.match(text, `${METRIC_API_REQUESTS}{verb="patch",group="agentteams.io",resource="workers/status",code="200"} 2`)
  t.match(text, `${METRIC_API_REQUESTS}{verb="patch",group="agentteams.io",resource="workers/status",code="409"} 1`)
  t.match(text, `${METRIC_API_REQUESTS}{verb="get",group="",resource="pods",code="<error>"} 1`, 'no response: <error>, as client-go')
  t.match(text, `${METRIC_API_DURATION}_bucket{le="0.025",verb="patch",group="agentteams.io",resource="workers/status"} 3`)
  t.match(text, `${METRIC_API_DURATION}_count{verb="get",group="",resource="pods"} 1`)
  t.notMatch(text, /secret-team|alice/, 'namespaces and object names never become label values')
  t.equal(observeApiRequests(registry) !== observe, true, 'a second observer on the same registry reuses the metrics')
  observeApiRequests(registry)(patch, 200, 0.01)
  t.match(await registry.metrics(), `${METRIC_API_REQUESTS}{verb="patch",group="agentteams.io",resource="workers/status",code="200"} 3`)
})
