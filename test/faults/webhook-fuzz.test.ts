// Bad input against the real webhook server over real TLS, in its own process: thousands of
// generated AdmissionReviews (admission-fuzz.ts). Every answer must be a well-formed AdmissionReview
// — a verdict, or a 400 refusal — echoing the uid when one could be read; never a dropped
// connection or a 5xx. The process never dies, its memory stays bounded, no log line holds a secret.
// One tolerated exception, beyond what a real API server can send, is counted and printed: a body
// over the 7 MiB limit is refused, but the connection may be cut while the client is still
// sending it, so the client sees EPIPE/ECONNRESET (kube-apiserver's own body limit is 3 MiB).
// Replay a run with WRC_FUZZ_SEED=<seed>; WRC_FUZZ_CASES sets the count (default 5,000).

import { Agent, request } from 'node:https'
import t from 'tap'
import { CaseKind, FUZZ_SECRET, FuzzGenerator, type FuzzCase } from './admission-fuzz.ts'
import { startWebhookProcess } from './webhook-process.ts'

const SEED = Number(process.env['WRC_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 32))
const CASES = Number(process.env['WRC_FUZZ_CASES'] ?? 5_000)
/** Requests in flight: a few keep-alive connections, as an API server keeps. */
const IN_FLIGHT = 4
/** Megabyte-sized bodies are capped so the file stays well under a minute on 2 shared cores. */
const BIG_CASES = 24
/**
 * Generous memory bounds, after a full GC. The heap is the leak check: a few hundred bytes per
 * request would still pass, a body kept per request would not. RSS also holds the pages V8 and
 * malloc keep after the megabyte bodies (measured growth 80–155 MiB), so its bound only catches a
 * runaway process.
 */
const HEAP_GROWTH_LIMIT = 48 * 1024 * 1024
const RSS_GROWTH_LIMIT = 384 * 1024 * 1024
const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`

interface Answer { status: number; text: string }

function post(agent: Agent, port: number, c: FuzzCase): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-length': c.body.length }
    if (c.contentType !== undefined) headers['content-type'] = c.contentType
    const req = request({ host: '127.0.0.1', port, path: c.path, method: 'POST', agent, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')))
    req.on('error', reject)
    req.end(c.body)
  })
}

/** What is wrong with an answer, or undefined when it is a well-formed review for this case. */
function problemWith(c: FuzzCase, a: Answer): string | undefined {
  if (a.status !== 200 && a.status !== 400) return `HTTP ${a.status}`
  let body: any
  try {
    body = JSON.parse(a.text)
  } catch {
    return `HTTP ${a.status} with a body that is not JSON (${a.text.slice(0, 80)})`
  }
  if (body?.apiVersion !== 'admission.k8s.io/v1' || body?.kind !== 'AdmissionReview') return 'not an admission.k8s.io/v1 AdmissionReview'
  const r = body.response
  if (typeof r?.uid !== 'string' || typeof r?.allowed !== 'boolean') return 'response without uid or allowed'
  if (c.uid !== undefined && r.uid !== c.uid) return `uid not echoed (${r.uid.slice(0, 40)})`
  if (!r.allowed) {
    const code = r.status?.code
    if (code !== 400 && code !== 403) return `refused with code ${code}: ${String(r.status?.message).slice(0, 200)}`
    if (typeof r.status?.message !== 'string' || r.status.message === '') return 'refusal without a message'
  }
  if (r.patch !== undefined && (r.patchType !== 'JSONPatch' || !Array.isArray(JSON.parse(Buffer.from(r.patch, 'base64').toString())))) return 'patch is not a base64 JSON Patch'
  return undefined
}

const server = await startWebhookProcess()
t.teardown(() => server.stop())
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT, ca: server.certs.ca.cert })
t.teardown(() => agent.destroy())

t.test(`${CASES} generated AdmissionReviews: every answer a well-formed review, the server alive and bounded`, async (t) => {
  t.comment(`seed ${SEED} (replay: WRC_FUZZ_SEED=${SEED} npx tap test/faults/webhook-fuzz.test.ts)`)
  const gen = new FuzzGenerator(SEED)
  let big = BIG_CASES
  const nextCase = (): FuzzCase => {
    const c = gen.next(big)
    if (c.body.length > 512 * 1024) big--
    return c
  }
  // Warm-up: JIT, TLS sessions and pools settle before the first memory sample.
  for (let i = 0; i < 300; i++) await post(agent, server.port, { kind: CaseKind.Valid, what: 'warm-up', path: '/validate-workers', contentType: 'application/json', body: Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `w${i}`, kind: { group: 'agentteams.io', version: 'v1beta1', kind: 'Worker' }, operation: 'DELETE' } })), uid: `w${i}` })
  const before = await server.memory()

  const byKind = new Map<string, { cases: number; allowed: number; denied: number; refused: number; cut: number }>()
  const problems: string[] = []
  let done = 0
  let bytes = 0
  let mid = before
  const started = Date.now()
  const run = async (count: number) => {
    let left = count
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (left > 0) {
        left--
        const c = nextCase()
        bytes += c.body.length
        const tally = byKind.get(c.kind) ?? { cases: 0, allowed: 0, denied: 0, refused: 0, cut: 0 }
        byKind.set(c.kind, tally)
        tally.cases++
        let problem: string | undefined
        try {
          const a = await post(agent, server.port, c)
          problem = problemWith(c, a)
          if (!problem) {
            const r = JSON.parse(a.text).response
            if (r.allowed) tally.allowed++
            else if (r.status.code === 403) tally.denied++
            else tally.refused++
          }
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code
          if (c.kind === CaseKind.OverLimit && (code === 'EPIPE' || code === 'ECONNRESET')) tally.cut++
          else problem = `connection failed: ${(error as Error).message}`
        }
        if (problem && problems.length < 20) problems.push(`#${done} ${c.kind} (${c.what}, ${c.body.length} bytes, ${c.path}): ${problem}`)
        done++
      }
    }))
  }
  await run(Math.floor(CASES / 2))
  mid = await server.memory()
  await run(CASES - Math.floor(CASES / 2))
  const after = await server.memory()
  const seconds = (Date.now() - started) / 1000

  for (const [kind, n] of [...byKind].sort()) t.comment(`${kind.padEnd(24)} ${String(n.cases).padStart(5)} cases: ${n.allowed} allowed, ${n.denied} denied (403), ${n.refused} refused (400)${n.cut ? `, ${n.cut} cut off while sending` : ''}`)
  t.comment(`${done} cases, ${MiB(bytes)} sent in ${seconds.toFixed(1)} s; memory after GC: heap ${MiB(before.heapUsed)} → ${MiB(mid.heapUsed)} → ${MiB(after.heapUsed)}, rss ${MiB(before.rss)} → ${MiB(mid.rss)} → ${MiB(after.rss)}`)
  t.same(problems, [], 'every answer is a well-formed AdmissionReview (a verdict or a 400), uid echoed where readable')
  t.equal(done, CASES)
  t.ok(byKind.size >= 10, `all families of bad input were generated (${byKind.size})`)
  t.equal(server.exit(), undefined, 'the server process is still running')
  const check = await post(agent, server.port, { kind: CaseKind.Valid, what: 'after', path: '/validate-workers', contentType: 'application/json', body: Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'after-fuzz', kind: { group: 'agentteams.io', version: 'v1beta1', kind: 'Worker' }, operation: 'DELETE' } })), uid: 'after-fuzz' })
  t.same(JSON.parse(check.text).response, { uid: 'after-fuzz', allowed: true }, 'and still answers a valid review correctly')
  t.ok(after.heapUsed - before.heapUsed < HEAP_GROWTH_LIMIT, `heap after GC grew by ${MiB(after.heapUsed - before.heapUsed)} (bound ${MiB(HEAP_GROWTH_LIMIT)})`)
  t.ok(after.rss - before.rss < RSS_GROWTH_LIMIT, `rss grew by ${MiB(after.rss - before.rss)} (bound ${MiB(RSS_GROWTH_LIMIT)})`)
  const cutOff = [...byKind.values()].reduce((n, k) => n + k.cut, 0)
  t.comment(`RESULT ${JSON.stringify({ test: 'webhook-fuzz', seed: SEED, cases: done, kinds: byKind.size, bytes, seconds, problems: problems.length, cutOff, heapGrowthMiB: +((after.heapUsed - before.heapUsed) / 1048576).toFixed(1), rssBeforeMiB: +(before.rss / 1048576).toFixed(1), rssAfterMiB: +(after.rss / 1048576).toFixed(1) })}`)
})

t.test('no log line of the server holds a secret value from the requests', async (t) => {
  t.ok(server.logs.length > 100, `the server logged its refusals (${server.logs.length} lines)`)
  t.same(server.logs.filter((line) => line.includes(FUZZ_SECRET)), [])
})
