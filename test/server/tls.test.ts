// Serving-certificate reload over real TLS sockets: a pair swapped on disk is served to the next
// new connection while an open keep-alive connection keeps working; a pair that does not load is
// refused with a warning and the previous one kept; HTTP/1.1 only, whatever the client offers.

import { X509Certificate } from 'node:crypto'
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises'
import { Agent } from 'node:https'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { Registry } from 'prom-client'
import t from 'tap'
import { type KeyPair, issueCertificate } from '../../certs/certs.ts'
import { createReview, legacyPodWorker } from '../fixtures/admission-review.ts'
import { startWebhookServer } from '../../server/webhook-server.ts'
import { captureLog, certDir, post, startTestWebhook, testConfig } from '../fixtures/webhook-harness.ts'

const sha256 = (pem: string) => new X509Certificate(pem).fingerprint256

/** Certificate fingerprint and ALPN protocol a NEW connection gets. */
function handshake(port: number, ca: string, ALPNProtocols = ['http/1.1']): Promise<{ fingerprint: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols }, () => {
      const result = { fingerprint: socket.getPeerCertificate().fingerprint256, alpn: socket.alpnProtocol ?? false }
      socket.end()
      resolve(result)
    })
    socket.on('error', reject)
  })
}

/** Polls new connections until one is served `fingerprint` (generous: the poll fallback is 10 s). */
async function waitForServed(port: number, ca: string, fingerprint: string, timeoutMs = 40_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await handshake(port, ca)).fingerprint === fingerprint) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

/** Writes a pair the way a Secret update lands: each file replaced atomically. */
async function writePair(dir: string, cert: string, key: string): Promise<void> {
  await writeFile(join(dir, 'tls.key.tmp'), key)
  await writeFile(join(dir, 'tls.crt.tmp'), cert)
  await rename(join(dir, 'tls.key.tmp'), join(dir, 'tls.key'))
  await rename(join(dir, 'tls.crt.tmp'), join(dir, 'tls.crt'))
}

const leaf = (ca: KeyPair, commonName: string) => issueCertificate(ca, { commonName, dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' })

t.test('a rotated pair reaches new connections; an open keep-alive connection keeps working', async (t) => {
  const { server, certs, dir } = await startTestWebhook(t)
  const ca = certs.ca.cert
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())

  const first = await post(server.url, '/validate-workers', createReview(legacyPodWorker()), { ca, agent })
  t.equal(first.answer().response.allowed, true)
  const openSocket = first.socket
  t.equal(openSocket.getPeerCertificate().fingerprint256, sha256(certs.serving.cert), 'served the original certificate')

  const rotated = await leaf(certs.ca, 'rotated')
  await writePair(dir, rotated.cert, rotated.key)
  t.ok(await waitForServed(server.port, ca, sha256(rotated.cert)), 'a new connection is served the new certificate')

  const second = await post(server.url, '/validate-workers', createReview(legacyPodWorker(), { uid: 'uid-after' }), { ca, agent })
  t.equal(second.socket, openSocket, 'the keep-alive connection was reused')
  t.same(second.answer().response, { uid: 'uid-after', allowed: true }, 'and it still answers')
})

t.test('a pair that does not load is refused and the previous one kept', async (t) => {
  const { server, certs, dir, logs } = await startTestWebhook(t)
  const ca = certs.ca.cert
  const one = await leaf(certs.ca, 'one')
  const two = await leaf(certs.ca, 'two')

  await writePair(dir, one.cert, two.key)
  const warning = await logs.waitFor((l) => l['msg'] === 'new serving certificate does not load; keeping the current certificate', 40_000)
  t.notMatch(JSON.stringify(warning), /PRIVATE KEY/, 'the warning carries no key')
  t.equal((await handshake(server.port, ca)).fingerprint, sha256(certs.serving.cert), 'still the original certificate')
  t.ok(server.isReady())

  await writePair(dir, two.cert, two.key)
  t.ok(await waitForServed(server.port, ca, sha256(two.cert)), 'a later valid pair is applied')
  t.notOk(logs.lines.some((l) => l.includes('PRIVATE KEY')), 'no key in any log line')
})

t.test('HTTP/1.1 only: a client offering h2 gets http/1.1', async (t) => {
  const { server, certs } = await startTestWebhook(t)
  t.equal((await handshake(server.port, certs.ca.cert, ['h2', 'http/1.1'])).alpn, 'http/1.1')
})

t.test('a mounted-Secret style swap (the ..data link renamed) is picked up', async (t) => {
  const { dir, certs } = await certDir(t)
  const mount = join(dir, 'mount')
  const publish = async (version: string, pair: KeyPair) => {
    await mkdir(join(mount, version), { recursive: true })
    await writeFile(join(mount, version, 'tls.crt'), pair.cert)
    await writeFile(join(mount, version, 'tls.key'), pair.key)
    await symlink(version, join(mount, '..data_tmp'))
    await rename(join(mount, '..data_tmp'), join(mount, '..data'))
  }
  await publish('..v1', certs.serving)
  await symlink('..data/tls.crt', join(mount, 'tls.crt'))
  await symlink('..data/tls.key', join(mount, 'tls.key'))
  const config = testConfig(dir, { tlsCertFile: join(mount, 'tls.crt'), tlsKeyFile: join(mount, 'tls.key') })
  const server = await startWebhookServer({ config, log: captureLog().log, registry: new Registry() })
  t.teardown(() => server.close())
  t.equal((await handshake(server.port, certs.ca.cert)).fingerprint, sha256(certs.serving.cert))

  const rotated = await leaf(certs.ca, 'rotated-secret')
  await publish('..v2', rotated)
  t.ok(await waitForServed(server.port, certs.ca.cert, sha256(rotated.cert)), 'the new version is served')
})
