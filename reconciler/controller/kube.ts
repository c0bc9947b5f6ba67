// The reconciler's one door to the Kubernetes API: a one-method REST client over client-node's
// KubeConfig (its auth and TLS dispatcher, its HTTP library), the typed KubeError, and the only
// code that knows client-node's error shapes (ApiException, watch errors, fetch failures). The
// informers' list and watch are list-watch.ts's.

import type { HttpMethod, KubeConfig } from '@kubernetes/client-node'
import { IsomorphicFetchHttpLibrary, RequestContext } from './client-node.ts'

/** Per-request timeout. Watches don't go through here; 30 s matches client-node's watch timer. */
export const REQUEST_TIMEOUT_MS = 30_000

/** Content types of the patch flavours the API server accepts. */
export const PatchType = {
  Merge: 'application/merge-patch+json',
  Json: 'application/json-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
} as const
export type PatchType = (typeof PatchType)[keyof typeof PatchType]

/** One API request. `path` starts with /api or /apis; `query` values are URL-encoded here. */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
  contentType?: string
  /** The Accept header; default `application/json`. */
  accept?: string
}

/** The client. `request` resolves to the decoded JSON body and throws KubeError on any failure. */
export interface KubeClient {
  request<T = unknown>(request: KubeRequest): Promise<T>
  /** Closes pooled connections; later requests fail. */
  close(): Promise<void>
}

/**
 * A failed API call. `code` is the HTTP status (0: no response), `reason` the Status reason
 * (`NotFound`, `Conflict`, `AlreadyExists`, `Gone`, `TooManyRequests`, ...), and `retryAfterMs`
 * the server's Retry-After when it sent one (429, some 5xx).
 */
export class KubeError extends Error {
  override name = 'KubeError'
  readonly code: number
  readonly reason: string
  readonly retryAfterMs: number | undefined
  constructor(message: string, fields: { code: number; reason: string; retryAfterMs?: number | undefined }, options?: ErrorOptions) {
    super(message, options)
    this.code = fields.code
    this.reason = fields.reason
    this.retryAfterMs = fields.retryAfterMs
  }
}

/** The KubeError `error` is or wraps (through `cause`), if any: typed errors keep their API cause. */
export function findKubeError(error: unknown): KubeError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (e instanceof KubeError) return e
  return undefined
}

const codeOf = (error: unknown): number | undefined => findKubeError(error)?.code
export const isNotFound = (error: unknown): boolean => codeOf(error) === 404
export const isConflict = (error: unknown): boolean => codeOf(error) === 409 && findKubeError(error)?.reason !== 'AlreadyExists'
export const isAlreadyExists = (error: unknown): boolean => codeOf(error) === 409 && findKubeError(error)?.reason === 'AlreadyExists'
export const isGone = (error: unknown): boolean => codeOf(error) === 410
export const isInvalid = (error: unknown): boolean => codeOf(error) === 422

/** Server-requested delay (Retry-After / Status details.retryAfterSeconds), if any. */
export function retryAfterMs(error: unknown): number | undefined {
  return findKubeError(error)?.retryAfterMs
}

/** Parses a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** A short, log-safe description of any error from client-node or this client (never a body). */
export function describeError(error: unknown): string {
  if (error instanceof KubeError) return `${error.code || 'no response'} ${error.reason}: ${error.message}`
  if (error instanceof Error && findKubeError(error)) return error.message
  if (error && typeof error === 'object') {
    const e = error as { statusCode?: unknown; code?: unknown; name?: unknown; message?: unknown }
    // client-node's Watch throws Error(statusText) with statusCode; the cache forwards fetch errors.
    const status = typeof e.statusCode === 'number' ? `${e.statusCode} ` : ''
    const code = typeof e.code === 'string' || typeof e.code === 'number' ? ` (${e.code})` : ''
    // undici reports "fetch failed" and puts the reason (ECONNREFUSED, other side closed) in `cause`.
    const cause = (error as { cause?: unknown }).cause as (Error & { code?: unknown }) | undefined
    const why = cause instanceof Error ? `: ${cause.message}${typeof cause.code === 'string' ? ` (${cause.code})` : ''}` : ''
    return `${status}${String(e.name ?? 'Error')}: ${String(e.message ?? '')}${code}${why}`
  }
  return String(error)
}

