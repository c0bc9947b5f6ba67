// `npm run bench:reconcile`: N sandbox Workers applied at once to a real control plane (the test
// harness) with a real MinIO; the time until every SandboxClaim exists with its deps written, for
// the controller (its own process: controller-child.ts, API requests counted, RSS its own) at the
// default AGENTTEAMS_MAX_CONCURRENT_RECONCILES and at a higher one, next to the floor
// (reconcile-floor.ts). Claims are never fulfilled: nothing past the claim is measured. Then RSS
// with 5,000 Workers: under the Helm chart's memory limit (a real memory cgroup with the chart's
// default `resources.limits.memory`, from which Node sizes its heap as it does in a pod), then a
// fresh controller started over those 5,000 Workers in the same limit (a restart or a failover:
// until every Worker was reconciled once), and with no limit at all on this host (Node sizes its heap from the host's RAM). Prints a table,
// then one JSON line. A script: it asserts nothing.
// Each size runs BENCH_ROUNDS times (floor and controllers interleaved) and reports the medians.
//   BENCH_N=200,500,1000  BENCH_ROUNDS=3  BENCH_HIGH_CONCURRENCY=20  BENCH_RSS_N=5000 (0: skip)  BENCH_APPLY_CONCURRENCY=20

import { readFileSync } from 'node:fs'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { parse } from 'yaml'
import { loadConfig } from '../config/config.ts'
import { type Worker, workerPath } from '../api/worker.ts'
import { S3DepsStore, type S3DepsStoreOptions } from '../reconciler/deps/s3.ts'
import { createKubeClient, type KubeClient } from '../reconciler/controller/kube.ts'
import { claimPath } from '../test/e2e/sandbox-kit.ts'
import { kubeconfigFor } from '../test/e2e/reconciler-kit.ts'
import type { ControllerStats } from '../test/faults/controller-child.ts'
import { startControllerProcess } from '../test/faults/controller-process.ts'
import { startControlPlane } from '../localcluster/control-plane.ts'
import { installCrds } from '../localcluster/crds.ts'
import { MANIFESTS, OPENKRUISE_CRDS } from '../localcluster/manifests.ts'
import { createNamespace } from '../test/harness/namespaces.ts'
import { createMemoryCgroup, type MemoryCgroup } from '../test/harness/memory-cgroup.ts'
import { startS3Server } from '../test/harness/s3-server.ts'
import { workerManifest } from '../localcluster/workers.ts'
import { cpuMsPerWorker, type Processes, readCpu } from './cpu.ts'
import { describeMachine, machineLine } from './machine.ts'
import { forEachLimit } from './pool.ts'
import { runFloor } from './reconcile-floor.ts'

const SIZES = (process.env['BENCH_N'] ?? '200,500,1000').split(',').map(Number).filter((n) => n > 0)
const DEFAULT_CONCURRENCY = loadConfig({}).maxConcurrentReconciles
const HIGH_CONCURRENCY = Number(process.env['BENCH_HIGH_CONCURRENCY'] ?? 20)
const RSS_N = Number(process.env['BENCH_RSS_N'] ?? 5000)
/** Clients creating Workers at once, like `kubectl apply` from 20 terminals (and the floor's parallelism). */
const APPLY_CONCURRENCY = Number(process.env['BENCH_APPLY_CONCURRENCY'] ?? 20)
/** Per-run deadline; a run that misses it is reported, not hidden. */
const RUN_TIMEOUT_MS = Number(process.env['BENCH_RUN_TIMEOUT_S'] ?? 1200) * 1000
const MiB = (bytes: number) => Math.round(bytes / 1048576)
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

/** Realistic sandbox Workers: a runtime and a few env entries, names unique per run (the bucket is shared). */
function manifests(namespace: string, tag: string, n: number): Worker[] {
  return Array.from({ length: n }, (_, i) =>
    workerManifest(namespace, `${tag}-${String(i).padStart(5, '0')}`, {
      backendRuntime: 'sandbox',
      runtime: 'openclaw',
      env: { LOG_LEVEL: 'info', OPENCLAW_MODEL: 'qwen-max', OPENCLAW_MAX_TURNS: '40', TZ: 'Europe/Berlin', OPENCLAW_WORKSPACE: '/workspace' },
    }))
}

