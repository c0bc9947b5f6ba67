// The machine a benchmark ran on, for its printed header and the README results table: cores,
// CPU model, memory, load average at the start, Node version, date. Figures only mean something
// next to these (a 2-core shared VM is not a 16-core workstation).

import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'

export interface Machine {
  cores: number
  cpu: string
  memoryGiB: number
  /** 1-minute load average when the benchmark started (other work on a shared machine). */
  load1: number
  node: string
  date: string
}

/** Describes this machine now. */
export function describeMachine(): Machine {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  }
}

/** One line for a benchmark's header. */
export function machineLine(m: Machine = describeMachine()): string {
  return `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, load ${m.load1}, Node ${m.node}, ${m.date}`
}
