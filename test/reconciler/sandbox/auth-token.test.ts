// Whether a token found in the store is still good for the Worker (a restarted controller keeps
// only those): issued for its ServiceAccount as it exists now, for the configured audience, and not
// yet due at 80% of the shorter of its lifetime and the configured one. Pure: claims in, time out.

import t from 'tap'
import { storedTokenRefreshAt, type TokenExpectation } from '../../../reconciler/sandbox/auth-token.ts'

const now = 1_700_000_000_000
const iat = Math.floor(now / 1000)
const jwt = (claims: object) => Buffer.from(`e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`)
const good = { aud: ['hiclaw-controller'], iat, exp: iat + 3600, 'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'agentteams-worker-alice', uid: 'sa-1' } } }
const expected: TokenExpectation = { namespace: 'ns', account: 'agentteams-worker-alice', accountUid: 'sa-1', audience: 'hiclaw-controller', lifetimeSeconds: 3600 }

t.test('a fresh token for this account is kept until 80% of its life', async (t) => {
  t.equal(storedTokenRefreshAt(jwt(good), expected, now), now + 2880_000)
  t.equal(storedTokenRefreshAt(jwt({ ...good, aud: 'hiclaw-controller' }), expected, now), now + 2880_000, 'a single audience string')
})

t.test('anything else must be rewritten', async (t) => {
  for (const [why, claims] of [
    ['another audience', { ...good, aud: 'someone-else' }],
    ['a re-created ServiceAccount (another uid)', { ...good, 'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'agentteams-worker-alice', uid: 'sa-0' } } }],
    ['another namespace', { ...good, 'kubernetes.io': { namespace: 'other', serviceaccount: { name: 'agentteams-worker-alice', uid: 'sa-1' } } }],
    ['another account', { ...good, 'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'default', uid: 'sa-1' } } }],
    ['due for refresh', { ...good, iat: iat - 3000, exp: iat + 600 }],
    ['no lifetime', { ...good, exp: undefined }],
  ] as const) {
    t.equal(storedTokenRefreshAt(jwt(claims), expected, now), undefined, `${why}: rewrite`)
  }
  t.equal(storedTokenRefreshAt(Buffer.from('not-a-jwt'), expected, now), undefined, 'not a token: rewrite')
  t.equal(storedTokenRefreshAt(Buffer.from('a.!!!.c'), expected, now), undefined, 'a payload that is not JSON: rewrite')
})

t.test('a lifetime configured shorter since the token was issued: refreshed at 80% of the shorter one', async (t) => {
  t.equal(storedTokenRefreshAt(jwt(good), { ...expected, lifetimeSeconds: 1200 }, now), now + 960_000)
})
