// The pod backend (docs/backends.md): per Worker a ServiceAccount, a Secret holding the rendered env,
// and a Pod `<prefix>worker-<worker>` with envFrom that Secret and a projected, audience-bound
// token; the upstream provisioner's credentials by reference to their Secret (docs/credentials.md), never as
// values in the Pod spec. Sleeping and Stopped delete the Pod; its status maps to the runtime state.

import { createHash } from 'node:crypto'
import { imageOf } from '../../api/images.ts'
import type { KubeObject } from '../../api/meta.ts'
import { LABEL_CONTROLLER, type Worker } from '../../api/worker.ts'
import { type Backend, type BackendStatus, isOwnObject, ownerReference, RuntimeState, runtimeLabels, runtimeName, type RuntimeNaming, workerKey } from '../backend/contract.ts'
import { type CredentialSettings, type Credentials, CREDENTIAL_KEYS, credentialPlainEnv, credentialsHold, credentialsResync, earlier, readCredentials } from '../backend/credentials.ts'
import { type EnvOptions, TOKEN_DIR, unusedEnvWarnings, workerEnv } from '../backend/env.ts'
import { ignoreNotFound, isAlreadyExists, isConflict, isNotFound, type KubeClient, resourcePath } from '../controller/kube.ts'
import { ensureServiceAccount, type ServiceAccountCache } from '../backend/service-account.ts'
import { mapPodStatus, type Pod } from './status.ts'

/** Annotation holding a digest of the Pod template and the env Secret version it was built from. */
export const SPEC_HASH_ANNOTATION = 'agentteams.io/spec-hash'
/** The container every worker Pod runs. */
export const CONTAINER_NAME = 'worker'
const TOKEN_VOLUME = 'agentteams-token'

export interface PodBackendOptions extends RuntimeNaming {
  kube: KubeClient
  /** Image when `spec.image` is unset, by `spec.runtime`; `default` for unset or unlisted runtimes. */
  images: Record<string, string> & { default: string }
  /** Audience of the projected token (default `hiclaw-controller`, upstream HICLAW_AUTH_AUDIENCE). */
  tokenAudience: string
  /** Lifetime of the projected token; the kubelet refreshes it at 80 %. */
  tokenExpirationSeconds: number
  /** Cluster URLs for the env (empty ones are left out). */
  env: Omit<EnvOptions, 'backendRuntime'>
  /** The ServiceAccount cache, so an existing account costs no request (backend/service-account.ts). */
  serviceAccounts?: ServiceAccountCache | undefined
  /** The upstream provisioner's credential Secrets (credentials.ts). */
  credentials: CredentialSettings
}

/** Typed failure of a pod-backend call: `<verb> <Kind> <ns/name>: <cause>`. */
export class PodBackendError extends Error {
  override name = 'PodBackendError'
}

interface Secret extends KubeObject {
  data?: Record<string, string>
}

const corePath = (plural: string, namespace: string | undefined, name?: string) => resourcePath({ group: '', version: 'v1', plural, namespace, name })

/** Runs Workers as plain Pods. */
export class PodBackend implements Backend {
  readonly name = 'pod'
  private readonly o: PodBackendOptions

  constructor(options: PodBackendOptions) {
    this.o = options
  }

  async status(worker: Worker): Promise<BackendStatus> {
    return mapPodStatus(await this.getPod(worker))
  }

  async create(worker: Worker): Promise<BackendStatus> {
    const credentials = await readCredentials(this.o.kube, this.o.credentials, worker)
    const status = await this.#create(worker, credentials)
    const resync = earlier(status.requeueAfterMs, credentialsResync(credentials))
    return resync === undefined ? status : { ...status, requeueAfterMs: resync }
  }

