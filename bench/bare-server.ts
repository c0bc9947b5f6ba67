// The benchmark's reference servers on bare node:https (same TLS options as the webhook, no
// framework). `constant`: reads the body, answers a constant AdmissionReview of the webhook's
// answer size — the physical limit for Node. `json`: also JSON.parses the body and answers with its
// uid — the least any webhook must do. A child process of bench/webhook.ts; reports its port over IPC.

import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { KEEP_ALIVE_TIMEOUT_MS } from '../server/app.ts'
import { tlsServerOptions } from '../server/tls.ts'

const [mode, certFile, keyFile, answer] = process.argv.slice(2) as ['constant' | 'json', string, string, string]
const constant = Buffer.from(answer)

function reply(body: string): Buffer {
  if (mode === 'constant') return constant
  const { request } = JSON.parse(body) as { request: { uid: string } }
  return Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request.uid, allowed: true } }))
}

const server = createServer(tlsServerOptions({ cert: readFileSync(certFile), key: readFileSync(keyFile) }), (req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (chunk: string) => (body += chunk))
  req.on('end', () => {
    const out = reply(body)
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(out.length) })
    res.end(out)
  })
})
server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }))
process.on('disconnect', () => process.exit(0))
