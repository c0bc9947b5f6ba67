// A real S3 server for the end-to-end tests: MinIO built from Go modules (tools/s3), started on a
// free loopback port with its own temporary data directory and random credentials, ready when
// /minio/health/ready answers, with one bucket. It can be stopped and started again on the same
// port and data (store outages); everything is removed when the test process exits.

import { spawn } from 'node:child_process'
import { accessSync, constants, mkdirSync } from 'node:fs'
import { get } from 'node:http'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { onProcessExit, removeDirNow } from '../../localcluster/exit-cleanup.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { freePort, LOOPBACK } from '../../localcluster/ports.ts'
import { startProcess, type ManagedProcess } from '../../localcluster/processes.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'

const BUILD_SCRIPT = fileURLToPath(new URL('../../tools/build.sh', import.meta.url))
/** Serializes concurrent builds of the s3 tools (parallel test files); util-linux flock(1). */
const BUILD_LOCK = join(tmpdir(), 'worker-runtime-controller-tools-s3.lock')
const FLOCK = '/usr/bin/flock'
/** MinIO's default region; the store and the test client both sign for it. */
export const S3_REGION = 'us-east-1'
/** Readiness deadline: MinIO formats its data dir on first start; the machine is shared. */
const READY_TIMEOUT_MS = 60_000

/** Raised when the minio binary is missing (under CI=true) or fails to build. */
export class S3ServerError extends Error {
  override name = 'S3ServerError'
}

function runBuild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, full] = args.includes('--path') ? [BUILD_SCRIPT, ['s3', ...args]] : [FLOCK, [BUILD_LOCK, BUILD_SCRIPT, 's3']]
  return new Promise((resolve, reject) => {
    const child = spawn(command, full as string[], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (!args.includes('--path')) process.stderr.write(c)
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout: stdout.trim(), stderr }))
  })
}

/**
 * The minio binary: `MINIO_BINARY` when set, else the tools/s3 cache. When it is not built yet it
 * is built (minutes, cold) — except under CI=true, where a missing binary fails the test: CI must
 * run `tools/build.sh s3` first, and an end-to-end test never skips.
 */
export async function findMinio(env: Record<string, string | undefined> = process.env): Promise<string> {
  const explicit = env['MINIO_BINARY']
  const located = explicit ? { code: 0, stdout: '', stderr: '' } : await runBuild(['--path'])
  let path = explicit ?? (located.code === 0 && located.stdout ? join(located.stdout, 'minio') : undefined)
  if (path === undefined) {
    if (env['CI'] === 'true') {
      throw new S3ServerError('find minio: not built; run `tools/build.sh s3` before the end-to-end tests (under CI=true they fail instead of building or skipping)')
    }
    process.stderr.write('minio is not built yet: running tools/build.sh s3 (a cold build takes a few minutes)\n')
    const built = await runBuild([])
    if (built.code !== 0 || built.stdout === '') throw new S3ServerError(`build minio: tools/build.sh s3 exited with code ${built.code}`)
    path = join(built.stdout.split('\n').pop() as string, 'minio')
  }
  try {
    accessSync(path, constants.X_OK)
  } catch (cause) {
    throw new S3ServerError(`find minio: ${path} is not an executable file`, { cause })
  }
  return path
}

/** A running (or stopped, restartable) MinIO. */
export interface S3Server {
  /** http://127.0.0.1:<port>; stays the same across stop/start. */
  readonly endpoint: string
  readonly bucket: string
  readonly region: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** A plain SDK client for assertions, independent of the code under test. */
  readonly client: S3Client
  /** The object body, or undefined when it does not exist. */
  getObject(key: string): Promise<Buffer | undefined>
  /** Keys under `prefix`. */
  listKeys(prefix: string): Promise<string[]>
  /** The MinIO process id while it runs (for CPU accounting in benchmarks). */
  readonly pid: number | undefined
  /** Stops the process, keeping port and data (an outage). */
  stop(): Promise<void>
  /** Starts it again on the same port and data and waits until ready. */
  start(): Promise<void>
  /** Stops it and removes its data; idempotent. */
  close(): Promise<void>
}

export interface StartS3ServerOptions {
  bucket?: string
  binary?: string
}

function ready(endpoint: string): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const req = get(`${endpoint}/minio/health/ready`, { timeout: 5_000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200 ? true : undefined))
    })
    req.on('timeout', () => req.destroy(new Error('GET /minio/health/ready timed out')))
    req.on('error', reject)
  })
}

/** Starts MinIO with a fresh data directory and creates the bucket (default `agentteams`). */
export async function startS3Server(options: StartS3ServerOptions = {}): Promise<S3Server> {
  const binary = options.binary ?? (await findMinio())
  const bucket = options.bucket ?? 'agentteams'
  // Owned (owner.pid): a later run removes it even when this process was SIGKILLed.
  const root = await createOwnedTempDir('wrc-minio-')
  const unregisterDir = onProcessExit(() => removeDirNow(root))
  const dataDir = join(root, 'data')
  mkdirSync(dataDir)
  mkdirSync(join(root, 'certs'))
  const port = await freePort()
  const endpoint = `http://${LOOPBACK}:${port}`
  const accessKeyId = `test${randomBytes(6).toString('hex')}`
  const secretAccessKey = randomBytes(18).toString('base64url')
  let child: ManagedProcess | undefined
  let closed = false

  const start = async (): Promise<void> => {
    if (closed) throw new S3ServerError('start minio: already closed')
    if (child && !child.hasExited()) return
    const proc = startProcess({
      name: 'minio',
      command: binary,
      args: ['server', dataDir, '--address', `${LOOPBACK}:${port}`, '--certs-dir', join(root, 'certs'), '--quiet', '--anonymous'],
      logFile: join(root, 'minio.log'),
      env: { MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    })
    child = proc
    try {
      await pollUntil(`minio ${endpoint}/minio/health/ready`, () => ready(endpoint), {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        abortIf: () => (proc.hasExited() ? 'minio exited' : undefined),
      })
    } catch (cause) {
      await proc.stop()
      throw new S3ServerError(`start minio ${endpoint}: ${(cause as Error).message}\n--- minio log (tail) ---\n${proc.logTail(30)}`, { cause })
    }
  }
  const stop = async (): Promise<void> => {
    await child?.stop()
  }

  const client = new S3Client({
    endpoint,
    region: S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  })
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    client.destroy()
    await stop()
    removeDirNow(root)
    unregisterDir()
  }
  try {
    await start()
    // /minio/health/ready can answer 200 a moment before the object layer is up; the first request
    // then gets 503 XMinioServerNotInitialized (seen on a loaded machine): try again until it is.
    await pollUntil(`minio ${endpoint}: create bucket ${bucket}`, async () => {
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }))
        return true
      } catch (cause) {
        if ((cause as { name?: string }).name === 'XMinioServerNotInitialized') return undefined
        throw cause
      }
    })
  } catch (cause) {
    await close()
    throw cause
  }

  const getObject = async (key: string): Promise<Buffer | undefined> => {
    try {
      const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return Buffer.from(await (reply.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
    } catch (cause) {
      if ((cause as { name?: string }).name === 'NoSuchKey') return undefined
      throw cause
    }
  }
  const listKeys = async (prefix: string): Promise<string[]> => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
    return (page.Contents ?? []).map((o) => o.Key as string).sort()
  }
  return {
    endpoint, bucket, region: S3_REGION, accessKeyId, secretAccessKey, client, getObject, listKeys, stop, start, close,
    get pid() {
      return child && !child.hasExited() ? child.pid : undefined
    },
  }
}