  async #create(worker: Worker, credentials: Credentials): Promise<BackendStatus> {
    const hold = credentialsHold(credentials, this.o.credentials)
    if (hold) {
      // No runtime is created without usable credentials; one that runs already is left as it is.
      const running = await this.getPod(worker)
      return running ? { ...mapPodStatus(running), warnings: [hold.message ?? ''], requeueAfterMs: hold.requeueAfterMs } : hold
    }
    const serviceAccount = await ensureServiceAccount(this.o.kube, this.o, worker, this.o.serviceAccounts)
    const { secretVersion, warnings } = await this.ensureSecret(worker, credentials)
    const desired = this.buildPod(worker, serviceAccount, secretVersion, credentials)
    const existing = await this.getPod(worker)
    if (!existing) {
      const created = await this.call('create', 'Pod', worker, () => this.o.kube.request<Pod>({ method: 'POST', path: corePath('pods', worker.metadata?.namespace), body: desired }), true)
      return { ...mapPodStatus(created ?? desired), warnings, depsDelivered: true }
    }
    const state = mapPodStatus(existing)
    // The env Secret and the ServiceAccount behind the projected token are in place from here on.
    if (state.state === RuntimeState.Stopping) return { ...state, warnings, depsDelivered: true }
    const terminal = existing.status?.phase === 'Failed' || existing.status?.phase === 'Succeeded'
    const outdated = existing.metadata?.annotations?.[SPEC_HASH_ANNOTATION] !== desired.metadata.annotations[SPEC_HASH_ANNOTATION]
    if (terminal || outdated) {
      // A finished Pod never runs again and a Pod's spec is immutable: replace it (the next pass creates).
      await this.deletePod(worker, existing.metadata?.uid)
      const message = terminal ? `replacing the finished Pod: ${state.message ?? existing.status?.phase}` : 'restarting the Pod to apply the changed spec'
      return { state: terminal ? RuntimeState.Failed : RuntimeState.Stopping, reason: terminal ? state.reason : 'PodSpecChanged', message, warnings, depsDelivered: true }
    }
    return { ...state, warnings, depsDelivered: true }
  }

  async stop(worker: Worker): Promise<BackendStatus> {
    const pod = await this.getPod(worker)
    if (pod && !pod.metadata?.deletionTimestamp) await this.deletePod(worker, pod.metadata?.uid)
    return mapPodStatus(await this.getPod(worker))
  }

  async delete(worker: Worker): Promise<BackendStatus> {
    const status = await this.stop(worker)
    const path = corePath('secrets', worker.metadata?.namespace, runtimeName(this.o, worker))
    const secret = await this.call('get', 'Secret', worker, () => ignoreNotFound(this.o.kube.request<Secret>({ method: 'GET', path })))
    // Only this controller's Secret: another controller's of the same name (a shared prefix) stays.
    if (isOwnObject(secret, this.o)) {
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: secret?.metadata?.uid } }
      await this.call('delete', 'Secret', worker, () => ignoreNotFound(this.o.kube.request({ method: 'DELETE', path, body })))
    }
    return status
  }

  /**
   * The Pod this backend wants for `worker`. Credentials in the Worker's namespace are referenced
   * key by key (`secretKeyRef`), and their Secret's resourceVersion is part of the spec digest, so
   * a changed credential replaces the Pod like a changed `spec.env` does.
   */
  buildPod(worker: Worker, serviceAccount: string, secretVersion: string, credentials: Credentials = { state: 'off' }) {
    const name = runtimeName(this.o, worker)
    const image = imageOf(worker, this.o.images)
    const resources = worker.spec?.resources
    const byReference = credentials.state === 'ready' && credentials.namespace === worker.metadata?.namespace ? credentials : undefined
    const credentialEnv = byReference
      ? Object.entries(CREDENTIAL_KEYS).sort(([a], [b]) => (a < b ? -1 : 1)).map(([env, key]) => ({ name: env, valueFrom: { secretKeyRef: { name: byReference.name, key } } }))
      : []
    const spec = {
      serviceAccountName: serviceAccount,
      automountServiceAccountToken: false,
      restartPolicy: 'Always',
      containers: [{
        name: CONTAINER_NAME,
        image,
        ...(resources && (resources.requests || resources.limits) ? { resources } : {}),
        envFrom: [{ secretRef: { name } }],
        ...(credentialEnv.length > 0 ? { env: credentialEnv } : {}),
        volumeMounts: [{ name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true }],
      }],
      volumes: [{
        name: TOKEN_VOLUME,
        projected: { sources: [{ serviceAccountToken: { audience: this.o.tokenAudience, expirationSeconds: this.o.tokenExpirationSeconds, path: 'token' } }] },
      }],
    }
    const labels = runtimeLabels(this.o, worker)
    const credentialsVersion = byReference?.resourceVersion
    const hash = createHash('sha256').update(JSON.stringify({ spec, labels, secretVersion, ...(credentialsVersion ? { credentialsVersion } : {}) })).digest('hex').slice(0, 32)
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: worker.metadata?.namespace, labels, annotations: { [SPEC_HASH_ANNOTATION]: hash }, ownerReferences: [ownerReference(worker)] },
      spec,
    }
  }

  /**
   * Writes the env Secret when missing or different; returns its resourceVersion. Values never
   * leave this function. Credentials from another namespace (a Pod cannot reference a Secret there)
   * are copied into it, so the Pod still takes them by reference.
   */
  private async ensureSecret(worker: Worker, credentials: Credentials): Promise<{ secretVersion: string; warnings: string[] }> {
    const copied = credentials.state === 'ready' && credentials.namespace !== worker.metadata?.namespace ? credentials.values : {}
    const { env, skipped } = workerEnv(worker, { ...this.o.env, backendRuntime: this.name, credentials: { ...credentialPlainEnv(worker, credentials), ...copied } })
    const warnings = unusedEnvWarnings(skipped)
    const data = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]))
    const name = runtimeName(this.o, worker)
    const namespace = worker.metadata?.namespace
    const labels = runtimeLabels(this.o, worker)
    const body = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, labels, ownerReferences: [ownerReference(worker)] }, data }
    const existing = await this.call('get', 'Secret', worker, () => ignoreNotFound(this.o.kube.request<Secret>({ method: 'GET', path: corePath('secrets', namespace, name) })))
    let stored: Secret | undefined
    if (existing && !isOwnObject(existing, this.o)) {
      // Never overwrite a Secret this controller did not make (the upstream controller's, with the same prefix).
      const owner = existing.metadata?.labels?.[LABEL_CONTROLLER] ?? 'no controller label'
      throw new PodBackendError(`create Secret ${namespace}/${name} for Worker ${workerKey(worker)}: a Secret of that name exists and is not this controller's (${owner}); remove it or set another AGENTTEAMS_RESOURCE_PREFIX`)
    }
    if (!existing) {
      stored = await this.call('create', 'Secret', worker, () => this.o.kube.request<Secret>({ method: 'POST', path: corePath('secrets', namespace), body }))
    } else if (JSON.stringify(sorted(existing.data)) !== JSON.stringify(sorted(data)) || JSON.stringify(sorted(existing.metadata?.labels)) !== JSON.stringify(sorted(labels))) {
      const update = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } }
      stored = await this.call('update', 'Secret', worker, () => this.o.kube.request<Secret>({ method: 'PUT', path: corePath('secrets', namespace, name), body: update }))
    } else {
      stored = existing
    }
    return { secretVersion: stored?.metadata?.resourceVersion ?? '', warnings }
  }

  /**
   * This controller's Pod of the Worker. A Pod of the same name that another controller made (the
   * upstream controller shares the `agentteams-` prefix) is not this backend's: the reconciler
   * finds it as a runtime object of the Worker and adopts it (worker/runtime-objects.ts, adoption.ts).
   */
  private async getPod(worker: Worker): Promise<Pod | undefined> {
    const path = corePath('pods', worker.metadata?.namespace, runtimeName(this.o, worker))
    const pod = await this.call('get', 'Pod', worker, () => ignoreNotFound(this.o.kube.request<Pod>({ method: 'GET', path })))
    return isOwnObject(pod, this.o) ? pod : undefined
  }

  private async deletePod(worker: Worker, uid: string | undefined): Promise<void> {
    const path = corePath('pods', worker.metadata?.namespace, runtimeName(this.o, worker))
    // The uid precondition makes sure only the Pod we looked at goes, never its replacement.
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...(uid ? { preconditions: { uid } } : {}) }
    await this.call('delete', 'Pod', worker, async () => {
      try {
        await this.o.kube.request({ method: 'DELETE', path, body })
      } catch (error) {
        // 409: the uid precondition failed, so the Pod we looked at is already gone.
        if (!isNotFound(error) && !isConflict(error)) throw error
      }
    })
  }

  /** Runs one API call, wrapping failures as `<verb> <Kind> <ns/name>: <cause>`; `tolerateExists` maps AlreadyExists to undefined. */
  private async call<T>(verb: string, kind: string, worker: Worker, fn: () => Promise<T>, tolerateExists = false): Promise<T | undefined> {
    try {
      return await fn()
    } catch (cause) {
      if (tolerateExists && isAlreadyExists(cause)) return undefined
      const name = `${worker.metadata?.namespace}/${runtimeName(this.o, worker)}`
      throw new PodBackendError(`${verb} ${kind} ${name} for Worker ${workerKey(worker)}: ${(cause as Error).message}`, { cause })
    }
  }
}

function sorted(record: Record<string, string> | undefined): [string, string][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
