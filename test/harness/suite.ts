// One control plane per tap test file: started before the file's tests (with a long timeout that
// covers building the binaries when they are missing outside CI), stopped in the file's teardown,
// its start time reported as a TAP comment. Pods run on every test file's control plane (nodes on:
// measured at about +1 s of start and +220 MB of RSS, README of test/harness), so no test can
// forget them; a file passes `{ nodes: false }` only to test the bare API server itself.

import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../localcluster/control-plane.ts'

/** Deadline while the binaries may still be built (cold build measured at 240 s on 2 cores). */
export const BUILD_AND_START_TIMEOUT_MS = 15 * 60_000
/** Deadline of a test file once its control plane runs (generous: 2 shared cores). */
export const SUITE_TIMEOUT_MS = 5 * 60_000

/** The part of tap's Test object this needs. */
export interface SuiteTest {
  setTimeout(ms: number): void
  teardown(fn: () => unknown): void
  comment(...message: unknown[]): void
}

/** Starts this file's control plane and registers its teardown on `t`. */
export async function startSuiteControlPlane(t: SuiteTest, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  t.setTimeout(BUILD_AND_START_TIMEOUT_MS)
  const controlPlane = await startControlPlane({ onProgress: (line) => t.comment(line), nodes: true, ...options })
  t.teardown(() => controlPlane.stop())
  t.comment(`control plane ready in ${controlPlane.startMs} ms at ${controlPlane.url}`)
  t.setTimeout(SUITE_TIMEOUT_MS)
  return controlPlane
}