interface ControllerRun {
  n: number
  /** Where its Workers are (a restart run reuses them). */
  namespace: string
  concurrency: number
  ms: number
  requestsPerWorker: number
  requestsByKind: Record<string, number>
  /** Failed API requests per Worker by `<kind> <HTTP status>` (a 409 is a write conflict, retried). */
  failuresByKind: Record<string, number>
  /** Reconciles per Worker until the measurement ended (any result). */
  reconcilesPerWorker: number
  /** CPU milliseconds per Worker by process, from the first Worker create to the last claim. */
  cpuMsPerWorker: Record<string, number>
  storeOpsPerWorker: number
  rssMiB: number
  peakRssMiB: number
  /** After a full GC at the end: what the caches and the rest really hold. */
  rssAfterGcMiB: number
  heapAfterGcMiB: number
  heapTotalAfterGcMiB: number
  /** V8's heap limit in the controller process (sized from the memory cgroup's limit when it runs in one). */
  heapLimitMiB: number
  /** The memory cgroup limit the controller ran under, if any. */
  memoryLimitMiB: number | null
  externalAfterGcMiB: number
  /** V8 heap spaces after the GC: `used/committed` MiB. */
  spacesAfterGcMiB: Record<string, string>
  claims: number
  depsObjects: number
  duplicateCreates: number
}

/**
 * A fresh controller started over the Workers a run left behind: what a restart or a failover
 * costs. `ms` runs from the process start until every Worker was reconciled once and the queue
 * was empty.
 */
type RestartRun = Pick<ControllerRun, 'n' | 'concurrency' | 'ms' | 'reconcilesPerWorker' | 'requestsPerWorker' | 'requestsByKind' | 'storeOpsPerWorker' | MemoryField>

/** The memory figures of a run: at the end, the peak, and after a full GC. */
type MemoryField = 'rssMiB' | 'peakRssMiB' | 'rssAfterGcMiB' | 'heapAfterGcMiB' | 'heapTotalAfterGcMiB' | 'heapLimitMiB' | 'memoryLimitMiB'

function memoryFigures(stats: ControllerStats, collected: ControllerStats, cgroup: MemoryCgroup | undefined): Pick<ControllerRun, MemoryField> {
  return {
    rssMiB: MiB(stats.rss),
    peakRssMiB: MiB(stats.maxRss),
    rssAfterGcMiB: MiB(collected.rss),
    heapAfterGcMiB: MiB(collected.heapUsed),
    heapTotalAfterGcMiB: MiB(collected.heapTotal),
    heapLimitMiB: MiB(collected.heapLimit),
    memoryLimitMiB: cgroup?.limitMiB ?? null,
  }
}

function describeRestart(r: RestartRun): string {
  return `restart over ${r.n} Workers (concurrency ${r.concurrency}): settled in ${(r.ms / 1000).toFixed(2)} s, ${r.reconcilesPerWorker.toFixed(2)} reconciles/Worker, ${r.requestsPerWorker.toFixed(2)} API requests/Worker (${Object.entries(r.requestsByKind).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'none'}), ${r.storeOpsPerWorker.toFixed(2)} store operations/Worker, RSS ${r.rssMiB} MiB (peak ${r.peakRssMiB}); after a full GC: RSS ${r.rssAfterGcMiB}, heap ${r.heapAfterGcMiB} used of ${r.heapTotalAfterGcMiB}`
}

