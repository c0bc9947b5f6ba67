// Installs CustomResourceDefinitions and waits until they can be used (envtest's InstallCRDs and
// WaitForCRDs, docs/local-cluster.md): conditions Established and NamesAccepted True, then every
// served version discoverable, because clients that cache discovery fail before that.

import type { ApiClient } from './api-client.ts'
import { loadManifests, type Manifest } from './manifests.ts'
import { applyObject, describeObject } from './objects.ts'
import { pollUntil } from './polling.ts'

/** How long a CRD may take to become usable (seconds on an idle machine; generous when shared). */
const CRD_READY_TIMEOUT_MS = 60_000

function conditionTrue(crd: any, type: string): boolean {
  return (crd?.status?.conditions ?? []).some((c: any) => c.type === type && c.status === 'True')
}

/** Waits until `crd` is established, its names accepted, and each served version is discoverable. */
export async function waitForCrd(api: ApiClient, crd: Manifest): Promise<void> {
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`
  await pollUntil(`${describeObject(crd)} Established and NamesAccepted`, async () => {
    const response = await api.request('GET', path)
    return conditionTrue(response.body, 'Established') && conditionTrue(response.body, 'NamesAccepted') ? true : undefined
  }, { timeoutMs: CRD_READY_TIMEOUT_MS })
  for (const version of crd['spec'].versions as Array<{ name: string; served: boolean }>) {
    if (!version.served) continue
    const group = `/apis/${crd['spec'].group}/${version.name}`
    await pollUntil(`${crd['spec'].names.plural} in discovery ${group}`, async () => {
      const response = await api.request('GET', group)
      const resources: Array<{ name: string }> = response.body?.resources ?? []
      return resources.some((r) => r.name === crd['spec'].names.plural) ? true : undefined
    }, { timeoutMs: CRD_READY_TIMEOUT_MS })
  }
}

/** Creates or updates every CRD in `files` and waits until all are usable. */
export async function installCrds(api: ApiClient, files: readonly string[]): Promise<Manifest[]> {
  const crds = (await Promise.all(files.map(loadManifests))).flat()
  for (const crd of crds) await applyObject(api, crd)
  for (const crd of crds) await waitForCrd(api, crd)
  return crds
}
