// The controller runs of `npm run bench:reconcile` (reconcile.ts): a burst of N sandbox Workers
// applied to a fresh controller process (test/faults/controller-child.ts counts its API requests,
// reconciles and store operations and reports its memory) until every claim exists, and a fresh
// controller started over the Workers a run left (a restart or a failover), with what each cost.

import type { S3DepsStoreOptions } from '../reconciler/deps/s3.ts'
import type { KubeClient } from '../reconciler/controller/kube.ts'
import { type Worker, workerPath } from '../api/worker.ts'
import type { ControlPlane } from '../localcluster/control-plane.ts'
import { workerManifest } from '../localcluster/workers.ts'
import type { ControllerStats } from '../test/faults/controller-child.ts'
import { startControllerProcess } from '../test/faults/controller-process.ts'
import type { MemoryCgroup } from '../test/harness/memory-cgroup.ts'
import { createNamespace } from '../test/harness/namespaces.ts'
import { cpuMsPerWorker, type Processes, readCpu } from './cpu.ts'
import { forEachLimit } from './pool.ts'

const MiB = (bytes: number) => Math.round(bytes / 1048576)

/** What every run uses: the control plane, the store, the counters, the settings of reconcile.ts. */
export interface BenchRig {
  cp: ControlPlane
  kube: KubeClient
  s3Options: S3DepsStoreOptions
  /** Everything that runs on the machine's cores during a run (the controller is added per run). */
  machineProcesses: () => Processes
  countClaims: (namespace: string) => Promise<number>
  countDeps: (tag: string) => Promise<number>
  nodeFlags: string[]
  timeoutMs: number
  applyConcurrency: number
}

/** Realistic sandbox Workers: a runtime and a few env entries, names unique per run (the bucket is shared). */
export function manifests(namespace: string, tag: string, n: number): Worker[] {
  return Array.from({ length: n }, (_, i) =>
    workerManifest(namespace, `${tag}-${String(i).padStart(5, '0')}`, {
      backendRuntime: 'sandbox',
      runtime: 'openclaw',
      env: { LOG_LEVEL: 'info', OPENCLAW_MODEL: 'qwen-max', OPENCLAW_MAX_TURNS: '40', TZ: 'Europe/Berlin', OPENCLAW_WORKSPACE: '/workspace' },
    }))
}

export interface ControllerRun {
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
export type RestartRun = Pick<ControllerRun, 'n' | 'concurrency' | 'ms' | 'reconcilesPerWorker' | 'requestsPerWorker' | 'requestsByKind' | 'storeOpsPerWorker' | MemoryField>

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

export function describeRestart(r: RestartRun): string {
  return `restart over ${r.n} Workers (concurrency ${r.concurrency}): settled in ${(r.ms / 1000).toFixed(2)} s, ${r.reconcilesPerWorker.toFixed(2)} reconciles/Worker, ${r.requestsPerWorker.toFixed(2)} API requests/Worker (${Object.entries(r.requestsByKind).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'none'}), ${r.storeOpsPerWorker.toFixed(2)} store operations/Worker, RSS ${r.rssMiB} MiB (peak ${r.peakRssMiB}); after a full GC: RSS ${r.rssAfterGcMiB}, heap ${r.heapAfterGcMiB} used of ${r.heapTotalAfterGcMiB}`
}

/** One progress line per controller run, with the memory breakdown that explains its RSS. */
export function describeRun(run: ControllerRun): string {
  const spaces = Object.entries(run.spacesAfterGcMiB).filter(([, v]) => v !== '0/0').map(([k, v]) => `${k.replace('_space', '')} ${v}`).join(', ')
  return `controller (concurrency ${run.concurrency}) ${(run.ms / 1000).toFixed(2)} s, ${run.claims} claims, ${run.depsObjects} deps objects, ${run.requestsPerWorker.toFixed(1)} API requests/Worker, RSS ${run.rssMiB} MiB (peak ${run.peakRssMiB}); after a full GC: RSS ${run.rssAfterGcMiB}, heap ${run.heapAfterGcMiB} used of ${run.heapTotalAfterGcMiB}, external ${run.externalAfterGcMiB} (V8 spaces used/committed MiB: ${spaces})`
}

/** N Workers applied at once to a fresh controller process at `concurrency`, until every claim exists. */
export async function controllerRun(rig: BenchRig, n: number, concurrency: number, cgroup?: MemoryCgroup, round = 0): Promise<ControllerRun> {
  const tag = `c${n}x${concurrency}${cgroup ? `m${cgroup.limitMiB}` : ''}${round ? `r${round}` : ''}`
  const ns = await createNamespace(rig.cp.api, `bench-${tag}`)
  const child = await startControllerProcess({ kubeconfigPath: rig.cp.kubeconfigPath, namespace: ns, s3: rig.s3Options, concurrency, logs: 'discard' }, rig.nodeFlags, cgroup?.execPath)
  try {
    for (let s = await child.stats(); !s.ready; s = await child.stats()) await new Promise((r) => setTimeout(r, 100))
    const base = await child.stats()
    const processes: Processes = { ...rig.machineProcesses(), controller: child.pid }
    const cpuBefore = readCpu(processes)
    const started = Date.now()
    await forEachLimit(manifests(ns, tag, n), rig.applyConcurrency, async (w) => void (await rig.kube.request({ method: 'POST', path: workerPath(ns), body: w })))
    let stats = await child.stats()
    for (;;) {
      const made = new Set(stats.claims.filter((c) => c.outcome === 'created').map((c) => c.name))
      if (made.size >= n) break
      if (Date.now() - started > rig.timeoutMs) throw new Error(`${tag}: only ${made.size}/${n} claims after ${rig.timeoutMs / 1000} s`)
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
      claims: await rig.countClaims(ns),
      depsObjects: await rig.countDeps(tag),
      duplicateCreates: created.length - new Set(created.map((c) => c.name)).size,
    }
  } finally {
    await child.stop()
  }
}

/** A fresh controller started over the Workers `run` left behind, until each was reconciled once. */
export async function restartRun(rig: BenchRig, run: ControllerRun, cgroup?: MemoryCgroup): Promise<RestartRun> {
  const started = Date.now()
  const child = await startControllerProcess({ kubeconfigPath: rig.cp.kubeconfigPath, namespace: run.namespace, s3: rig.s3Options, concurrency: run.concurrency, logs: 'discard' }, rig.nodeFlags, cgroup?.execPath)
  try {
    let stats = await child.stats()
    let settledAt: number | undefined
    // Settled: every Worker reconciled at least once, nothing queued, no request for a second.
    for (let quietSince = Date.now(), lastRequests = -1; ; ) {
      if (Date.now() - started > rig.timeoutMs) throw new Error(`restart: only ${stats.reconciles}/${run.n} reconciles after ${rig.timeoutMs / 1000} s`)
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
