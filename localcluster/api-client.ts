// A minimal HTTPS client for the harness's own calls to the kube-apiserver (readiness, CRDs,
// webhook configurations, namespaces, status writes), authenticated with the admin client
// certificate. Raw node:https on purpose: the harness must not depend on the code under test.

import { Agent, request as httpsRequest } from 'node:https'

/** Default per-request timeout: generous, the machine is shared (2 cores, parallel builds). */
const REQUEST_TIMEOUT_MS = 30_000

/** A decoded response. `body` is the parsed JSON, or undefined when the body was not JSON. */
export interface ApiResponse {
  status: number
  body: any
  text: string
  /** `Warning` headers (admission warnings, deprecations). */
  warnings: string[]
}

export interface RequestOptions {
  /** Content type of `body`; default application/json. Patches: application/merge-patch+json etc. */
  contentType?: string
  timeoutMs?: number
}

/** The client: one method, every response returned (non-2xx included). */
export interface ApiClient {
  /** e.g. https://127.0.0.1:40123 */
  readonly server: string
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse>
  /** Closes pooled connections. */
  close(): void
}

/** Credentials and trust for the client. */
export interface ApiClientOptions {
  server: string
  caPem: string
  certPem: string
  keyPem: string
}

/** A failed API call; `status` is the HTTP status (0 when no response arrived). */
export class ApiError extends Error {
  override name = 'ApiError'
  readonly status: number
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options)
    this.status = status
  }
}

/** Creates a client for `server` with keep-alive connections. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const agent = new Agent({ keepAlive: true, ca: options.caPem, cert: options.certPem, key: options.keyPem })
  const url = new URL(options.server)
  const request = (method: string, path: string, body?: unknown, requestOptions: RequestOptions = {}): Promise<ApiResponse> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
      const headers: Record<string, string> = { Accept: 'application/json' }
      if (payload !== undefined) {
        headers['Content-Type'] = requestOptions.contentType ?? 'application/json'
        headers['Content-Length'] = String(Buffer.byteLength(payload))
      }
      const req = httpsRequest(
        { host: url.hostname, port: url.port, path, method, agent, headers, timeout: requestOptions.timeoutMs ?? REQUEST_TIMEOUT_MS },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => {
            let parsed: unknown
            try {
              parsed = text === '' ? undefined : JSON.parse(text)
            } catch {
              parsed = undefined
            }
            const warning = res.headers['warning']
            const warnings = warning === undefined ? [] : Array.isArray(warning) ? warning : [warning]
            resolve({ status: res.statusCode ?? 0, body: parsed, text, warnings })
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new ApiError(`${method} ${path}: no response within ${requestOptions.timeoutMs ?? REQUEST_TIMEOUT_MS} ms`, 0)))
      req.on('error', (cause) => reject(cause instanceof ApiError ? cause : new ApiError(`${method} ${path}: ${cause.message}`, 0, { cause })))
      if (payload !== undefined) req.write(payload)
      req.end()
    })
  return { server: options.server, request, close: () => agent.destroy() }
}

/**
 * Returns `response.body` when the status is 2xx; otherwise throws an ApiError whose message is
 * `<what>: <status> <apiserver message>`, e.g. `create CustomResourceDefinition workers.agentteams.io: 422 ...`.
 */
export function expectSuccess(response: ApiResponse, what: string): any {
  if (response.status >= 200 && response.status < 300) return response.body
  const detail = typeof response.body?.message === 'string' ? response.body.message : response.text.slice(0, 500)
  throw new ApiError(`${what}: ${response.status} ${detail}`, response.status)
}
