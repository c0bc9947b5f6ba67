// `npm run bench:reconcile`: N sandbox Workers applied at once to a real control plane
// (localcluster/) with a real MinIO; the time until every SandboxClaim exists with its deps
// written, for the controller (its own process, reconcile-runs.ts) at each concurrency of
// BENCH_CONCURRENCY (default: 1, controller-runtime's default, and this project's default), next
// to the floor (reconcile-floor.ts). Claims are never fulfilled: nothing past the claim is
// measured. Then RSS with 5,000 Workers at the default concurrency: under the Helm chart's memory
// limit (a real memory cgroup, from which Node sizes its heap as in a pod), a fresh controller
// started over them in the same limit (a restart or a failover), and with no limit on this host.
// Prints a table, then one JSON line; asserts nothing. Each size runs BENCH_ROUNDS times (floor and
// controllers interleaved) and reports the medians.
//   BENCH_N=200,500,1000  BENCH_ROUNDS=3  BENCH_CONCURRENCY=1,<default>  BENCH_RSS_N=5000 (0: skip)  BENCH_APPLY_CONCURRENCY=20

import { readFileSync } from 'node:fs'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { parse } from 'yaml'
import { loadConfig } from '../config/config.ts'
import { S3DepsStore, type S3DepsStoreOptions } from '../reconciler/deps/s3.ts'
import { createKubeClient } from '../reconciler/controller/kube.ts'
import { claimPath } from '../test/e2e/sandbox-kit.ts'
import { kubeconfigFor } from '../test/e2e/reconciler-kit.ts'
import { startControlPlane } from '../localcluster/control-plane.ts'
import { installCrds } from '../localcluster/crds.ts'
import { MANIFESTS, OPENKRUISE_CRDS } from '../localcluster/manifests.ts'
import { createNamespace } from '../test/harness/namespaces.ts'
import { createMemoryCgroup } from '../test/harness/memory-cgroup.ts'
import { startS3Server } from '../test/harness/s3-server.ts'
import { cpuMsPerWorker, type Processes, readCpu } from './cpu.ts'
import { describeMachine, machineLine } from './machine.ts'
import { runFloor } from './reconcile-floor.ts'
import { type BenchRig, type ControllerRun, controllerRun, describeRestart, describeRun, manifests, type RestartRun, restartRun } from './reconcile-runs.ts'

const SIZES = (process.env['BENCH_N'] ?? '200,500,1000').split(',').map(Number).filter((n) => n > 0)
const DEFAULT_CONCURRENCY = loadConfig({}).maxConcurrentReconciles
/** The concurrencies compared at each size, ascending; the RSS runs use the default. */
const CONCURRENCIES = [...new Set((process.env['BENCH_CONCURRENCY'] ?? `1,${DEFAULT_CONCURRENCY}`).split(',').map(Number).filter((c) => c > 0))].sort((a, b) => a - b)
const RSS_N = Number(process.env['BENCH_RSS_N'] ?? 5000)
/** Clients creating Workers at once, like `kubectl apply` from 20 terminals (and the floor's parallelism). */
const APPLY_CONCURRENCY = Number(process.env['BENCH_APPLY_CONCURRENCY'] ?? 20)
/** Per-run deadline; a run that misses it is reported, not hidden. */
const RUN_TIMEOUT_MS = Number(process.env['BENCH_RUN_TIMEOUT_S'] ?? 1200) * 1000
/** Extra Node flags for the controller process (e.g. `--max-semi-space-size=8`); default none, as `serve` runs. */
const NODE_FLAGS = (process.env['BENCH_CONTROLLER_NODE_FLAGS'] ?? '').split(' ').filter(Boolean)
/** Rounds per size: floor and controller runs interleaved, the median of each reported. */
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 3))

/** The element with the median `value` (the lower middle one of an even count). */
function median<T>(items: readonly T[], value: (item: T) => number): T {
  return [...items].sort((a, b) => value(a) - value(b))[Math.floor((items.length - 1) / 2)]!
}

/** The chart's default memory limit of the controller container (values.yaml `resources.limits.memory`), in MiB. */
function chartMemoryLimitMiB(): number {
  const values = parse(readFileSync(new URL('../manifests/chart/worker-runtime-controller/values.yaml', import.meta.url), 'utf8'))
  const limit = String(values?.resources?.limits?.memory ?? '')
  const m = /^(\d+)(Mi|Gi)$/.exec(limit)
  if (!m) throw new Error(`values.yaml resources.limits.memory: expected <n>Mi or <n>Gi, found ${JSON.stringify(limit)}`)
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1)
}

