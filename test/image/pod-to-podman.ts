// Runs a rendered Deployment's container with podman the way a kubelet would run it: its user and
// group, read-only root filesystem (and nothing else writable: no tmpfs of podman's own), dropped
// capabilities, no privilege escalation, its args and env, and each volume mount backed by a host
// directory (emptyDir: an empty writable one; secret: the given keys as its items say; the
// ServiceAccount token, CA and namespace at the path kubelet uses), plus the KUBERNETES_SERVICE_*
// variables kubelet adds. Host network: the container's ports are host ports.

import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Manifest } from '../../localcluster/manifests.ts'

/** Where kubelet mounts the ServiceAccount token (automountServiceAccountToken). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

export interface PodRunOptions {
  /** The image to run (an ID is race-free). */
  image: string
  /** Container name and hostname (a pod's hostname is its name). */
  name: string
  /** Host directory under which the volumes are made. */
  dir: string
  /** Secret contents by Secret name, then key. */
  secrets: Record<string, Record<string, string>>
  /** The ServiceAccount token, the API server's CA and the pod's namespace. */
  serviceAccount: { token: string; caPem: string; namespace: string }
  /** Where the API server listens (KUBERNETES_SERVICE_HOST / _PORT). */
  apiserver: { host: string; port: number }
  /** Labels on the container (e.g. its owner, for cleanup). */
  labels?: Record<string, string>
}

/** What running the pod needs beyond the arguments. */
export interface PodRun {
  /** `podman run` arguments after `run`, detached. */
  args: string[]
  /** The Deployment's terminationGracePeriodSeconds (kubelet's SIGTERM → SIGKILL delay). */
  gracePeriodSeconds: number
  /** Host ports of the container's named ports (host network). */
  ports: Record<string, number>
}

/** Kubernetes' default file mode of Secret and projected volumes. */
const SECRET_FILE_MODE = 0o644

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), content, { mode: SECRET_FILE_MODE })
  }
}

/** The `podman run` of `deployment`'s first container (see the file header); throws on what it cannot map. */
export async function podRun(deployment: Manifest, options: PodRunOptions): Promise<PodRun> {
  const pod = deployment['spec'].template.spec
  const container = pod.containers[0]
  const security = { ...pod.securityContext, ...container.securityContext }
  if (security.runAsNonRoot && !(security.runAsUser > 0)) throw new Error('runAsNonRoot without a non-root runAsUser')
  const args = ['--detach', '--name', options.name, '--hostname', options.name, '--network=host']
  if (security.runAsUser !== undefined) args.push('--user', `${security.runAsUser}:${security.runAsGroup ?? security.runAsUser}`)
  if (pod.securityContext?.fsGroup !== undefined) args.push('--group-add', String(pod.securityContext.fsGroup))
  // Only the pod's volumes are writable: podman's own tmpfs on /tmp, /run, /var/tmp are off.
  if (security.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false')
  if ((security.capabilities?.drop ?? []).includes('ALL')) args.push('--cap-drop=all')
  if (security.allowPrivilegeEscalation === false) args.push('--security-opt=no-new-privileges')
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push('--label', `${key}=${value}`)

  for (const env of container.env ?? []) {
    if (env.value === undefined) throw new Error(`env ${env.name}: only plain values are mapped (valueFrom is not)`)
    args.push('--env', `${env.name}=${env.value}`)
  }
  args.push('--env', `KUBERNETES_SERVICE_HOST=${options.apiserver.host}`, '--env', `KUBERNETES_SERVICE_PORT=${options.apiserver.port}`)

  const volumes = new Map<string, any>((pod.volumes ?? []).map((v: any) => [v.name, v]))
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name)
    const host = join(options.dir, 'volumes', mount.name)
    if (volume?.emptyDir) {
      await mkdir(host, { recursive: true })
      await chmod(host, 0o777) // kubelet makes emptyDirs world-writable
    } else if (volume?.secret) {
      const data = options.secrets[volume.secret.secretName]
      if (!data) throw new Error(`volume ${mount.name}: no contents given for Secret ${volume.secret.secretName}`)
      const items: Array<{ key: string; path: string }> = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))
      await writeFiles(host, Object.fromEntries(items.map((i) => [i.path, data[i.key] ?? ''])))
    } else {
      throw new Error(`volume ${mount.name}: only emptyDir and secret volumes are mapped`)
    }
    args.push('--volume', `${host}:${mount.mountPath}:${mount.readOnly ? 'ro' : 'rw'}`)
  }
  if (pod.automountServiceAccountToken !== false) {
    const host = join(options.dir, 'volumes', 'kube-api-access')
    const { token, caPem, namespace } = options.serviceAccount
    await writeFiles(host, { token, 'ca.crt': caPem, namespace })
    args.push('--volume', `${host}:${SERVICE_ACCOUNT_DIR}:ro`)
  }

  args.push(options.image, ...(container.args ?? []))
  if (container.command) throw new Error('container.command: the chart relies on the image ENTRYPOINT')
  const ports = Object.fromEntries((container.ports ?? []).map((p: any) => [p.name, p.containerPort]))
  return { args, gracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30, ports }
}