/** One progress line per controller run, with the memory breakdown that explains its RSS. */
function describeRun(run: ControllerRun): string {
  const spaces = Object.entries(run.spacesAfterGcMiB).filter(([, v]) => v !== '0/0').map(([k, v]) => `${k.replace('_space', '')} ${v}`).join(', ')
  return `controller (concurrency ${run.concurrency}) ${(run.ms / 1000).toFixed(2)} s, ${run.claims} claims, ${run.depsObjects} deps objects, ${run.requestsPerWorker.toFixed(1)} API requests/Worker, RSS ${run.rssMiB} MiB (peak ${run.peakRssMiB}); after a full GC: RSS ${run.rssAfterGcMiB}, heap ${run.heapAfterGcMiB} used of ${run.heapTotalAfterGcMiB}, external ${run.externalAfterGcMiB} (V8 spaces used/committed MiB: ${spaces})`
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

  const controllerRun = async (n: number, concurrency: number, cgroup?: MemoryCgroup, round = 0): Promise<ControllerRun> => {
    const tag = `c${n}x${concurrency}${cgroup ? `m${cgroup.limitMiB}` : ''}${round ? `r${round}` : ''}`
    const ns = await createNamespace(cp.api, `bench-${tag}`)
    const child = await startControllerProcess({ kubeconfigPath: cp.kubeconfigPath, namespace: ns, s3: s3Options, concurrency, logs: 'discard' }, NODE_FLAGS, cgroup?.execPath)
    try {
      for (let s = await child.stats(); !s.ready; s = await child.stats()) await new Promise((r) => setTimeout(r, 100))
      const base = await child.stats()
      const processes: Processes = { ...machineProcesses(), controller: child.pid }
      const cpuBefore = readCpu(processes)
      const started = Date.now()
      await forEachLimit(manifests(ns, tag, n), APPLY_CONCURRENCY, async (w) => void (await kube.request({ method: 'POST', path: workerPath(ns), body: w })))
      let stats = await child.stats()
      for (;;) {
        const made = new Set(stats.claims.filter((c) => c.outcome === 'created').map((c) => c.name))
        if (made.size >= n) break
        if (Date.now() - started > RUN_TIMEOUT_MS) throw new Error(`${tag}: only ${made.size}/${n} claims after ${RUN_TIMEOUT_MS / 1000} s`)
        await new Promise((r) => setTimeout(r, 250))
        stats = await child.stats()
      }
      const cpu = cpuMsPerWorker(cpuBefore, readCpu(processes), n)
      const created = stats.claims.filter((c) => c.outcome === 'created')
      const ms = Math.max(...created.map((c) => c.at)) - started
      const collected = await child.stats(true)
      const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
      const perWorker = (now: Record<string, number>, before: Record<string, number>) =>
        Object.fromEntries(Object.entries(now).map(([k, v]) => [k, (v - (before[k] ?? 0)) / n]).filter(([, v]) => (v as number) > 0))
      const byKind = perWorker(stats.requests, base.requests)
      return {
        n,
        namespace: ns,
        concurrency,
        ms,
        requestsPerWorker: (total(stats.requests) - total(base.requests)) / n,
        requestsByKind: byKind,
        failuresByKind: perWorker(stats.failures, base.failures),
        reconcilesPerWorker: (stats.reconciles - base.reconciles) / n,
        cpuMsPerWorker: cpu,
        storeOpsPerWorker: (total(stats.store) - total(base.store)) / n,
        ...memoryFigures(stats, collected, cgroup),
        externalAfterGcMiB: MiB(collected.external),
        spacesAfterGcMiB: Object.fromEntries(Object.entries(collected.spaces).map(([k, v]) => [k, `${MiB(v.used)}/${MiB(v.committed)}`])),
        claims: await countClaims(ns),
        depsObjects: await countDeps(tag),
        duplicateCreates: created.length - new Set(created.map((c) => c.name)).size,
      }
    } finally {
      await child.stop()
    }
  }

  const restartRun = async (run: ControllerRun, cgroup?: MemoryCgroup): Promise<RestartRun> => {
    const started = Date.now()
    const child = await startControllerProcess({ kubeconfigPath: cp.kubeconfigPath, namespace: run.namespace, s3: s3Options, concurrency: run.concurrency, logs: 'discard' }, NODE_FLAGS, cgroup?.execPath)
    try {
      let stats = await child.stats()
      let settledAt: number | undefined
      // Settled: every Worker reconciled at least once, nothing queued, no request for a second.
      for (let quietSince = Date.now(), lastRequests = -1; ; ) {
        if (Date.now() - started > RUN_TIMEOUT_MS) throw new Error(`restart: only ${stats.reconciles}/${run.n} reconciles after ${RUN_TIMEOUT_MS / 1000} s`)
        await new Promise((r) => setTimeout(r, 250))
        stats = await child.stats()
        const requests = Object.values(stats.requests).reduce((a, b) => a + b, 0)
        if (requests !== lastRequests) [quietSince, lastRequests] = [Date.now(), requests]
        if (stats.ready && stats.reconciles >= run.n && stats.queueDepth === 0) {
          settledAt ??= Date.now()
          if (Date.now() - quietSince >= 1000) break
        } else settledAt = undefined
      }
      const collected = await child.stats(true)
      const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
      return {
        n: run.n,
        concurrency: run.concurrency,
        ms: (settledAt ?? Date.now()) - started,
        reconcilesPerWorker: stats.reconciles / run.n,
        requestsPerWorker: total(stats.requests) / run.n,
        requestsByKind: Object.fromEntries(Object.entries(stats.requests).map(([k, v]) => [k, v / run.n])),
        storeOpsPerWorker: total(stats.store) / run.n,
        ...memoryFigures(stats, collected, cgroup),
      }
    } finally {
      await child.stop()
    }
  }

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
        for (const concurrency of [...new Set([DEFAULT_CONCURRENCY, HIGH_CONCURRENCY])]) {
          const run = await controllerRun(n, concurrency, undefined, round)
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
        big = await controllerRun(RSS_N, HIGH_CONCURRENCY, cgroup)
        console.log(`# N=${RSS_N} in a ${cgroup.limitMiB} MiB memory cgroup: ${describeRun(big)}`)
        // Then a new controller over those Workers, in the same limit: its start-up is the peak.
        restart = await restartRun(big, cgroup)
        console.log(`# N=${RSS_N} in a ${cgroup.limitMiB} MiB memory cgroup: ${describeRestart(restart)}`)
      } finally {
        cgroup.remove()
      }
      unlimited = await controllerRun(RSS_N, HIGH_CONCURRENCY)
      console.log(`# N=${RSS_N} without a memory limit (heap sized from this host's RAM): ${describeRun(unlimited)}`)
    }

    const s = (ms: number) => (ms / 1000).toFixed(2).padStart(8)
    console.log(`\n${'N'.padStart(6)}${'floor s'.padStart(9)}${`ctl c=${DEFAULT_CONCURRENCY} s`.padStart(13)}${'ratio'.padStart(7)}${`ctl c=${HIGH_CONCURRENCY} s`.padStart(13)}${'ratio'.padStart(7)}${'req/Worker'.padStart(12)}${'floor req'.padStart(11)}${'RSS MiB'.padStart(9)}${'peak'.padStart(6)}`)
    for (const row of rows) {
      const [low, high] = [row.runs.find((r) => r.concurrency === DEFAULT_CONCURRENCY), row.runs.find((r) => r.concurrency === HIGH_CONCURRENCY)]
      const ratio = (r: ControllerRun | undefined) => (r ? (r.ms / row.floorMs).toFixed(2) : '-').padStart(7)
      console.log(`${String(row.n).padStart(6)}${s(row.floorMs)} ${low ? s(low.ms).padStart(12) : '-'.padStart(12)}${ratio(low)} ${high ? s(high.ms).padStart(12) : '-'.padStart(12)}${ratio(high)}${(high ?? low)!.requestsPerWorker.toFixed(1).padStart(12)}${row.floorRequestsPerWorker.toFixed(1).padStart(11)}${String((high ?? low)!.rssMiB).padStart(9)}${String((high ?? low)!.peakRssMiB).padStart(6)}`)
    }
    if (restart) console.log(`${String(RSS_N).padStart(6)}  restart, settled in ${(restart.ms / 1000).toFixed(2)} s, ${restart.requestsPerWorker.toFixed(1)} req/Worker, RSS ${restart.rssMiB} MiB (peak ${restart.peakRssMiB})`)
    for (const r of [big, unlimited]) if (r) console.log(`${String(RSS_N).padStart(6)}${'-'.padStart(9)} ${'-'.padStart(12)}${'-'.padStart(7)} ${s(r.ms).padStart(12)}${'-'.padStart(7)}${r.requestsPerWorker.toFixed(1).padStart(12)}${'-'.padStart(11)}${String(r.rssMiB).padStart(9)}${String(r.peakRssMiB).padStart(6)}  (${r.memoryLimitMiB ? `${r.memoryLimitMiB} MiB memory limit` : 'no memory limit'}, heap limit ${r.heapLimitMiB} MiB)`)
    console.log('time: first Worker create → last SandboxClaim created (deps written and read back before each). ratio: controller / floor. req/Worker: Kubernetes API requests (watch streams not counted). RSS: the controller process at the end, and its peak.')
    const sample = rows.at(-1)?.runs.at(-1)
    const perKind = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'none'
    const cpuText = (cpu: Record<string, number>) => `${Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} (total ${Object.values(cpu).reduce((a, b) => a + b, 0).toFixed(1)})`
    for (const row of rows) {
      console.log(`CPU ms per Worker at N=${row.n} — floor: ${cpuText(row.floorCpuMsPerWorker)}`)
      for (const run of row.runs) console.log(`CPU ms per Worker at N=${row.n} — controller at ${run.concurrency}: ${cpuText(run.cpuMsPerWorker)}`)
    }
    if (sample) console.log(`requests per Worker by kind at N=${sample.n}, concurrency ${sample.concurrency}: ${perKind(sample.requestsByKind)}; failed: ${perKind(sample.failuresByKind)}; reconciles per Worker ${sample.reconcilesPerWorker.toFixed(2)}; store operations per Worker ${sample.storeOpsPerWorker.toFixed(1)}`)
    console.log(JSON.stringify({ machine, rounds: ROUNDS, defaultConcurrency: DEFAULT_CONCURRENCY, highConcurrency: HIGH_CONCURRENCY, applyConcurrency: APPLY_CONCURRENCY, rows, rss: big ?? null, rssRestart: restart ?? null, rssUnlimited: unlimited ?? null }))
  } finally {
    store.close()
    await kube.close()
    await s3.close()
    await cp.stop()
  }
}

await main()
