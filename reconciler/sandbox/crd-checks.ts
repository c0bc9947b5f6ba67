// Start-up checks of the installed CRDs against what the sandbox backend needs (docs/runtime-objects.md,
// docs/sandbox.md), read from their published schemas (controller/crd-schema.ts: no RBAC rule, no write): upstream's
// HEAD Worker CRD allows only `spec.backendRuntime: pod`, so sandbox Workers need this project's
// CRD; OpenKruise Agents v0.3.0's SandboxClaim CRD has no `spec.dynamicVolumesMount[].attributes`,
// so the token mount's `credentialProviderName` is pruned. Each gap is one warning log line at
// start and a gauge (1 stored, 0 not) an alert can watch. Readiness stays as it is: pod Workers
// and the webhook work regardless, and a not-ready controller would only take them down too.

import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import { sleep, systemClock, type Clock } from '../controller/clock.ts'
import { fieldAt, type FieldLookup, type GroupVersionKind, publishedSchema } from '../controller/crd-schema.ts'
import { describeError, type KubeClient } from '../controller/kube.ts'
import { METRIC_CRD_CAPABILITY } from '../controller/metrics.ts'

export { METRIC_CRD_CAPABILITY }

/** One thing an installed CRD must be able to store. */
export interface CrdCheck {
  /** Label of the gauge: `worker-backend-sandbox`, `sandboxclaim-mount-attributes`. */
  capability: string
  /** The CRD's name, for the log line. */
  crd: string
  gvk: GroupVersionKind
  /** The field path, as controller/crd-schema.ts fieldAt reads it. */
  field: string
  /** True when the looked-up field does what this controller needs. */
  ok: (lookup: FieldLookup) => boolean
  /** The warning when it does not: what breaks and what to install. */
  problem: string
}

/** HEAD's Worker CRD allows only `pod` (docs/runtime-objects.md). */
export const WORKER_SANDBOX_CHECK: CrdCheck = {
  capability: 'worker-backend-sandbox',
  crd: 'workers.agentteams.io',
  gvk: { group: 'agentteams.io', version: 'v1beta1', kind: 'Worker' },
  field: 'spec.backendRuntime',
  ok: ({ schema, stored }) => stored && (schema?.enum === undefined || schema.enum.includes('sandbox')),
  problem:
    "the installed Worker CRD (workers.agentteams.io) does not allow spec.backendRuntime: sandbox (upstream AgentTeams' CRD allows only pod): " +
    "sandbox Workers cannot be created or switched to; install this project's Worker CRD (the chart's crds/, or manifests/crd/workers.agentteams.io.yaml), " +
    "a superset of upstream's",
}

/** OpenKruise Agents v0.3.0 prunes the mount attributes (docs/sandbox.md). */
export const CLAIM_ATTRIBUTES_CHECK: CrdCheck = {
  capability: 'sandboxclaim-mount-attributes',
  crd: 'sandboxclaims.agents.kruise.io',
  gvk: { group: 'agents.kruise.io', version: 'v1alpha1', kind: 'SandboxClaim' },
  field: 'spec.dynamicVolumesMount[].attributes',
  ok: ({ stored }) => stored,
  problem:
    'the installed SandboxClaim CRD (sandboxclaims.agents.kruise.io) cannot store spec.dynamicVolumesMount[].attributes (OpenKruise Agents v0.3.0 or older): ' +
    "the API server drops the token mount's credentialProviderName; upgrade OpenKruise Agents to a release after v0.3.0",
}

export interface CrdChecksOptions {
  kube: KubeClient
  log: Logger
  checks: readonly CrdCheck[]
  registry?: Registry | undefined
  clock?: Clock | undefined
  signal?: AbortSignal | undefined
  /** A group-version that is not published yet is looked up again this often, this many times. */
  retryEveryMs?: number
  retries?: number
}

/** What a check found: true stored, false not, undefined when the schema could not be read. */
export interface CrdFinding {
  check: CrdCheck
  ok: boolean | undefined
}

/** The CRD-capability gauge in `registry` (made once; the checks set it). */
export function crdCapabilityGauge(registry: Registry): Gauge<'capability'> {
  const existing = registry.getSingleMetric(METRIC_CRD_CAPABILITY) as Gauge<'capability'> | undefined
  return existing ?? new Gauge({
    name: METRIC_CRD_CAPABILITY,
    help: 'Whether the installed CRDs can store what the sandbox backend writes, per capability (1 yes, 0 no; absent: not known).',
    labelNames: ['capability'] as const,
    registers: [registry],
  })
}

/**
 * Runs `checks` once each, logging one warning per gap. A group-version not published (yet) is
 * asked again (`retries` × `retryEveryMs`: the API server publishes a new CRD within seconds); a
 * CRD that stays absent is left to the backend's own message (the sandbox API missing).
 */
export async function runCrdChecks(o: CrdChecksOptions): Promise<CrdFinding[]> {
  const clock = o.clock ?? systemClock
  const metric = o.registry ? crdCapabilityGauge(o.registry) : undefined
  const findings: CrdFinding[] = []
  for (const check of o.checks) {
    let ok: boolean | undefined
    try {
      for (let attempt = 0; ; attempt++) {
        const published = await publishedSchema(o.kube, check.gvk)
        if (published) {
          ok = check.ok(fieldAt(published, check.field))
          break
        }
        if (attempt >= (o.retries ?? 6) || o.signal?.aborted) break
        await sleep(clock, o.retryEveryMs ?? 5_000, o.signal)
      }
    } catch (error) {
      o.log.info({ crd: check.crd, err: describeError(error) }, 'could not read the published schema of an installed CRD; not checked')
    }
    if (ok === false) o.log.warn({ crd: check.crd, field: check.field }, check.problem)
    else if (ok === undefined) o.log.debug({ crd: check.crd }, 'the CRD is not published; not checked')
    if (ok !== undefined) metric?.set({ capability: check.capability }, ok ? 1 : 0)
    findings.push({ check, ok })
  }
  return findings
}
