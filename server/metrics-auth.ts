// Who may read /metrics, decided by the API server the way controller-runtime's metrics filter
// (pkg/metrics/filters) decides it: the bearer token is reviewed (TokenReview), the user it names is
// asked about (SubjectAccessReview: the request's verb on the non-resource path), and both answers
// are cached briefly, so a scrape every 30 s rarely costs the API server a request. A token is held
// only as its SHA-256 digest (the cache key) and is never logged or put into an error message.

import { createHash } from 'node:crypto'

/** The user a TokenReview names (authentication.k8s.io/v1 UserInfo). */
export interface UserInfo {
  username: string
  uid?: string
  groups?: string[]
  extra?: Record<string, string[]>
}

/** The two API calls, made with the controller's own credentials (cli/ adapts the API client). */
export interface ReviewClient {
  /** Creates a cluster-scoped review object at `path`; resolves with the response body, throws on failure. */
  create(path: string, body: unknown): Promise<unknown>
}

/** How a request was judged: HTTP 200, 401 (no valid token), 403 (not allowed), 500 (could not ask). */
export interface AccessResult {
  status: 200 | 401 | 403 | 500
  /** The authenticated user's name, when there is one. */
  user?: string
  /** Why, for the response body and a debug line; never holds the token. */
  reason: string
}

/** Judges one request from its Authorization header, verb and path. */
export interface MetricsAuth {
  check(authorization: string | undefined, verb: string, path: string): Promise<AccessResult>
}

/** The TTLs and size of controller-runtime's filter (authenticatorfactory / authorizerfactory config). */
export const TOKEN_CACHE_TTL_MS = 60_000
export const ALLOW_CACHE_TTL_MS = 5 * 60_000
export const DENY_CACHE_TTL_MS = 30_000
/** Entries per cache; the oldest goes first. A scraper fleet needs a handful. */
export const MAX_CACHE_ENTRIES = 1024

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews'
export const ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews'

export interface MetricsAuthOptions {
  client: ReviewClient
  /** Clock in ms (tests pass a fake one). */
  now?: () => number
  tokenTtlMs?: number
  allowTtlMs?: number
  denyTtlMs?: number
  maxEntries?: number
}

/** A map whose entries expire and whose size is bounded (insertion order evicts the oldest). */
class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>()
  readonly #max: number
  constructor(max: number) {
    this.#max = max
  }
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry && entry.until > now) return entry.value
    if (entry) this.#entries.delete(key)
    return undefined
  }
  set(key: string, value: V, until: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, until })
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
  }
}

/** Runs `load` once per key at a time: concurrent scrapes with one token make one review. */
function coalesce<V>(pending: Map<string, Promise<V>>, key: string, load: () => Promise<V>): Promise<V> {
  const running = pending.get(key)
  if (running) return running
  const started = load().finally(() => pending.delete(key))
  pending.set(key, started)
  return started
}

const digest = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
  return match?.[1]
}

interface TokenReviewStatus { authenticated?: boolean; user?: UserInfo; error?: string }
interface AccessReviewStatus { allowed?: boolean; reason?: string; evaluationError?: string }

/** Builds the judge of /metrics requests (see the file header). */
export function createMetricsAuth(options: MetricsAuthOptions): MetricsAuth {
  const now = options.now ?? Date.now
  const tokenTtl = options.tokenTtlMs ?? TOKEN_CACHE_TTL_MS
  const allowTtl = options.allowTtlMs ?? ALLOW_CACHE_TTL_MS
  const denyTtl = options.denyTtlMs ?? DENY_CACHE_TTL_MS
  const users = new ExpiringCache<UserInfo | null>(options.maxEntries ?? MAX_CACHE_ENTRIES)
  const decisions = new ExpiringCache<AccessReviewStatus>(options.maxEntries ?? MAX_CACHE_ENTRIES)
  const pendingUsers = new Map<string, Promise<UserInfo | null>>()
  const pendingDecisions = new Map<string, Promise<AccessReviewStatus>>()

  async function authenticate(token: string): Promise<UserInfo | null> {
    const key = digest(token)
    const cached = users.get(key, now())
    if (cached !== undefined) return cached
    return coalesce(pendingUsers, key, async () => {
      const review = (await options.client.create(TOKEN_REVIEW_PATH, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token },
      })) as { status?: TokenReviewStatus } | undefined
      const status = review?.status ?? {}
      const user = status.authenticated === true && status.user?.username ? status.user : null
      // A refused token is remembered as long as an accepted one (authenticatorfactory uses one TTL).
      users.set(key, user, now() + tokenTtl)
      return user
    })
  }

  async function authorize(user: UserInfo, verb: string, path: string): Promise<AccessReviewStatus> {
    const spec = { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path, verb } }
    const key = digest(JSON.stringify(spec))
    const cached = decisions.get(key, now())
    if (cached) return cached
    return coalesce(pendingDecisions, key, async () => {
      const review = (await options.client.create(ACCESS_REVIEW_PATH, {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec,
      })) as { status?: AccessReviewStatus } | undefined
      const status = review?.status ?? {}
      decisions.set(key, status, now() + (status.allowed === true ? allowTtl : denyTtl))
      return status
    })
  }

  return {
    async check(authorization, verb, path) {
      const token = bearerToken(authorization)
      if (!token) return { status: 401, reason: 'no bearer token' }
      let user: UserInfo | null
      try {
        user = await authenticate(token)
      } catch (error) {
        return { status: 500, reason: `authentication failed: ${(error as Error).message}` }
      }
      if (!user) return { status: 401, reason: 'the API server did not authenticate the token' }
      let decision: AccessReviewStatus
      try {
        decision = await authorize(user, verb, path)
      } catch (error) {
        return { status: 500, user: user.username, reason: `authorization for user ${user.username} failed: ${(error as Error).message}` }
      }
      if (decision.allowed === true) return { status: 200, user: user.username, reason: 'allowed' }
      const why = decision.reason || decision.evaluationError
      return { status: 403, user: user.username, reason: `authorization denied for user ${user.username}${why ? `: ${why}` : ''}` }
    },
  }
}
