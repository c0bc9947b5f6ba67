// The two faces of the process logger: JSON lines for collectors and pipes, and for a person at a
// terminal in local mode readable lines (time, level, message, then the fields) from pino-pretty;
// the redaction net works in both.

import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, createTerminalLogger } from '../../cli/logger.ts'

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk))
      done()
    },
  })
  return { stream, text: () => chunks.join('') }
}

/** The text without ANSI colour codes. */
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '')

t.test('JSON: one object per line with level, name and message; secrets redacted', async (t) => {
  const out = sink()
  const log = createLogger('info', out.stream)
  log.info({ port: 8081, token: 'eyJhbGciOi.secret' }, 'serving /healthz and /readyz')
  log.debug('hidden at info')
  await new Promise((resolve) => setImmediate(resolve))
  const lines = out.text().trim().split('\n').map((l) => JSON.parse(l))
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 30, name: 'worker-runtime-controller', msg: 'serving /healthz and /readyz', port: 8081, token: '[redacted]' })
})

t.test('terminal: readable lines, not JSON; fields below the message; secrets redacted', async (t) => {
  const out = sink()
  const log = await createTerminalLogger('info', out.stream)
  log.warn({ url: 'http://127.0.0.1:8443/metrics', authorization: 'Bearer abc.def' }, 'serving /metrics over plain HTTP without authentication (local mode)')
  log.info('stopped')
  const text = plain(out.text())
  const lines = text.split('\n')
  t.match(lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: serving \/metrics over plain HTTP without authentication \(local mode\)$/)
  t.match(text, /^ {4}url: "http:\/\/127\.0\.0\.1:8443\/metrics"$/m)
  t.match(text, /^ {4}authorization: "\[redacted\]"$/m)
  t.notMatch(text, 'abc.def')
  t.match(text, /\] INFO: stopped\n/)
  t.throws(() => JSON.parse(lines[0] as string), 'not JSON')
  t.notMatch(text, /"pid"|hostname|worker-runtime-controller/, 'pid, host and name left out: one process, one terminal')
})
