// Leader election on a coordination.k8s.io/v1 Lease, the client-go algorithm
// (k8s.io/client-go/tools/leaderelection): acquire when the record is free or expired by our own
// clock, renew every retry period, step down when renewal fails past the renew deadline, release on stop.

import type { V1ObjectMeta } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { systemClock, sleep, type Clock } from './clock.ts'
import { describeError, isAlreadyExists, isConflict, isNotFound, type KubeClient, resourcePath } from './kube.ts'
import type { ReconcilerMetrics } from './metrics.ts'

/** controller-runtime's defaults (pkg/manager/internal.go): 15 s / 10 s / 2 s. */
export const LEASE_DURATION_MS = 15_000
export const RENEW_DEADLINE_MS = 10_000
export const RETRY_PERIOD_MS = 2_000
/** client-go's JitterFactor for the candidate's retry period (leaderelection.go). */
const JITTER_FACTOR = 1.2

const SHUTTING_DOWN = 'shutting down'

type Attempt = 'held' | 'other' | 'failed'

interface LeaseSpec {
  holderIdentity?: string | null
  leaseDurationSeconds?: number
  acquireTime?: string | null
  renewTime?: string | null
  leaseTransitions?: number
}
interface Lease {
  apiVersion?: string
  kind?: string
  metadata: Pick<V1ObjectMeta, 'name' | 'namespace' | 'resourceVersion'>
  spec?: LeaseSpec
}

export interface LeaderElectorOptions {
  kube: KubeClient
  namespace: string
  name: string
  /** Unique per process: hostname plus a random suffix, as client-go callers do. */
  identity: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  log: Logger
  clock?: Clock
  random?: () => number
  metrics?: ReconcilerMetrics | undefined
  /** Called when this instance becomes leader. Not awaited: the lease keeps being renewed meanwhile. */
  onStartedLeading: () => void
  /** Called when leadership ends (lost or released); must resolve only when no work is in flight. */
  onStoppedLeading: () => Promise<void>
}

/** Lease timestamps are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** Campaigns for, holds and releases one Lease. */
export class LeaderElector {
  private readonly o: LeaderElectorOptions
  private readonly clock: Clock
  private readonly leaseMs: number
  private readonly abort = new AbortController()
  private leading = false
  private known = false
  private observed: { key: string; at: number } | undefined
  private lastRenewAt = 0
  private loop: Promise<void> | undefined

  constructor(options: LeaderElectorOptions) {
    this.o = options
    this.clock = options.clock ?? systemClock
    this.leaseMs = options.leaseDurationMs ?? LEASE_DURATION_MS
  }

  /** Starts campaigning in the background. */
  start(): void {
    this.loop ??= this.run()
  }

  isLeader(): boolean {
    return this.leading
  }

  /** True once the API server has answered one attempt (we lead, or know who does). */
  stateKnown(): boolean {
    return this.known
  }

  /** Stops campaigning; if leading, stops the work (awaited) and then releases the Lease. */
  async stop(): Promise<void> {
    this.abort.abort()
    await this.loop
    if (!this.leading) return
    await this.stepDown(SHUTTING_DOWN)
    await this.release()
  }

  private async run(): Promise<void> {
    const retry = this.o.retryPeriodMs ?? RETRY_PERIOD_MS
    const deadline = this.o.renewDeadlineMs ?? RENEW_DEADLINE_MS
    const random = this.o.random ?? Math.random
    while (!this.abort.signal.aborted) {
      let outcome: Attempt = 'failed'
      try {
        outcome = await this.tryAcquireOrRenew()
        this.known = true
      } catch (error) {
        this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}`, err: describeError(error) }, 'lease attempt failed')
      }
      if (this.abort.signal.aborted) break
      const now = this.clock.now()
      if (outcome === 'held') {
        this.lastRenewAt = now
        if (!this.leading) {
          this.leading = true
          this.o.metrics?.setLeader(true)
          this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader')
          this.o.onStartedLeading()
        }
      } else if (this.leading && outcome === 'other') {
        await this.stepDown('another instance holds the lease')
      } else if (this.leading && now - this.lastRenewAt >= deadline) {
        await this.stepDown('failed to renew the lease within the renew deadline')
      }
      const wait = this.leading ? retry : retry * (1 + random() * (JITTER_FACTOR - 1))
      await sleep(this.clock, wait, this.abort.signal)
    }
  }

  private async stepDown(why: string): Promise<void> {
    this.leading = false
    this.o.metrics?.setLeader(false)
    const level = why === SHUTTING_DOWN ? 'info' : 'warn'
    this.o.log[level]({ lease: `${this.o.namespace}/${this.o.name}`, why }, 'stopped leading')
    try {
      await this.o.onStoppedLeading()
    } catch (error) {
      this.o.log.error({ err: describeError(error) }, 'stopping the work after losing the lease failed')
    }
  }

  private path(name?: string): string {
    return resourcePath({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace: this.o.namespace, name })
  }

  private spec(now: number, previous: LeaseSpec | undefined): LeaseSpec {
    const ours = previous?.holderIdentity === this.o.identity
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: ours && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (ours || !previous ? 0 : 1),
    }
  }

  /** One attempt: we hold the Lease, another live holder does, or a write lost a race. Throws on API errors. */
  private async tryAcquireOrRenew(): Promise<Attempt> {
    const now = this.clock.now()
    let lease: Lease
    try {
      lease = await this.o.kube.request<Lease>({ method: 'GET', path: this.path(this.o.name) })
    } catch (error) {
      if (!isNotFound(error)) throw error
      try {
        await this.o.kube.request({
          method: 'POST',
          path: this.path(),
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: this.spec(now, undefined) },
        })
        return 'held'
      } catch (createError) {
        if (isAlreadyExists(createError)) return 'failed'
        throw createError
      }
    }
    const spec = lease.spec ?? {}
    // Expiry is judged by when *we* saw the record change, never by the holder's clock.
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`
    if (this.observed?.key !== key) this.observed = { key, at: now }
    const holder = spec.holderIdentity ?? ''
    const duration = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000
    if (holder !== '' && holder !== this.o.identity && this.observed.at + duration > now) return 'other'
    try {
      await this.o.kube.request({ method: 'PUT', path: this.path(this.o.name), body: { ...lease, spec: { ...spec, ...this.spec(now, spec) } } })
      this.observed = undefined
      return 'held'
    } catch (error) {
      if (isConflict(error)) return 'failed'
      throw error
    }
  }

  /** Gives the Lease up so another candidate takes over at once (client-go ReleaseOnCancel). */
  private async release(): Promise<void> {
    try {
      const lease = await this.o.kube.request<Lease>({ method: 'GET', path: this.path(this.o.name) })
      if (lease.spec?.holderIdentity !== this.o.identity) return
      const now = microTime(this.clock.now())
      await this.o.kube.request({
        method: 'PUT',
        path: this.path(this.o.name),
        body: { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
      })
      this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}` }, 'released the lease')
    } catch (error) {
      this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}`, err: describeError(error) }, 'could not release the lease; it expires on its own')
    }
  }
}