interface StatusBody {
  kind?: string
  message?: string
  reason?: string
  details?: { retryAfterSeconds?: number }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>

/** Options of createKubeClient. */
export interface KubeClientOptions {
  timeoutMs?: number
  /**
   * The field manager of every create, update and patch (`?fieldManager=`), so `kubectl get
   * --show-managed-fields` names this controller as the owner of what it wrote, not the HTTP
   * library's user agent (`undici`). A request's own `query.fieldManager` wins.
   */
  fieldManager?: string
  /**
   * Told of every request once it is answered (`status` 0: no response), for the API client
   * metrics (controller/kube-metrics.ts). Must not throw.
   */
  observe?: (request: KubeRequest, status: number, seconds: number) => void
}

const WRITES = new Set(['POST', 'PUT', 'PATCH'])

/**
 * Builds a KubeClient authenticated the way `kubeconfig`'s current context says. client-node
 * 2.0.1 makes a new undici Agent (so a new TLS connection) for every request; this client keeps
 * the first one and reuses it, so requests share keep-alive connections.
 */
export function createKubeClient(kubeconfig: KubeConfig, options: KubeClientOptions = {}): KubeClient {
  const http = new IsomorphicFetchHttpLibrary()
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
  let dispatcher: Dispatcher | undefined
  let closed = false
  return {
    async close() {
      closed = true
      const d = dispatcher as (Dispatcher & { close?: () => Promise<void> }) | undefined
      dispatcher = undefined
      await d?.close?.()
    },
    async request<T>(req: KubeRequest): Promise<T> {
      if (closed) throw new KubeError('the client is closed', { code: 0, reason: 'Closed' })
      const cluster = kubeconfig.getCurrentCluster()
      if (!cluster) throw new KubeError('no current cluster in the kubeconfig', { code: 0, reason: 'NoCluster' })
      const url = new URL(cluster.server.replace(/\/$/, '') + req.path)
      if (options.fieldManager && WRITES.has(req.method)) url.searchParams.set('fieldManager', options.fieldManager)
      for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, value)
      const ctx = new RequestContext(url.toString(), req.method as HttpMethod)
      ctx.setHeaderParam('Accept', req.accept ?? 'application/json')
      if (req.body !== undefined) {
        ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json')
        ctx.setBody(JSON.stringify(req.body))
      }
      ctx.setSignal(AbortSignal.timeout(timeoutMs))
      const started = performance.now()
      let status: number
      let headers: Record<string, string>
      let text: string
      try {
        await kubeconfig.applySecurityAuthentication(ctx)
        const fresh = ctx.getDispatcher()
        if (fresh !== undefined) {
          dispatcher ??= fresh
          ctx.setDispatcher(dispatcher)
        }
        const response = await http.send(ctx).toPromise()
        status = response.httpStatusCode
        headers = response.headers
        text = await response.body.text()
      } catch (error) {
        options.observe?.(req, 0, (performance.now() - started) / 1000)
        throw new KubeError(`${req.method} ${url.pathname}: ${describeError(error)}`, { code: 0, reason: 'NetworkError' }, { cause: error })
      }
      options.observe?.(req, status, (performance.now() - started) / 1000)
      const body = text === '' ? undefined : safeParse(text)
      if (status >= 200 && status < 300) return body as T
      const s = (body ?? {}) as StatusBody
      const retry = parseRetryAfter(headers['retry-after']) ?? (s.details?.retryAfterSeconds !== undefined ? s.details.retryAfterSeconds * 1000 : undefined)
      throw new KubeError(s.message || `HTTP ${status}`, { code: status, reason: s.reason || `HTTP${status}`, retryAfterMs: retry })
    },
  }
}

/** Where a resource lives in the REST API. */
export interface ResourceRef {
  /** '' for the core group. */
  group: string
  version: string
  plural: string
  namespace?: string | undefined
  name?: string | undefined
  subresource?: string | undefined
}

/** `/api/v1/namespaces/ns/pods/name` or `/apis/group/version/...`; namespace omitted → all. */
export function resourcePath(ref: ResourceRef): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : ''
  const name = ref.name ? `/${encodeURIComponent(ref.name)}` : ''
  const sub = ref.name && ref.subresource ? `/${ref.subresource}` : ''
  return `${base}${ns}/${ref.plural}${name}${sub}`
}

/** Resolves `promise`, or undefined when it failed with 404 Not Found. */
export async function ignoreNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/** A list response as the API server returns it. */
export interface ObjectList<T> {
  items: T[]
  /** metav1.ListMeta as JSON (client-node's V1ListMeta renames `continue` to `_continue`). */
  metadata?: { resourceVersion?: string; continue?: string }
}
