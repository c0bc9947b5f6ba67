// The ground the burst fault tests stand on: one control plane with the Worker and OpenKruise CRDs
// and a real MinIO per file, and a sandbox controller process for a namespace (ready, checking
// the bucket at every claim create) with the test playing the OpenKruise provider beside it.

import type { Test } from 'tap'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS, OPENKRUISE_CRDS } from '../../localcluster/manifests.ts'
import { startS3Server, type S3Server } from '../harness/s3-server.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { eventually } from '../e2e/reconciler-kit.ts'
import { startProvider, type Provider } from './burst-kit.ts'
import type { ControllerChildSettings } from './controller-child.ts'
import { startControllerProcess } from './controller-process.ts'

/** A control plane with the CRDs and a real MinIO, both torn down with `t`. */
export async function startBurstSuite(t: Test): Promise<{ cp: ControlPlane; s3: S3Server }> {
  const cp = await startSuiteControlPlane(t)
  await installCrds(cp.api, [MANIFESTS.workerCrd, ...OPENKRUISE_CRDS])
  const s3 = await startS3Server()
  t.teardown(() => s3.close())
  return { cp, s3 }
}

/** The controller process's deps store settings for `s3`. */
export function s3Settings(s3: S3Server): ControllerChildSettings['s3'] {
  return { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true }
}

/** One ready controller process for `ns` (no leader election) and the provider, stopped with `t`. */
export async function startBurstController(t: Test, cp: ControlPlane, s3: S3Server, ns: string, concurrency: number) {
  const controller = await startControllerProcess({
    kubeconfigPath: cp.kubeconfigPath,
    namespace: ns,
    s3: s3Settings(s3),
    concurrency,
    checkDepsAtClaim: true,
    logs: 'collect',
  })
  t.teardown(() => controller.stop())
  await eventually('the controller ready', async () => ((await controller.stats()).ready ? true : undefined))
  const provider: Provider = startProvider(cp.api, ns)
  t.teardown(() => provider.stop())
  return { controller, provider }
}
