// The /metrics judge against a scripted review client (a unit test: the real API server's answers
// are proven in test/e2e/metrics-auth.test.ts): 401 without a usable token, 403 when the
// SubjectAccessReview says no, 200 when it says yes; answers cached for controller-runtime's TTLs,
// bounded, one review for concurrent scrapes, 500 when the API server cannot be asked; no token ever
// in a result.

import t from 'tap'
import {
  ACCESS_REVIEW_PATH, ALLOW_CACHE_TTL_MS, DENY_CACHE_TTL_MS, TOKEN_CACHE_TTL_MS, TOKEN_REVIEW_PATH,
  bearerToken, createMetricsAuth, type ReviewClient,
} from '../../server/metrics-auth.ts'

const PROMETHEUS = { username: 'system:serviceaccount:monitoring:prometheus', uid: 'u-1', groups: ['system:serviceaccounts', 'system:authenticated'] }
const NOBODY = { username: 'system:serviceaccount:default:nobody', groups: ['system:authenticated'] }

/** Answers like the API server would for three tokens; counts and records the calls. */
function scripted(options: { failWith?: Error } = {}) {
  const calls: Array<{ path: string; body: any }> = []
  const client: ReviewClient = {
    async create(path, body: any) {
      calls.push({ path, body })
      if (options.failWith) throw options.failWith
      if (path === TOKEN_REVIEW_PATH) {
        const user = { 'token-prometheus': PROMETHEUS, 'token-nobody': NOBODY }[body.spec.token as string]
        return { status: user ? { authenticated: true, user } : { authenticated: false, error: 'invalid bearer token' } }
      }
      const allowed = body.spec.user === PROMETHEUS.username && body.spec.nonResourceAttributes.verb === 'get' && body.spec.nonResourceAttributes.path === '/metrics'
      return { status: allowed ? { allowed: true } : { allowed: false, reason: 'no RBAC policy matched' } }
    },
  }
  return { client, calls }
}

t.test('bearer tokens are taken from the Authorization header only in the Bearer scheme', async (t) => {
  t.equal(bearerToken('Bearer abc.def'), 'abc.def')
  t.equal(bearerToken('bearer  abc '), 'abc')
  t.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined)
  t.equal(bearerToken('Bearer'), undefined)
  t.equal(bearerToken('Bearer a b'), undefined)
  t.equal(bearerToken(undefined), undefined)
})

t.test('401 without a token or with one the API server rejects, 403 for a user without get /metrics, 200 with it', async (t) => {
  const { client, calls } = scripted()
  const auth = createMetricsAuth({ client })
  t.same(await auth.check(undefined, 'get', '/metrics'), { status: 401, reason: 'no bearer token' })
  t.equal(calls.length, 0, 'no token: the API server is not asked')
  t.same(await auth.check('Bearer garbage', 'get', '/metrics'), { status: 401, reason: 'the API server did not authenticate the token' })
  const denied = await auth.check('Bearer token-nobody', 'get', '/metrics')
  t.same(denied, { status: 403, user: NOBODY.username, reason: `authorization denied for user ${NOBODY.username}: no RBAC policy matched` })
  t.same(await auth.check('Bearer token-prometheus', 'get', '/metrics'), { status: 200, user: PROMETHEUS.username, reason: 'allowed' })
  t.equal((await auth.check('Bearer token-prometheus', 'post', '/metrics')).status, 403, 'the verb is the request method')
  t.equal((await auth.check('Bearer token-prometheus', 'get', '/debug')).status, 403, 'the path is the request path')
  const review = calls.find((c) => c.path === ACCESS_REVIEW_PATH && c.body.spec.user === PROMETHEUS.username)?.body
  t.same(review, {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
    spec: { user: PROMETHEUS.username, uid: 'u-1', groups: PROMETHEUS.groups, extra: undefined, nonResourceAttributes: { path: '/metrics', verb: 'get' } },
  }, 'the review names the user, uid and groups the TokenReview returned, and the non-resource URL')
  const accessReviews = calls.filter((c) => c.path === ACCESS_REVIEW_PATH)
  t.ok(accessReviews.length > 0 && accessReviews.every((c) => !JSON.stringify(c).includes('token-')), 'the token goes to the TokenReview only')
})

