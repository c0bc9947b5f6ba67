// What users must read when the backend rule denies a change, verbatim from docs/backend-runtime.md, shared
// by the end-to-end files. Written out rather than computed, so a change of wording shows up here.

/** The legacy Worker (phase Running, status.backendRuntime unset) switched to sandbox. */
export const LEGACY_TO_SANDBOX =
  'spec.backendRuntime cannot be changed until the Worker is Stopped; current=pod, desired=sandbox ' +
  '(status.phase=Running; status.backendRuntime is unset, so the Worker counts as a legacy pod). ' +
  'Set spec.state=Stopped, wait until status.phase is Stopped, then change spec.backendRuntime.'

/** A Worker recorded on sandbox and Sleeping, switched to pod. */
export const SLEEPING_SANDBOX_TO_POD =
  'spec.backendRuntime cannot be changed until the Worker is Stopped; current=sandbox, desired=pod ' +
  '(status.phase=Sleeping; status.backendRuntime=sandbox). ' +
  'Set spec.state=Stopped, wait until status.phase is Stopped, then change spec.backendRuntime.'
