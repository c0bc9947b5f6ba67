// The S3 deps store (docs/deps.md): objects in one bucket of any S3-compatible server (MinIO,
// Alibaba OSS, AWS) through @aws-sdk/client-s3. Portable on purpose: Content-MD5 on writes (every
// S3 dialect verifies it), checksums only when an operation requires them, one-by-one deletes.

import { createHash } from 'node:crypto'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { checkKey, describeBody, DepsErrorCode, DepsStoreError, type DepsObjectInfo, type DepsOp, type DepsStore } from './store.ts'

/** Default per-request deadline: a reconcile must not hang on a store that stopped answering. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** Default connect deadline (loopback or in-cluster endpoints connect in milliseconds). */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/** SDK attempts per call (its default is 3); the controller's per-key backoff does the rest. */
const DEFAULT_MAX_ATTEMPTS = 2
/** ListObjectsV2 page size (the S3 maximum). */
const LIST_PAGE = 1000

export interface S3DepsStoreOptions {
  /** e.g. `http://minio.agentteams:9000`; unset means AWS's regional endpoint. */
  endpoint?: string
  bucket: string
  /** e.g. `us-east-1` (MinIO's default) or `oss-cn-hangzhou`. */
  region: string
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** Path-style URLs (`endpoint/bucket/key`); MinIO needs it, OSS must not use it. */
  forcePathStyle: boolean
  requestTimeoutMs?: number
  connectTimeoutMs?: number
  maxAttempts?: number
}

/** SDK error names that mean the credentials or the bucket are wrong, not that the server is down. */
const ACCESS_ERRORS = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket', 'ExpiredToken', 'InvalidToken', 'Forbidden'])
/** Node network error codes (cause.code) that mean the server did not answer. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'])

interface SdkErrorShape {
  name?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
}

/** Classifies an SDK failure; see DepsErrorCode. */
function codeOf(cause: unknown): DepsErrorCode {
  const e = (cause ?? {}) as SdkErrorShape
  const status = e.$metadata?.httpStatusCode
  if (ACCESS_ERRORS.has(e.name ?? '') || status === 403) return DepsErrorCode.Refused
  if (NETWORK_CODES.has(e.code ?? '') || e.name === 'TimeoutError' || (status !== undefined && status >= 500)) return DepsErrorCode.Unavailable
  if (status === undefined) return DepsErrorCode.Unavailable
  return DepsErrorCode.Failed
}

/** The SDK leaves `message` empty for some server replies; name the error and status then. */
function explain(cause: unknown): Error {
  const e = (cause ?? {}) as SdkErrorShape
  if (e.message) return cause as Error
  const status = e.$metadata?.httpStatusCode
  return new Error(`${e.name ?? 'S3 error'}${status ? ` (HTTP ${status})` : ''}`, { cause })
}

function isMissing(cause: unknown): boolean {
  const e = (cause ?? {}) as SdkErrorShape
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')
}

/** A DepsStore on an S3 bucket. Call `close()` when done to release sockets. */
export class S3DepsStore implements DepsStore {
  readonly location: string
  readonly #bucket: string
  readonly #client: S3Client

  constructor(options: S3DepsStoreOptions) {
    this.#bucket = options.bucket
    this.location = `s3 bucket ${options.bucket}${options.endpoint ? ` at ${options.endpoint}` : ''}`
    this.#client = new S3Client({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: {
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
        ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
      },
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      // Flexible checksums (CRC32 by default since SDK 3.729) are not understood by every
      // S3-compatible server; Content-MD5 is, and read-back verification is the caller's.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Resolve each command's middleware stack once, not on every send (about 15% of the client's
      // CPU per request); this store adds no per-command middleware, which the cache would ignore.
      cacheMiddleware: true,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
    })
  }

  #fail(op: DepsOp, key: string, cause: unknown): DepsStoreError {
    if (cause instanceof DepsStoreError) return cause
    return DepsStoreError.of(op, key, this.location, codeOf(cause), explain(cause))
  }

  async put(key: string, body: Uint8Array): Promise<DepsObjectInfo> {
    checkKey('put', key, this.location)
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentMD5: createHash('md5').update(body).digest('base64'),
          ContentType: 'application/octet-stream',
        }),
      )
    } catch (cause) {
      throw this.#fail('put', key, cause)
    }
    return describeBody(key, body)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey('get', key, this.location)
    try {
      const reply = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }))
      if (reply.Body === undefined) return new Uint8Array()
      return await reply.Body.transformToByteArray()
    } catch (cause) {
      if (isMissing(cause)) return undefined
      throw this.#fail('get', key, cause)
    }
  }

  async delete(keyOrPrefix: string): Promise<number> {
    const folder = keyOrPrefix.endsWith('/')
    checkKey('delete', keyOrPrefix, this.location, folder)
    try {
      const keys = folder ? await this.#list(keyOrPrefix) : await this.#existing(keyOrPrefix)
      // One by one: DeleteObjects needs Content-MD5 on OSS and a checksum header on newer SDKs.
      for (const key of keys) await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }))
      return keys.length
    } catch (cause) {
      throw this.#fail('delete', keyOrPrefix, cause)
    }
  }

  /** Releases the client's sockets. */
  close(): void {
    this.#client.destroy()
  }

  async #existing(key: string): Promise<string[]> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }))
      return [key]
    } catch (cause) {
      if (isMissing(cause)) return []
      throw cause
    }
  }

  async #list(prefix: string): Promise<string[]> {
    const keys: string[] = []
    let token: string | undefined
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, MaxKeys: LIST_PAGE, ContinuationToken: token }),
      )
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return keys
  }
}
