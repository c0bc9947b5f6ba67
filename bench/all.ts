// `npm run bench:all`: runs the three benchmarks and the fault tests one after another (never in
// parallel: they would measure each other), keeps each benchmark's final JSON line and each fault
// test's `# RESULT {...}` line in bench/results.json, and regenerates the README's Performance and
// Reliability blocks from it (bench/readme-results.ts). BENCH_ONLY=webhook,admission,reconcile,faults
// runs a subset; the other figures stay as they were in results.json.

import { spawn } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describeMachine, machineLine } from './machine.ts'
import { readResults, RESULTS_FILE, type Results, writeReadme } from './readme-results.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const STEPS = ['webhook', 'admission', 'reconcile', 'faults'] as const
type Step = (typeof STEPS)[number]
const ONLY = new Set((process.env['BENCH_ONLY'] ?? STEPS.join(',')).split(',').map((s) => s.trim()))

/** Runs a command from the repository root, echoing its output; resolves with its stdout lines. */
function run(command: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk)
      out += chunk.toString()
    })
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve(out.split('\n')) : reject(new Error(`${command} ${args.join(' ')} exited with code ${code}`))))
  })
}

/** The last line of `lines` that is a JSON object. */
function lastJson(lines: string[]): unknown {
  for (const line of [...lines].reverse()) if (line.startsWith('{')) return JSON.parse(line)
  throw new Error('no JSON line in the output')
}

async function main(): Promise<void> {
  const results: Results = readResults()
  results.machine = describeMachine()
  console.log(machineLine(results.machine))
  const node = process.execPath
  const step = async (name: Step, work: () => Promise<void>) => {
    if (!ONLY.has(name)) return
    console.log(`\n=== ${name} ===`)
    await work()
    writeFileSync(RESULTS_FILE, JSON.stringify(results, null, 2) + '\n')
  }
  await step('webhook', async () => void (results.webhook = lastJson(await run(node, ['bench/webhook.ts']))))
  await step('admission', async () => void (results.admission = lastJson(await run(node, ['bench/admission.ts']))))
  await step('reconcile', async () => void (results.reconcile = lastJson(await run(node, ['bench/reconcile.ts']))))
  await step('faults', async () => {
    const files = readdirSync(new URL('../test/faults/', import.meta.url)).filter((f) => f.endsWith('.test.ts')).map((f) => `test/faults/${f}`)
    const lines = await run(node, [fileURLToPath(new URL('../node_modules/.bin/tap', import.meta.url)), '--reporter=tap', ...files])
    results.faults = { ...results.faults }
    for (const line of lines) {
      const m = /# RESULT (\{.*\})\s*$/.exec(line)
      if (m) {
        const r = JSON.parse(m[1] as string) as { test: string }
        results.faults[r.test] = r
      }
    }
  })
  writeReadme(results)
  console.log(`\nwrote ${fileURLToPath(RESULTS_FILE)} and the README's Performance and Reliability blocks`)
}

await main()
