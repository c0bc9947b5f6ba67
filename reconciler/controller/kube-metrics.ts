// API client metrics in client-go's style (rest_client_requests_total, rest_client_request_duration_seconds):
// every request the controller makes, counted by Kubernetes verb, API group, resource and HTTP status,
// and timed by verb and resource. Labels come from the request path's shape, never from object or
// namespace names, so their number stays bounded by the kinds the controller touches.

import { Counter, Histogram, type Registry } from 'prom-client'
import type { KubeRequest } from './kube.ts'

const P = 'worker_runtime_controller_'
export const METRIC_API_REQUESTS = `${P}rest_client_requests_total`
export const METRIC_API_DURATION = `${P}rest_client_request_duration_seconds`

/** client-go's rest_client_request_duration_seconds buckets (component-base restclient metrics). */
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60]

/** What a request did, in the API server's own words (its audit log and apiserver_request_total). */
export interface RequestKind {
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string
  /** '' for the core group. */
  group: string
  /** `pods`, or `resource/subresource` such as `workers/status`; `other` for a path of no known shape. */
  resource: string
}

/** Subresources of a Namespace object, as opposed to resources inside a namespace. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize'])

/**
 * The verb, group and resource of a request, from its method and path:
 * `/api/v1[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]` and the same under `/apis/<group>/<version>`.
 */
export function describeRequest(request: Pick<KubeRequest, 'method' | 'path' | 'query'>): RequestKind {
  const path = request.path.split('?')[0] as string
  const segments = path.split('/').filter((s) => s !== '')
  let group: string
  let rest: string[]
  if (segments[0] === 'api' && segments.length >= 3) [group, rest] = ['', segments.slice(2)]
  else if (segments[0] === 'apis' && segments.length >= 4) [group, rest] = [segments[1] as string, segments.slice(3)]
  else return { verb: request.method.toLowerCase(), group: '', resource: 'other' }
  // `/namespaces/<ns>` and its own subresources (`/namespaces/<ns>/status`) name the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2] as string)) rest = rest.slice(2)
  const [plural, name, subresource] = rest
  const resource = `${plural}${name !== undefined && subresource !== undefined ? `/${subresource}` : ''}`
  return { verb: verbOf(request.method, name !== undefined, request.query?.['watch'] === 'true'), group, resource }
}

function verbOf(method: KubeRequest['method'], named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
      return named ? 'get' : watch ? 'watch' : 'list'
    case 'POST':
      return 'create'
    case 'PUT':
      return 'update'
    case 'PATCH':
      return 'patch'
    case 'DELETE':
      return named ? 'delete' : 'deletecollection'
  }
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create()
}

/**
 * Registers (or reuses) the API client metrics on `registry` and returns the observer that
 * createKubeClient calls for every answered request (status 0, a request that got no answer, is
 * counted with code `<error>` as client-go does).
 */
export function observeApiRequests(registry: Registry): (request: KubeRequest, status: number, seconds: number) => void {
  const registers = [registry]
  const total = reuse(registry, METRIC_API_REQUESTS, () => new Counter({
    name: METRIC_API_REQUESTS,
    help: 'Kubernetes API requests by verb, API group, resource and HTTP status code (<error>: no response).',
    labelNames: ['verb', 'group', 'resource', 'code'] as const,
    registers,
  }))
  const duration = reuse(registry, METRIC_API_DURATION, () => new Histogram({
    name: METRIC_API_DURATION,
    help: 'Kubernetes API request latency by verb, API group and resource, from sending to the whole response read.',
    labelNames: ['verb', 'group', 'resource'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  }))
  return (request, status, seconds) => {
    const { verb, group, resource } = describeRequest(request)
    total.labels(verb, group, resource, status === 0 ? '<error>' : String(status)).inc()
    duration.labels(verb, group, resource).observe(seconds)
  }
}
