// Which image a Worker runs (docs/overview.md, docs/runtime-objects.md): `spec.image`, else the image configured for its
// `spec.runtime`, else the default worker image. A runtime with no image of its own (HEAD's
// `qwenpaw` before one is configured, or any value an upstream CRD admits) runs on the default, and
// the mutating webhook says so. Pure: both the webhook and the backends use it.

import type { Worker } from './worker.ts'

/** Images by `spec.runtime`, with `default` for an unset runtime or one with no image of its own. */
export type WorkerImages = Record<string, string> & { default: string }

/** The image settings (config/settings.ts) this table is built from. */
export interface ImageSettings {
  workerImage: string
  copawWorkerImage: string
  hermesWorkerImage: string
  openhumanWorkerImage: string
  qwenpawWorkerImage: string
}

/** The image table of the settings: openclaw and the default run the worker image; others theirs where set. */
export function workerImages(s: ImageSettings): WorkerImages {
  return {
    default: s.workerImage,
    openclaw: s.workerImage,
    ...(s.copawWorkerImage ? { copaw: s.copawWorkerImage } : {}),
    ...(s.hermesWorkerImage ? { hermes: s.hermesWorkerImage } : {}),
    ...(s.openhumanWorkerImage ? { openhuman: s.openhumanWorkerImage } : {}),
    ...(s.qwenpawWorkerImage ? { qwenpaw: s.qwenpawWorkerImage } : {}),
  }
}

/** The image `worker` runs. */
export function imageOf(worker: Worker, images: WorkerImages): string {
  return worker.spec?.image || images[worker.spec?.runtime ?? ''] || images.default
}

/**
 * The warning for a Worker whose `spec.runtime` has no image of its own (and no `spec.image`): it
 * names the image used instead; undefined when there is nothing to say.
 */
export function runtimeImageWarning(worker: Worker, images: WorkerImages): string | undefined {
  const runtime = worker.spec?.runtime
  if (typeof runtime !== 'string' || runtime === '' || worker.spec?.image || images[runtime]) return undefined
  return `spec.runtime ${runtime} has no image configured here: the Worker runs ${images.default}`
}
