// Names an API request by what it does to which resource, for request counts: the verb (LIST for
// a GET of a collection), the plural and the subresource — never the object name or namespace.

import type { KubeRequest } from '../../reconciler/controller/kube.ts'

/** `GET /apis/g/v/namespaces/ns/plural/name/sub` → `GET plural/sub`; a GET without name is a LIST; `GET /apis/g/v` is `GET discovery`. */
export function requestKind(request: KubeRequest): string {
  const parts = request.path.split('?')[0]!.split('/').filter(Boolean)
  // `/apis/<group>/<version>` (or `/api/v1`): the resources a group version serves.
  if (parts.length === (parts[0] === 'api' ? 2 : 3)) return `${request.method} discovery`
  const at = parts.indexOf('namespaces')
  const rest = at >= 0 && parts.length > at + 2 ? parts.slice(at + 2) : parts.slice(parts[0] === 'api' ? 2 : 3)
  const [plural = '?', name, sub] = rest
  const verb = request.method === 'GET' && name === undefined ? 'LIST' : request.method
  return `${verb} ${plural}${sub ? `/${sub}` : ''}`
}
