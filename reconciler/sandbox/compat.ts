// What an older OpenKruise Agents loses of the claims this backend writes (docs/sandbox.md): its
// v0.3.0 SandboxClaim CRD has no `dynamicVolumesMount[].attributes`, so the API server prunes the
// token mount's `credentialProviderName` without an error. Told from the claim as the API server
// stored it (the create's response, the informer's copy): no extra request, no RBAC rule. Pure.

import type { Worker } from '../../api/worker.ts'
import { type CsiMount, depsMounts, type SandboxClaim, type SandboxSettings } from './objects.ts'

/**
 * The attributes of `desired`'s mounts that `claim` lacks, as `key=value`. Mounts are matched by
 * mountPath; a mount the claim does not have at all is not this check's business.
 */
export function droppedMountAttributes(desired: readonly CsiMount[], claim: SandboxClaim): string[] {
  const stored = new Map((claim.spec.dynamicVolumesMount ?? []).map((m) => [m.mountPath, m]))
  const dropped: string[] = []
  for (const mount of desired) {
    const kept = stored.get(mount.mountPath)
    if (!kept) continue
    for (const [key, value] of Object.entries(mount.attributes ?? {})) if (kept.attributes?.[key] === undefined) dropped.push(`${key}=${value}`)
  }
  return dropped
}

/**
 * What the Worker's status says while its claim lacks mount attributes this backend set; undefined
 * when nothing was dropped. The same text on every pass, so it causes no status write of its own.
 */
export function droppedAttributesWarning(settings: SandboxSettings, worker: Worker, claim: SandboxClaim | undefined): string | undefined {
  if (!claim) return undefined
  const dropped = droppedMountAttributes(depsMounts(settings, worker.metadata?.name ?? ''), claim)
  if (dropped.length === 0) return undefined
  return (
    `SandboxClaim ${claim.metadata.name} lost spec.dynamicVolumesMount[].attributes (${dropped.join(', ')}): the installed SandboxClaim CRD cannot store them ` +
    '(OpenKruise Agents v0.3.0 or older), so the token mount has no credential provider; upgrade OpenKruise Agents to a release after v0.3.0'
  )
}
