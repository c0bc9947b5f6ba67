// The sandbox settings of docs/sandbox.md, docs/deps.md the tests and benches run with, in a module of its own:
// the controller child (test/faults/) and the floor (bench/) import it without the test harness,
// so a process whose memory is measured holds only what the controller itself loads.

import type { SandboxSettings } from '../../reconciler/sandbox/objects.ts'

export const NAMING = { controllerName: 'worker-runtime-controller', resourcePrefix: 'agentteams-' }
export const WORKER_IMAGE = 'example.com/worker:1'

/** The settings of docs/sandbox.md, docs/deps.md with their defaults. */
export function sandboxSettings(overrides: Partial<SandboxSettings> = {}): SandboxSettings {
  return {
    ...NAMING,
    poolName: 'agentteams-builtin',
    prewarmSize: 1,
    agentRuntimeImage: '',
    claimTimeout: '5m',
    waitReadyTimeout: '2m',
    ttlAfterCompleted: '15m',
    depsPvName: 'agentteams',
    credentialProviderName: 'agentteams-token',
    ...overrides,
  }
}

