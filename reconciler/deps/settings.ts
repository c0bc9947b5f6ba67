// Which deps store a process uses (AGENTTEAMS_DEPS_*): the settings read from the configuration,
// and the store built from them — S3 (s3.ts) or a directory (filesystem.ts).

import type { Config } from '../../config/config.ts'
import { FilesystemDepsStore } from './filesystem.ts'
import { S3DepsStore, type S3DepsStoreOptions } from './s3.ts'
import type { DepsStore } from './store.ts'

/** Which deps store, and its settings (config rows AGENTTEAMS_DEPS_*). */
export type DepsStoreSettings =
  | ({ type: 's3' } & S3DepsStoreOptions)
  | { type: 'filesystem'; dir: string }

/** The deps store of `settings`; call `close()` on shutdown (a no-op for the filesystem). */
export function createDepsStore(settings: DepsStoreSettings): DepsStore & { close(): void } {
  if (settings.type === 's3') return new S3DepsStore(settings)
  const store = new FilesystemDepsStore({ dir: settings.dir })
  return Object.assign(store, { close: () => {} })
}

/** The deps store settings of the configuration (AGENTTEAMS_DEPS_*). */
export function depsStoreSettings(config: Config): DepsStoreSettings {
  if (config.depsStoreType === 'filesystem') return { type: 'filesystem', dir: config.depsFilesystemDir }
  return {
    type: 's3',
    bucket: config.depsS3Bucket,
    region: config.depsS3Region,
    accessKeyId: config.depsS3AccessKeyId,
    secretAccessKey: config.depsS3SecretAccessKey,
    forcePathStyle: config.depsS3ForcePathStyle,
    ...(config.depsS3Endpoint ? { endpoint: config.depsS3Endpoint } : {}),
    ...(config.depsS3SessionToken ? { sessionToken: config.depsS3SessionToken } : {}),
  }
}
