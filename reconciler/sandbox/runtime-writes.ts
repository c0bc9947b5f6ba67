// The sandbox backend's writes to a Worker's runtime in the OpenKruise Agents API: create its
// claim, delete its claim (uid precondition: never a later attempt's claim of the same name) and
// its Sandboxes, and patch its Sandbox (hibernate, resume). Each logged by name; each failure
// reported as `<verb> <Kind> <ns/name>: <cause>` (api.ts).

import type { Logger } from 'pino'
import type { Worker } from '../../api/worker.ts'
import { workerKey } from '../backend/contract.ts'
import { ignoreNotFound, isAlreadyExists, type KubeClient, PatchType } from '../controller/kube.ts'
import { sandboxApiError, sandboxApiPath } from './api.ts'
import { type Sandbox, type SandboxClaim, SandboxPlural } from './objects.ts'

/** The writes, through one API client and log. */
export class SandboxWrites {
  readonly #kube: KubeClient
  readonly #log: Logger

  constructor(kube: KubeClient, log: Logger) {
    this.#kube = kube
    this.#log = log
  }

  /** Creates `claim`; resolves what the API server stored, or undefined when a claim of that name already existed. */
  async createClaim(claim: SandboxClaim): Promise<SandboxClaim | undefined> {
    const ref = `${claim.metadata.namespace}/${claim.metadata.name}`
    try {
      return (await this.#kube.request<SandboxClaim>({ method: 'POST', path: sandboxApiPath(SandboxPlural.SandboxClaim, claim.metadata.namespace), body: claim })) ?? claim
    } catch (cause) {
      if (isAlreadyExists(cause)) return undefined
      throw sandboxApiError('create', 'SandboxClaim', ref, cause)
    }
  }

  /** Deletes `claim` with a uid precondition; gone already is fine. */
  async deleteClaim(worker: Worker, claim: SandboxClaim): Promise<void> {
    const { namespace, name, uid } = claim.metadata
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } }
    await ignoreNotFound(this.#kube.request({ method: 'DELETE', path: sandboxApiPath(SandboxPlural.SandboxClaim, namespace, name), body })).catch((cause) => {
      throw sandboxApiError('delete', 'SandboxClaim', `${namespace}/${name}`, cause)
    })
    this.#log.info({ worker: workerKey(worker), claim: name }, 'deleted the SandboxClaim')
  }

  /** Deletes each of `sandboxes`; gone already is fine. */
  async deleteSandboxes(worker: Worker, sandboxes: readonly Sandbox[]): Promise<void> {
    for (const s of sandboxes) {
      const ref = `${s.metadata.namespace}/${s.metadata.name}`
      await ignoreNotFound(this.#kube.request({ method: 'DELETE', path: sandboxApiPath(SandboxPlural.Sandbox, s.metadata.namespace, s.metadata.name) })).catch((cause) => {
        throw sandboxApiError('delete', 'Sandbox', ref, cause)
      })
      this.#log.info({ worker: workerKey(worker), sandbox: s.metadata.name }, 'deleted a sandbox')
    }
  }

  /** Merge-patches `sandbox` with `body`; `verb` names the step in a failure (`hibernate`, `resume`). */
  async patchSandbox(sandbox: Sandbox, body: unknown, verb: string): Promise<void> {
    const ref = `${sandbox.metadata.namespace}/${sandbox.metadata.name}`
    try {
      await this.#kube.request({ method: 'PATCH', path: sandboxApiPath(SandboxPlural.Sandbox, sandbox.metadata.namespace, sandbox.metadata.name), contentType: PatchType.Merge, body })
    } catch (cause) {
      throw sandboxApiError(verb, 'Sandbox', ref, cause)
    }
  }
}
