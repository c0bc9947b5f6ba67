// The Worker's auth token (docs/deps.md, docs/deps.md): a TokenRequest for its own ServiceAccount
// with the configured audience and a bounded lifetime, due for a rewrite once 80% of that lifetime
// has passed; and whether a token already in the store is still good for the Worker as it is now.
// The token is a secret: it is decoded here to read its claims and never logged.

import type { Worker } from '../../api/worker.ts'
import { runtimeName, type RuntimeNaming } from '../backend/contract.ts'
import { ensureServiceAccount, type ServiceAccountCache } from '../backend/service-account.ts'
import type { Clock } from '../controller/clock.ts'
import { type KubeClient, resourcePath } from '../controller/kube.ts'
import { depsFailure, DepsReason } from './deps-errors.ts'

/** Refresh when this fraction of the token's lifetime has passed (docs/deps.md; the kubelet uses 80% too). */
export const TOKEN_REFRESH_FRACTION = 0.8
/** The API server rejects TokenRequests shorter than 10 min (authentication/validation: MinTokenAgeSec). */
export const MIN_TOKEN_REQUEST_SECONDS = 600

/** The token settings. */
export interface TokenSettings {
  /** Audience of the token (default `agentteams-controller`). */
  tokenAudience: string
  /**
   * Intended lifetime (default 3600). The request asks for at least the API server's 600 s; the
   * refresh runs at 80% of the shorter of this and the lifetime granted.
   */
  tokenExpirationSeconds: number
}

export interface TokenRequestOptions extends RuntimeNaming, TokenSettings {
  kube: KubeClient
  clock: Clock
  /** The ServiceAccount cache, so an existing account costs no request (backend/service-account.ts). */
  serviceAccounts?: ServiceAccountCache | undefined
}

/** A token just issued, and when it must be rewritten (epoch ms). */
export interface IssuedToken {
  body: Buffer
  refreshAt: number
}

interface TokenRequestReply {
  status?: { token?: string; expirationTimestamp?: string }
}

/** When a token issued at `issuedAtMs` for `lifetimeMs` is due for a rewrite. */
function refreshTime(issuedAtMs: number, lifetimeMs: number): number {
  return issuedAtMs + Math.floor(lifetimeMs * TOKEN_REFRESH_FRACTION)
}

/**
 * Issues a token for the Worker's ServiceAccount (created when missing). Throws
 * DepsError(TokenRequestFailed) naming the account; the token never appears in a message.
 */
export async function requestToken(o: TokenRequestOptions, worker: Worker): Promise<IssuedToken> {
  const namespace = worker.metadata?.namespace
  try {
    const account = await ensureServiceAccount(o.kube, o, worker, o.serviceAccounts)
    const requested = Math.max(MIN_TOKEN_REQUEST_SECONDS, o.tokenExpirationSeconds)
    const issuedAt = o.clock.now()
    const reply = await o.kube.request<TokenRequestReply>({
      method: 'POST',
      path: resourcePath({ group: '', version: 'v1', plural: 'serviceaccounts', namespace, name: account, subresource: 'token' }),
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [o.tokenAudience], expirationSeconds: requested } },
    })
    const token = reply?.status?.token
    if (!token) throw new Error('the API server returned no token')
    const expires = Date.parse(reply.status?.expirationTimestamp ?? '')
    const granted = Number.isNaN(expires) ? requested * 1000 : expires - issuedAt
    return { body: Buffer.from(token, 'utf8'), refreshAt: refreshTime(issuedAt, Math.min(o.tokenExpirationSeconds * 1000, granted)) }
  } catch (cause) {
    const text = `request a token for ServiceAccount ${namespace}/${runtimeName(o, worker)}: ${(cause as Error).message}`
    throw depsFailure(worker, DepsReason.TokenRequestFailed, cause, text)
  }
}

/** The claims of a bound ServiceAccount token that storedTokenRefreshAt checks. */
interface TokenClaims {
  aud?: string | string[]
  iat?: number
  exp?: number
  'kubernetes.io'?: { namespace?: string; serviceaccount?: { name?: string; uid?: string } }
}

/** The payload of a JWT (not verified: the API server does that when the token is used); undefined when it is not one. */
function tokenClaims(body: Uint8Array): TokenClaims | undefined {
  const parts = Buffer.from(body).toString('utf8').trim().split('.')
  if (parts.length !== 3) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
    return claims && typeof claims === 'object' ? (claims as TokenClaims) : undefined
  } catch {
    return undefined
  }
}

/** Whom a stored token must have been issued for to be kept. */
export interface TokenExpectation {
  namespace: string
  /** The Worker's ServiceAccount: its name, and its uid as it exists now. */
  account: string
  accountUid: string
  audience: string
  /** The configured lifetime; a token issued for longer is refreshed as if it had this one. */
  lifetimeSeconds: number
}

/**
 * When the stored token `body` is due for a rewrite, or undefined when it must be rewritten now:
 * not a token, issued for another account (namespace, name or uid: a re-created account gets a new
 * token) or audience, without a lifetime, or already due at `now`.
 */
export function storedTokenRefreshAt(body: Uint8Array, expected: TokenExpectation, now: number): number | undefined {
  const claims = tokenClaims(body)
  if (!claims) return undefined
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  const sa = claims['kubernetes.io']
  if (sa?.namespace !== expected.namespace || sa.serviceaccount?.name !== expected.account || sa.serviceaccount.uid !== expected.accountUid) return undefined
  if (!audiences.includes(expected.audience) || typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return undefined
  const refreshAt = refreshTime(claims.iat * 1000, Math.min(expected.lifetimeSeconds, claims.exp - claims.iat) * 1000)
  return now >= refreshAt ? undefined : refreshAt
}
