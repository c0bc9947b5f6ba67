// Serving certificate rotation under load: while clients keep sending reviews over keep-alive
// connections and over a new connection per request, the certificate files change three ways —
// renamed into place one by one (same CA), swapped the way the kubelet updates a mounted Secret
// (`..data` symlink, new CA), and overwritten in place (readers can see half-written files).
// Not one request may fail, and new connections must get the new certificate.

import { X509Certificate } from 'node:crypto'
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:https'
import { join } from 'node:path'
import { connect } from 'node:tls'
import t from 'tap'
import { createCA, createServingCertificates, issueCertificate, type KeyPair } from '../../certs/certs.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { startWebhookProcess } from './webhook-process.ts'

/** Clients on kept-alive connections, and clients that open a new connection per request. */
const KEEP_ALIVE_CLIENTS = 4
const NEW_CONNECTION_CLIENTS = 2
/** Load before, between and after the rotations (seconds of wall time, not a speed bar). */
const SETTLE_MS = 2_000
/** The server polls every 10 s besides watching the folder; allow for a slow, shared machine. */
const PICKUP_TIMEOUT_MS = 45_000

const server = await startWebhookProcess()
t.teardown(() => server.stop())

const body = (uid: string) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, kind: { group: 'agentteams.io', version: 'v1beta1', kind: 'Worker' }, operation: 'DELETE', namespace: 'team-a', name: 'alice' } })
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256
const oldCa = server.certs.ca
const newCa = await createCA('worker-runtime-controller-ca-2')
/** Clients trust both CAs, as a webhook configuration's caBundle does while a CA rotates. */
const trust = [oldCa.cert, newCa.cert]

function post(agent: Agent | false, uid: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const payload = body(uid)
    const req = request({ host: '127.0.0.1', port: server.port, path: '/validate-workers', method: 'POST', agent, ca: trust, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 30_000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => {
        try {
          const r = JSON.parse(text).response
          resolve(res.statusCode === 200 && r.uid === uid && r.allowed === true ? undefined : `HTTP ${res.statusCode}: ${text.slice(0, 200)}`)
        } catch {
          resolve(`HTTP ${res.statusCode}: not JSON`)
        }
      })
      res.on('error', (e) => resolve(`response: ${e.message}`))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e) => resolve(`request: ${e.message}`))
    req.end(payload)
  })
}

/** The certificate a brand-new TLS connection is served. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: trust, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
      const cert = socket.getPeerX509Certificate()
      socket.destroy()
      if (cert) resolve(cert.fingerprint256)
      else reject(new Error('no peer certificate'))
    })
    socket.on('error', reject)
  })
}

const leaf = (ca: KeyPair) => issueCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' })
const crt = join(server.dir, 'tls.crt')
const key = join(server.dir, 'tls.key')

t.test('three rotations under load: zero failed requests; new connections get each new certificate', async (t) => {
  t.setTimeout(4 * 60_000)
  let running = true
  let sent = 0
  let uid = 0
  const failures: string[] = []
  const agent = new Agent({ keepAlive: true, maxSockets: KEEP_ALIVE_CLIENTS, ca: trust })
  t.teardown(() => agent.destroy())
  const client = async (keepAlive: boolean) => {
    while (running) {
      const problem = await post(keepAlive ? agent : false, `rot-${++uid}`)
      sent++
      if (problem && failures.length < 20) failures.push(problem)
    }
  }
  const clients = [
    ...Array.from({ length: KEEP_ALIVE_CLIENTS }, () => client(true)),
    ...Array.from({ length: NEW_CONNECTION_CLIENTS }, () => client(false)),
  ]
  const pause = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const pickedUp = async (pem: string, how: string) => {
    const started = Date.now()
    const sentBefore = sent
    await pollUntil(`new connections to get the certificate of the ${how} rotation`, async () => ((await servedFingerprint()) === fingerprint(pem) ? true : undefined), { timeoutMs: PICKUP_TIMEOUT_MS, intervalMs: 100 })
    const ms = Date.now() - started
    t.comment(`${how}: new certificate served after ${ms} ms; ${sent - sentBefore} requests meanwhile`)
    return ms
  }

  await pause()
  t.equal(await servedFingerprint(), fingerprint(server.certs.serving.cert), 'the first certificate is served')

  // 1. Renamed into place, certificate first, key second (same CA): a moment of mismatch on disk.
  const second = await leaf(oldCa)
  await writeFile(`${crt}.new`, second.cert)
  await writeFile(`${key}.new`, second.key, { mode: 0o600 })
  await rename(`${crt}.new`, crt)
  await new Promise((resolve) => setTimeout(resolve, 300))
  await rename(`${key}.new`, key)
  const renameMs = await pickedUp(second.cert, 'rename')
  await pause()

  // 2. The kubelet's atomic Secret update: files are links into `..data`, a link swapped by rename.
  const third = await leaf(newCa)
  await mkdir(join(server.dir, '..2026_01'))
  await writeFile(join(server.dir, '..2026_01', 'tls.crt'), third.cert)
  await writeFile(join(server.dir, '..2026_01', 'tls.key'), third.key, { mode: 0o600 })
  await symlink('..2026_01', join(server.dir, '..data_tmp'))
  await rename(join(server.dir, '..data_tmp'), join(server.dir, '..data'))
  await symlink('..data/tls.crt', `${crt}.link`)
  await symlink('..data/tls.key', `${key}.link`)
  await rename(`${crt}.link`, crt)
  await rename(`${key}.link`, key)
  const symlinkMs = await pickedUp(third.cert, 'kubelet symlink swap (new CA)')
  await pause()

  // 3. Overwritten in place through the links, in small pieces: readers may see partial PEM files.
  // The folder watch does not see edits inside `..2026_01`; the 10 s poll is what catches them.
  const fourth = await leaf(newCa)
  for (const [file, text] of [[join(server.dir, '..2026_01', 'tls.crt'), fourth.cert], [join(server.dir, '..2026_01', 'tls.key'), fourth.key]] as const) {
    await writeFile(file, '')
    for (let i = 0; i < text.length; i += 64) {
      await writeFile(file, text.slice(i, i + 64), { flag: 'a' })
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  const overwriteMs = await pickedUp(fourth.cert, 'in-place overwrite')
  await pause()

  running = false
  await Promise.all(clients)
  t.comment(`${sent} requests (${KEEP_ALIVE_CLIENTS} keep-alive clients, ${NEW_CONNECTION_CLIENTS} new-connection clients), ${failures.length} failed`)
  t.same(failures, [], 'zero failed requests')
  t.ok(sent > 0)
  t.equal(server.exit(), undefined, 'the server process is still running')
  const reloads = server.logs.filter((l) => l.includes('serving certificate reloaded')).length
  const refused = server.logs.filter((l) => l.includes('does not load') || l.includes('cannot read the serving certificate')).length
  t.ok(reloads >= 3, `the server logged ${reloads} reloads (and kept the current pair ${refused} times for a pair that did not load)`)
  t.same(server.logs.filter((l) => l.includes('PRIVATE KEY')), [], 'no key material in any log line')
  t.comment(`RESULT ${JSON.stringify({ test: 'cert-rotation', requests: sent, failed: failures.length, rotations: 3, pickupMs: [renameMs, symlinkMs, overwriteMs], reloads, keptOnBadPair: refused })}`)
})