async function main(): Promise<void> {
  const machine = describeMachine()
  console.log(machineLine(machine))
  const cp = await startControlPlane({ onProgress: (line) => console.log(`# ${line}`) })
  await installCrds(cp.api, [MANIFESTS.workerCrd, ...OPENKRUISE_CRDS])
  const s3 = await startS3Server()
  const s3Options: S3DepsStoreOptions = { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true }
  const kube = createKubeClient(kubeconfigFor(cp))
  // Everything that runs on the machine's cores during a run (the controller is added per run).
  const machineProcesses = (): Processes => ({ 'kube-apiserver': cp.pids[1], etcd: cp.pids[0], MinIO: s3.pid, 'load client': 'self' })
  const store = new S3DepsStore(s3Options)
  const countClaims = async (ns: string) => ((await kube.request<{ items: unknown[] }>({ method: 'GET', path: claimPath(ns) })).items ?? []).length
  const countDeps = async (tag: string) => {
    let count = 0
    let token: string | undefined
    do {
      const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `workers-deps/${tag}-`, ContinuationToken: token }))
      count += page.KeyCount ?? 0
      token = page.NextContinuationToken
    } while (token)
    return count
  }

  const rig: BenchRig = { cp, kube, s3Options, machineProcesses, countClaims, countDeps, nodeFlags: NODE_FLAGS, timeoutMs: RUN_TIMEOUT_MS, applyConcurrency: APPLY_CONCURRENCY }

  const rows: Array<{ n: number; floorMs: number; floorRequestsPerWorker: number; floorCpuMsPerWorker: Record<string, number>; runs: ControllerRun[]; floorSamplesMs: number[]; samplesMs: Record<number, number[]> }> = []
  try {
    for (const n of SIZES) {
      // Floor and controller runs interleaved, ROUNDS times: the machine's drift falls on all of them.
      const floors: Array<{ ms: number; requests: number; cpuMsPerWorker: Record<string, number> }> = []
      const byConcurrency = new Map<number, ControllerRun[]>()
      for (let round = 1; round <= ROUNDS; round++) {
        const ns = await createNamespace(cp.api, `bench-floor${n}r${round}`)
        const cpuBefore = readCpu(machineProcesses())
        const floor = { ...(await runFloor(kube, store, ns, manifests(ns, `f${n}r${round}`, n), APPLY_CONCURRENCY)), cpuMsPerWorker: {} as Record<string, number> }
        floor.cpuMsPerWorker = cpuMsPerWorker(cpuBefore, readCpu(machineProcesses()), n)
        floors.push(floor)
        console.log(`# N=${n} round ${round}: floor ${(floor.ms / 1000).toFixed(2)} s (${await countClaims(ns)} claims, ${await countDeps(`f${n}r${round}`)} deps objects)`)
        for (const concurrency of CONCURRENCIES) {
          const run = await controllerRun(rig, n, concurrency, undefined, round)
          console.log(`# N=${n} round ${round}: ${describeRun(run)}`)
          byConcurrency.set(concurrency, [...(byConcurrency.get(concurrency) ?? []), run])
        }
      }
      const floor = median(floors, (f) => f.ms)
      const runs = [...byConcurrency.values()].map((all) => median(all, (r) => r.ms))
      rows.push({
        n,
        floorMs: floor.ms,
        floorRequestsPerWorker: floor.requests / n,
        floorCpuMsPerWorker: floor.cpuMsPerWorker,
        runs,
        floorSamplesMs: floors.map((f) => Math.round(f.ms)),
        samplesMs: Object.fromEntries([...byConcurrency].map(([c, all]) => [c, all.map((r) => r.ms)])),
      })
    }
    let big: ControllerRun | undefined
    let restart: RestartRun | undefined
    let unlimited: ControllerRun | undefined
    if (RSS_N > 0) {
      // Under the chart's container memory limit, which Node sizes its heap from.
      const cgroup = createMemoryCgroup(chartMemoryLimitMiB(), `${cp.dir}/launchers`)
      try {
        big = await controllerRun(rig, RSS_N, DEFAULT_CONCURRENCY, cgroup)
        console.log(`# N=${RSS_N} in a ${cgroup.limitMiB} MiB memory cgroup: ${describeRun(big)}`)
        // Then a new controller over those Workers, in the same limit: its start-up is the peak.
        restart = await restartRun(rig, big, cgroup)
        console.log(`# N=${RSS_N} in a ${cgroup.limitMiB} MiB memory cgroup: ${describeRestart(restart)}`)
      } finally {
        cgroup.remove()
      }
      unlimited = await controllerRun(rig, RSS_N, DEFAULT_CONCURRENCY)
      console.log(`# N=${RSS_N} without a memory limit (heap sized from this host's RAM): ${describeRun(unlimited)}`)
    }

    const s = (ms: number) => (ms / 1000).toFixed(2).padStart(8)
    const label = (c: number) => `ctl c=${c}${c === DEFAULT_CONCURRENCY ? '*' : ''} s`
    console.log(`\n${'N'.padStart(6)}${'floor s'.padStart(9)}${CONCURRENCIES.map((c) => `${label(c).padStart(14)}${'ratio'.padStart(7)}`).join('')}${'req/Worker'.padStart(12)}${'floor req'.padStart(11)}${'RSS MiB'.padStart(9)}${'peak'.padStart(6)}`)
    for (const row of rows) {
      const at = (c: number) => row.runs.find((r) => r.concurrency === c)
      const cells = CONCURRENCIES.map((c) => { const r = at(c); return `${r ? s(r.ms).padStart(14) : '-'.padStart(14)}${(r ? (r.ms / row.floorMs).toFixed(2) : '-').padStart(7)}` }).join('')
      const main = at(DEFAULT_CONCURRENCY) ?? row.runs.at(-1)!
      console.log(`${String(row.n).padStart(6)}${s(row.floorMs)} ${cells}${main.requestsPerWorker.toFixed(1).padStart(12)}${row.floorRequestsPerWorker.toFixed(1).padStart(11)}${String(main.rssMiB).padStart(9)}${String(main.peakRssMiB).padStart(6)}`)
    }
    if (restart) console.log(`${String(RSS_N).padStart(6)}  restart, settled in ${(restart.ms / 1000).toFixed(2)} s, ${restart.requestsPerWorker.toFixed(1)} req/Worker, RSS ${restart.rssMiB} MiB (peak ${restart.peakRssMiB})`)
    for (const r of [big, unlimited]) if (r) console.log(`${String(RSS_N).padStart(6)}  ${s(r.ms)} s at c=${r.concurrency}, ${r.requestsPerWorker.toFixed(1)} req/Worker, RSS ${r.rssMiB} MiB (peak ${r.peakRssMiB})  (${r.memoryLimitMiB ? `${r.memoryLimitMiB} MiB memory limit` : 'no memory limit'}, heap limit ${r.heapLimitMiB} MiB)`)
    console.log('time: first Worker create → last SandboxClaim created (deps written and read back before each). ratio: controller / floor. *: the default concurrency. req/Worker, RSS: at the default; Kubernetes API requests (watch streams not counted); the controller process at the end, and its peak.')
    const sample = rows.at(-1)?.runs.at(-1)
    const perKind = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'none'
    const cpuText = (cpu: Record<string, number>) => `${Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} (total ${Object.values(cpu).reduce((a, b) => a + b, 0).toFixed(1)})`
    for (const row of rows) {
      console.log(`CPU ms per Worker at N=${row.n} — floor: ${cpuText(row.floorCpuMsPerWorker)}`)
      for (const run of row.runs) console.log(`CPU ms per Worker at N=${row.n} — controller at ${run.concurrency}: ${cpuText(run.cpuMsPerWorker)}`)
    }
    if (sample) console.log(`requests per Worker by kind at N=${sample.n}, concurrency ${sample.concurrency}: ${perKind(sample.requestsByKind)}; failed: ${perKind(sample.failuresByKind)}; reconciles per Worker ${sample.reconcilesPerWorker.toFixed(2)}; store operations per Worker ${sample.storeOpsPerWorker.toFixed(1)}`)
    console.log(JSON.stringify({ machine, rounds: ROUNDS, defaultConcurrency: DEFAULT_CONCURRENCY, concurrencies: CONCURRENCIES, applyConcurrency: APPLY_CONCURRENCY, rows, rss: big ?? null, rssRestart: restart ?? null, rssUnlimited: unlimited ?? null }))
  } finally {
    store.close()
    await kube.close()
    await s3.close()
    await cp.stop()
  }
}

await main()
