// How a failed deps delivery is reported (docs/deps.md, docs/deps.md): a DepsError with a
// CamelCase reason for the Worker's DepsMaterialized condition, and a message
// `<verb> deps of Worker <ns/name>: <cause>` that never holds a value or a token.

import type { Worker } from '../../api/worker.ts'
import { DepsError, workerKey } from '../backend/contract.ts'
import { DepsStoreError } from '../deps/store.ts'

/** DepsMaterialized=False reasons. */
export const DepsReason = {
  InvalidWorkerName: 'InvalidWorkerName',
  TokenRequestFailed: 'TokenRequestFailed',
  StoreUnavailable: 'StoreUnavailable',
  StoreRefused: 'StoreRefused',
  StoreFailed: 'StoreFailed',
  VerifyFailed: 'VerifyFailed',
  /** The folder `workers-deps/<worker>/` belongs to a live Worker of the same name in another namespace. */
  DepsOwnedByAnotherWorker: 'DepsOwnedByAnotherWorker',
  /** The recorded owner could not be looked up in the API server. */
  OwnerCheckFailed: 'OwnerCheckFailed',
} as const

/** The condition reason of a failed store call: by the store's error code. */
export function storeReason(cause: unknown): string {
  if (!(cause instanceof DepsStoreError)) return DepsReason.StoreFailed
  if (cause.code === 'Unavailable') return DepsReason.StoreUnavailable
  if (cause.code === 'Refused') return DepsReason.StoreRefused
  return DepsReason.StoreFailed
}

/** What a deps operation was doing when it failed, as the message's verb. */
export type DepsVerb = 'materialize' | 'remove'

/** The DepsError of `worker`: `detail` when given, else the cause's message. */
export function depsFailure(worker: Worker, reason: string, cause: unknown, detail?: string, verb: DepsVerb = 'materialize'): DepsError {
  const text = detail ?? (cause instanceof Error ? cause.message : String(cause))
  return new DepsError(`${verb} deps of Worker ${workerKey(worker)}: ${text}`, reason, { cause })
}
