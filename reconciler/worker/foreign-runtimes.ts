// The runtime objects of a Worker that another controller made (docs/runtime-objects.md), from the
// reconcile's side: nothing is created while one exists (it is adopted instead, kept exactly as it
// is), an adopted runtime that has ended is removed so this controller's own can replace it, and
// Stopped, Sleeping and delete remove them all (uid precondition) before reporting they are done.

import type { Logger } from 'pino'
import { type BackendRuntime, WorkerPhase, type Worker } from '../../api/worker.ts'
import { adopt } from './adoption.ts'
import type { Result } from '../controller/controller.ts'
import { EventReason } from '../backend/events.ts'
import { workerKey } from '../backend/contract.ts'
import { describeRuntimeObject, type RuntimeObject, type RuntimeObjects } from './runtime-objects.ts'
import { ready, report, type ReportDeps, requeue, SETTLE_RECHECK_MS, TRANSITION_RECHECK_MS } from './report.ts'

/** What the foreign-runtime paths need. */
export interface ForeignDeps extends ReportDeps {
  runtimes: RuntimeObjects
  defaultBackendRuntime: BackendRuntime
  /** The sandbox claim timeout (Go duration), for reading an adopted #988 claim. */
  claimTimeout: string
  log: Logger
}

/** A Worker that some controller already ran (`status.phase` set) may have unlabelled legacy objects. */
const hasRun = (worker: Worker): boolean => Boolean(worker.status?.phase)

/** The Worker's runtime objects: asked of the API server by name too when it ran before (worker/runtime-objects.ts). */
function findAll(worker: Worker, d: ForeignDeps): Promise<RuntimeObject[]> | RuntimeObject[] {
  return hasRun(worker) ? d.runtimes.all(worker) : d.runtimes.cached(worker)
}

const names = (objects: readonly RuntimeObject[]): string => objects.map(describeRuntimeObject).join(', ')

/**
 * Nothing may be created while any runtime object of the Worker exists on any backend (docs/runtime-objects.md,
 * the invariant): another controller's runtime is adopted instead; this controller's own on another backend
 * (being deleted) is waited for. Undefined when the way is clear.
 */
export async function creationBlocked(worker: Worker, d: ForeignDeps, target: string): Promise<Result | undefined> {
  const all = await findAll(worker, d)
  const foreign = all.filter((o) => !o.own)
  if (foreign.length > 0) return runAdopted(worker, d, foreign)
  const elsewhere = all.filter((o) => o.backend !== target)
  if (elsewhere.length === 0) return undefined
  const text = `waiting for ${names(elsewhere)} to be deleted before the Worker starts on the ${target} backend`
  await report(worker, d, { phase: WorkerPhase.Pending, message: text, conditions: [ready('False', 'PreviousRuntimeExists', text)] })
  return { requeueAfterMs: SETTLE_RECHECK_MS }
}

/**
 * The Worker runs on a runtime another controller made: keep it exactly as it is and report it
 * (adoption.ts). Only an adopted runtime that has ended is removed, so that the next pass can
 * create this controller's own in its place.
 */
export async function runAdopted(worker: Worker, d: ForeignDeps, foreign: RuntimeObject[]): Promise<Result> {
  const adoption = adopt({ worker, foreign, defaultBackendRuntime: d.defaultBackendRuntime, now: d.clock.now(), claimTimeout: d.claimTimeout })
  const removed = await d.runtimes.remove(worker, adoption.finished)
  if (removed.length > 0) {
    d.events.record(worker, 'Normal', EventReason.LegacyRuntimeDeleted, `deleted the finished ${names(removed)}; this controller creates the Worker's runtime in its place`)
    d.log.info({ worker: workerKey(worker), objects: names(removed) }, 'deleted a finished runtime made by another controller')
  }
  await report(worker, d, adoption.status)
  if (removed.length > 0) return { requeueAfterMs: SETTLE_RECHECK_MS }
  return requeue(adoption.status.phase === WorkerPhase.Running ? undefined : TRANSITION_RECHECK_MS, adoption.state)
}

/**
 * The runtime objects other controllers made go with Stopped, Sleeping and delete (uid
 * precondition; an ambiguous one is left for the user). Returns those still there.
 */
export async function removeForeign(worker: Worker, d: ForeignDeps, exhaustive: boolean): Promise<RuntimeObject[]> {
  const foreign = (await (exhaustive ? findAll(worker, d) : d.runtimes.cached(worker))).filter((o) => !o.own)
  const removed = await d.runtimes.remove(worker, foreign)
  if (removed.length > 0) {
    d.events.record(worker, 'Normal', EventReason.LegacyRuntimeDeleted, `deleted ${names(removed)}, made by another controller`)
    d.log.info({ worker: workerKey(worker), objects: names(removed) }, 'deleted runtime objects made by another controller')
  }
  return foreign
}

/** What a Worker waiting for `left` to go tells its user. */
export function leftMessage(left: readonly RuntimeObject[]): string {
  const ambiguous = left.filter((o) => o.ambiguous)
  const text = `waiting for ${names(left)} to be deleted`
  if (ambiguous.length === 0) return text
  return `${text}; ${names(ambiguous)} could belong to several Workers of this name (it is in a legacy namespace with no owner reference), so this controller does not delete it: delete it by hand`
}
