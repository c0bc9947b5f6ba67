// `npm run bench:webhook`: autocannon against /validate-workers and /mutate-workers of the real
// webhook server with a ~4 KB AdmissionReview UPDATE over HTTPS keep-alive, side by side with a bare
// node:https server answering a constant review of the same size (the physical limit for Node).
// A second reference, bare-json, also parses the body (the least any webhook must do). Prints a
// table, then as the last line one JSON object. A script, not a test: it asserts nothing.

import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { createServingCertificates, writeServingCertificates } from '../certs/certs.ts'
import { realisticUpdateReview } from '../test/fixtures/admission-review.ts'
import { describeMachine, machineLine } from './machine.ts'

/** Settings, from the environment: seconds per case, connections, the fixed rate, which runs. */
const DURATION_S = Number(process.env['BENCH_DURATION'] ?? 5)
const WARMUP_S = Number(process.env['BENCH_WARMUP'] ?? 1)
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 10)
const FIXED_RATE = Number(process.env['BENCH_RATE'] ?? 2000)
const MODE = process.env['BENCH_MODE'] ?? 'both' // max | fixed | both

interface Figures { rps: number; p50Ms: number; p99Ms: number; errors: number }
interface Case { name: 'bare' | 'bare-json' | 'validate' | 'mutate'; port: number; path: string }

/** Starts a server script as a child process and waits for the port it reports. */
function startChild(script: string, args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(new URL(script, import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ port: (message as { port: number }).port, child }))
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit')
    child.once('exit', () => resolve())
    child.disconnect()
    setTimeout(() => child.kill(), 5000).unref()
  })
}

/** One request, to check the answer is what the benchmark claims to measure. */
function answerOf(port: number, path: string, body: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, headers }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve(text))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function load(target: Case, body: string, durationS: number, overallRate?: number): Promise<Figures> {
  const result = await autocannon({
    url: `https://127.0.0.1:${target.port}${target.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: durationS,
    ...(overallRate ? { overallRate } : {}),
  })
  return {
    rps: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  }
}

async function measure(target: Case, body: string): Promise<{ max?: Figures; fixed?: Figures }> {
  if (WARMUP_S > 0) await load(target, body, WARMUP_S)
  const max = MODE === 'fixed' ? undefined : await load(target, body, DURATION_S)
  const fixed = MODE === 'max' ? undefined : await load(target, body, DURATION_S, FIXED_RATE)
  return { ...(max ? { max } : {}), ...(fixed ? { fixed } : {}) }
}

const fmt = (value: number | undefined, width: number) => (value === undefined ? '-' : String(value)).padStart(width)

async function main(): Promise<void> {
  const machine = describeMachine()
  console.log(machineLine(machine))
  const dir = await mkdtemp(join(tmpdir(), 'wrc-bench-'))
  const certs = await createServingCertificates()
  await writeServingCertificates(dir, certs)
  const certArgs = [join(dir, 'tls.crt'), join(dir, 'tls.key')]
  const body = JSON.stringify(realisticUpdateReview())
  const ca = certs.ca.cert

  const ours = await startChild('./webhook-server.ts', certArgs)
  const validateAnswer = await answerOf(ours.port, '/validate-workers', body, ca)
  const mutateAnswer = await answerOf(ours.port, '/mutate-workers', body, ca)
  const bare = await startChild('./bare-server.ts', ['constant', ...certArgs, validateAnswer])
  const bareJson = await startChild('./bare-server.ts', ['json', ...certArgs, validateAnswer])
  console.log(`request: AdmissionReview UPDATE, ${Buffer.byteLength(body)} bytes; ${CONNECTIONS} connections, keep-alive, ${DURATION_S} s per run (+${WARMUP_S} s warm-up)`)
  console.log(`validate answers ${validateAnswer.length} bytes: ${validateAnswer}`)
  console.log(`mutate answers ${mutateAnswer.length} bytes (patch: ${JSON.parse(mutateAnswer).response.patch !== undefined})`)

  const cases: Case[] = [
    { name: 'bare', port: bare.port, path: '/validate-workers' },
    { name: 'bare-json', port: bareJson.port, path: '/validate-workers' },
    { name: 'validate', port: ours.port, path: '/validate-workers' },
    { name: 'mutate', port: ours.port, path: '/mutate-workers' },
  ]
  const results: Record<string, { max?: Figures; fixed?: Figures }> = {}
  try {
    for (const c of cases) results[c.name] = await measure(c, body)
  } finally {
    await Promise.all([ours, bare, bareJson].map((server) => stopChild(server.child)))
    await rm(dir, { recursive: true, force: true })
  }

  const ratioTo = (rps: number | undefined, reference: string) => {
    const base = results[reference]?.max?.rps
    return rps !== undefined && base ? Math.round((rps / base) * 100) / 100 : undefined
  }
  const summary: Record<string, Record<string, unknown>> = {}
  console.log(`\n${'case'.padEnd(10)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'ratio'.padStart(8)}${'vs json'.padStart(9)}${'errors'.padStart(8)}${`p99 ms @${FIXED_RATE}/s`.padStart(18)}`)
  for (const c of cases) {
    const { max, fixed } = results[c.name] ?? {}
    const ratio = ratioTo(max?.rps, 'bare')
    console.log(`${c.name.padEnd(10)}${fmt(max?.rps, 9)}${fmt(max?.p50Ms, 9)}${fmt(max?.p99Ms, 9)}${fmt(ratio, 8)}${fmt(ratioTo(max?.rps, 'bare-json'), 9)}${fmt((max?.errors ?? 0) + (fixed?.errors ?? 0), 8)}${fmt(fixed?.p99Ms, 18)}`)
    summary[c.name] = {
      ...(max ? { rps: max.rps, p50Ms: max.p50Ms, p99Ms: max.p99Ms, ratio } : {}),
      ...(fixed ? { fixedRate: { rps: FIXED_RATE, achievedRps: fixed.rps, p99Ms: fixed.p99Ms } } : {}),
    }
  }
  console.log('ratio: ours / bare (constant answer); vs json: ours / bare-json (body parsed). Latency resolution: 1 ms (autocannon).')
  console.log(JSON.stringify({ machine, connections: CONNECTIONS, validate: summary['validate'], mutate: summary['mutate'], bare: summary['bare'], bareJson: summary['bare-json'] }))
}

await main()