t.test('answers are cached for 1 min (token), 5 min (allowed) and 30 s (denied), then asked again', async (t) => {
  let now = 1_000_000
  const { client, calls } = scripted()
  const auth = createMetricsAuth({ client, now: () => now })
  const count = (path: string) => calls.filter((c) => c.path === path).length
  await auth.check('Bearer token-prometheus', 'get', '/metrics')
  await auth.check('Bearer token-nobody', 'get', '/metrics')
  await auth.check('Bearer garbage', 'get', '/metrics')
  t.same([count(TOKEN_REVIEW_PATH), count(ACCESS_REVIEW_PATH)], [3, 2])
  now += TOKEN_CACHE_TTL_MS - 1
  for (const token of ['token-prometheus', 'token-nobody', 'garbage']) await auth.check(`Bearer ${token}`, 'get', '/metrics')
  t.same([count(TOKEN_REVIEW_PATH), count(ACCESS_REVIEW_PATH)], [3, 3], 'within a minute: tokens cached (also the rejected one); the denial (30 s) expired')
  now += 2
  await auth.check('Bearer token-prometheus', 'get', '/metrics')
  t.same([count(TOKEN_REVIEW_PATH), count(ACCESS_REVIEW_PATH)], [4, 3], 'after a minute the token is reviewed again; the allow is still cached')
  now += ALLOW_CACHE_TTL_MS
  await auth.check('Bearer token-prometheus', 'get', '/metrics')
  t.equal(count(ACCESS_REVIEW_PATH), 4, 'after 5 min the allow is asked again')
  t.ok(DENY_CACHE_TTL_MS < TOKEN_CACHE_TTL_MS)
})

t.test('a revoked permission is seen within the deny TTL: a denial is never cached longer than 30 s', async (t) => {
  let now = 0
  let allowed = false
  const client: ReviewClient = {
    async create(path) {
      return path === TOKEN_REVIEW_PATH ? { status: { authenticated: true, user: NOBODY } } : { status: { allowed } }
    },
  }
  const auth = createMetricsAuth({ client, now: () => now })
  t.equal((await auth.check('Bearer x', 'get', '/metrics')).status, 403)
  allowed = true
  t.equal((await auth.check('Bearer x', 'get', '/metrics')).status, 403, 'the denial is cached')
  now += DENY_CACHE_TTL_MS + 1
  t.equal((await auth.check('Bearer x', 'get', '/metrics')).status, 200, 'and the grant seen after 30 s')
})

t.test('concurrent scrapes with one token make one review of each kind', async (t) => {
  const { client, calls } = scripted()
  const auth = createMetricsAuth({ client })
  const results = await Promise.all(Array.from({ length: 20 }, () => auth.check('Bearer token-prometheus', 'get', '/metrics')))
  t.ok(results.every((r) => r.status === 200))
  t.equal(calls.length, 2)
})

t.test('the caches are bounded: the oldest token is forgotten first', async (t) => {
  const { client, calls } = scripted()
  const auth = createMetricsAuth({ client, maxEntries: 2 })
  for (const token of ['a', 'b', 'c']) await auth.check(`Bearer ${token}`, 'get', '/metrics')
  await auth.check('Bearer c', 'get', '/metrics')
  t.equal(calls.length, 3, 'c is still cached')
  await auth.check('Bearer a', 'get', '/metrics')
  t.equal(calls.length, 4, 'a was evicted and is reviewed again')
})

t.test('500 when the API server cannot be asked (no RBAC for reviews, unreachable); nothing cached; no token in the reason', async (t) => {
  const refused = new Error('tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:agentteams-system:wrc" cannot create resource "tokenreviews"')
  const { client, calls } = scripted({ failWith: refused })
  const auth = createMetricsAuth({ client })
  const result = await auth.check('Bearer token-prometheus', 'get', '/metrics')
  t.equal(result.status, 500)
  t.match(result.reason, /^authentication failed: tokenreviews.authentication.k8s.io is forbidden/)
  t.notMatch(JSON.stringify(result), 'token-prometheus')
  await auth.check('Bearer token-prometheus', 'get', '/metrics')
  t.equal(calls.length, 2, 'a failure is not cached: the next scrape asks again')
})
