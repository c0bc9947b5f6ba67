// Kubernetes Events (core/v1) on a Worker for the steps a user cares about, so `kubectl describe
// worker` tells the story. Best effort: a failed Event is logged, never fails a reconcile. Messages
// are built by the reconciler from names and states only: never an env value or a token.

import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { metaTime } from '../../api/meta.ts'
import { API_VERSION, KIND, type Worker } from '../../api/worker.ts'
import type { Clock } from '../controller/clock.ts'
import { describeError, type KubeClient, resourcePath } from '../controller/kube.ts'

export type EventType = 'Normal' | 'Warning'

/** Reasons this controller records (CamelCase, as Kubernetes reasons are). */
export const EventReason = {
  RuntimeCreated: 'RuntimeCreated',
  Running: 'Running',
  BackendSwitchBlocked: 'BackendSwitchBlocked',
  BackendUnavailable: 'BackendUnavailable',
  Sleeping: 'Sleeping',
  Stopped: 'Stopped',
  Failed: 'Failed',
  CleanedUp: 'CleanedUp',
  /** The Worker runs on a runtime another controller made, kept as it is (docs/runtime-objects.md). */
  RuntimeAdopted: 'RuntimeAdopted',
  /** Another controller made a second runtime beside this controller's own (reported, not deleted). */
  ForeignRuntimeBeside: 'ForeignRuntimeBeside',
  /** A runtime object another controller made was deleted (stop, sleep, delete, or it had ended). */
  LegacyRuntimeDeleted: 'LegacyRuntimeDeleted',
} as const

/** Records an Event about a Worker (fire and forget). */
export interface EventRecorder {
  record(worker: Worker, type: EventType, reason: string, message: string): void
}

export interface EventRecorderOptions {
  kube: KubeClient
  /** `source.component` / `reportingComponent`: the controller name. */
  component: string
  /** `reportingInstance`: this process's identity. */
  instance: string
  clock: Clock
  log: Logger
}

/** Kubernetes caps an Event message at 1 KiB in events.k8s.io/v1; keep the same bound here. */
const MAX_MESSAGE = 1024

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  return {
    record(worker, type, reason, message) {
      const ns = worker.metadata?.namespace ?? 'default'
      const now = metaTime(options.clock.now())
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${worker.metadata?.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: KIND,
          name: worker.metadata?.name,
          namespace: ns,
          uid: worker.metadata?.uid,
          resourceVersion: worker.metadata?.resourceVersion,
        },
        reason,
        message: message.slice(0, MAX_MESSAGE),
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: options.component },
        reportingComponent: options.component,
        reportingInstance: options.instance,
      }
      options.kube.request({ method: 'POST', path: resourcePath({ group: '', version: 'v1', plural: 'events', namespace: ns }), body }).catch((error) => {
        options.log.debug({ worker: `${ns}/${worker.metadata?.name}`, reason, err: describeError(error) }, 'could not record an event')
      })
    },
  }
}
