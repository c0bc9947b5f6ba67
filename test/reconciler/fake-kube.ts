// A stand-in API client for unit tests: every request is recorded, and `answer` decides the reply
// (return a body, or throw a KubeError as the API server's answer).

import { KubeError, type KubeClient, type KubeRequest } from '../../reconciler/controller/kube.ts'

/** A KubeClient that also shows what it was asked. */
export type RecordingKube = KubeClient & { requests: KubeRequest[] }

/** Records each request, then answers it with `answer`. */
export function recordingKube(answer: (req: KubeRequest) => unknown): RecordingKube {
  const requests: KubeRequest[] = []
  return {
    requests,
    async close() {},
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req)
      return (await answer(req)) as T
    },
  }
}

/** The API server's 404. */
export function notFound(message = 'the server could not find the requested resource'): KubeError {
  return new KubeError(message, { code: 404, reason: 'NotFound' })
}
