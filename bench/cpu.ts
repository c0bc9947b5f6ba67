// CPU time by process, for the benchmarks: where the machine's CPU went during a run, read from
// /proc/<pid>/stat (user + system time of all the process's threads) and, for the bench process
// itself, process.cpuUsage(). Linux only; a process that is gone reads as 0.

import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's utime and stime (USER_HZ; 100 on every Linux architecture Node supports). */
const TICKS_PER_SECOND = 100

/** User + system CPU seconds `pid` has used so far; 0 when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) — utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** The processes of a run by name; `self` is this process. */
export type Processes = Record<string, number | 'self' | undefined>

/** A reading of every process's CPU seconds. */
export function readCpu(processes: Processes): Record<string, number> {
  const self = process.cpuUsage()
  return Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, pid === 'self' ? (self.user + self.system) / 1e6 : cpuSeconds(pid)]))
}

/** CPU milliseconds per Worker by process between two readings. */
export function cpuMsPerWorker(before: Record<string, number>, after: Record<string, number>, workers: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, Math.round(((after[name]! - (before[name] ?? 0)) * 1000) / workers * 10) / 10]))
}
