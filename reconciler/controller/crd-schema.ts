// What an installed CRD can store, read from the API server's published OpenAPI v3 document of its
// group-version (`GET /openapi/v3/apis/<group>/<version>`). Every authenticated client may read
// it (the built-in `system:discovery` ClusterRole grants `/openapi/*`), so unlike reading
// `customresourcedefinitions` it needs no RBAC rule, and unlike a server-side dry run it writes
// nothing. The API server publishes a CRD's structural schema a few seconds after the CRD changes.

import { isNotFound, type KubeClient } from './kube.ts'

/** The part of an OpenAPI v3 schema this reads. */
export interface JsonSchema {
  type?: string
  enum?: unknown[]
  properties?: Record<string, JsonSchema>
  items?: JsonSchema
  additionalProperties?: JsonSchema | boolean
  allOf?: JsonSchema[]
  $ref?: string
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>
}

export interface GroupVersionKind {
  group: string
  version: string
  kind: string
}

/** The published schema of one kind, and the document it came from (for `$ref`s). */
export interface PublishedSchema {
  root: JsonSchema
  schemas: Record<string, JsonSchema>
}

/**
 * The published schema of `gvk`; undefined when its group-version is not published (the CRD is
 * not installed, or not yet published) or holds no such kind. Other failures throw.
 */
export async function publishedSchema(kube: KubeClient, gvk: GroupVersionKind): Promise<PublishedSchema | undefined> {
  let doc: { components?: { schemas?: Record<string, JsonSchema> } } | undefined
  try {
    doc = await kube.request({ method: 'GET', path: `/openapi/v3/apis/${gvk.group}/${gvk.version}` })
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
  const schemas = doc?.components?.schemas ?? {}
  const root = Object.values(schemas).find((s) =>
    (s['x-kubernetes-group-version-kind'] ?? []).some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind),
  )
  return root ? { root, schemas } : undefined
}

function resolve(schema: JsonSchema | undefined, schemas: Record<string, JsonSchema>, depth = 0): JsonSchema | undefined {
  if (!schema || depth > 8) return schema
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined)
  if (!ref) return schema
  return resolve(schemas[ref.replace('#/components/schemas/', '')], schemas, depth + 1)
}

/** Where a field path leads in a schema: the field's schema, or the nearest ancestor that keeps unknown fields. */
export interface FieldLookup {
  /** The field's own schema, when declared. */
  schema: JsonSchema | undefined
  /** True when the API server stores the field: declared, or below an object that preserves unknown fields. */
  stored: boolean
}

/**
 * Looks up `path` (`spec.backendRuntime`; `[]` steps into array items:
 * `spec.dynamicVolumesMount[].attributes`) in `published`.
 */
export function fieldAt(published: PublishedSchema, path: string): FieldLookup {
  let at: JsonSchema | undefined = published.root
  for (const step of path.replace(/\[\]/g, '.[]').split('.').filter(Boolean)) {
    at = resolve(at, published.schemas)
    if (!at) return { schema: undefined, stored: false }
    if (at['x-kubernetes-preserve-unknown-fields'] === true && !(step !== '[]' && at.properties?.[step])) {
      return { schema: undefined, stored: true }
    }
    at = step === '[]' ? at.items : at.properties?.[step]
  }
  const schema = resolve(at, published.schemas)
  return { schema, stored: schema !== undefined }
}
