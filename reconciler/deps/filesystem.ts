// The filesystem deps store (docs/deps.md, the local-mode default): objects are files under one
// directory, written atomically (temp file in the same folder, fsync, rename) with mode 0600, so
// a reader — the sandbox mount — sees the old body or the new one, never half of either.

import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { checkKey, describeBody, DepsErrorCode, DepsStoreError, type DepsObjectInfo, type DepsOp, type DepsStore } from './store.ts'

/** Files hold secrets (token, credentials in the env): owner read/write only. */
const FILE_MODE = 0o600
/** Folders: owner only, so other local users cannot list Worker names either. */
const DIR_MODE = 0o700

export interface FilesystemDepsStoreOptions {
  /** Root directory (created on first write). Relative paths resolve against the process cwd. */
  dir: string
}

function codeOf(cause: unknown): DepsErrorCode {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return DepsErrorCode.Refused
  if (code === 'ENOSPC' || code === 'EIO' || code === 'EMFILE' || code === 'ENFILE') return DepsErrorCode.Unavailable
  return DepsErrorCode.Failed
}

/** Counts the regular files below `dir` (0 when it does not exist). */
async function countFiles(dir: string): Promise<number> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true })
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw cause
  }
  return entries.filter((e) => e.isFile()).length
}

/** A DepsStore on a local directory. */
export class FilesystemDepsStore implements DepsStore {
  readonly location: string
  readonly #root: string

  constructor(options: FilesystemDepsStoreOptions) {
    this.#root = resolve(options.dir)
    this.location = `directory ${this.#root}`
  }

  #path(op: DepsOp, key: string, folder = false): string {
    checkKey(op, key, this.location, folder)
    return join(this.#root, ...key.split('/').filter((s) => s !== ''))
  }

  #fail(op: DepsOp, key: string, cause: unknown): DepsStoreError {
    return cause instanceof DepsStoreError ? cause : DepsStoreError.of(op, key, this.location, codeOf(cause), cause)
  }

  async put(key: string, body: Uint8Array): Promise<DepsObjectInfo> {
    const path = this.#path('put', key)
    const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`)
    try {
      await mkdir(dirname(path), { recursive: true, mode: DIR_MODE })
      const handle = await open(temp, 'wx', FILE_MODE)
      try {
        await handle.writeFile(body)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temp, path)
    } catch (cause) {
      await unlink(temp).catch(() => {})
      throw this.#fail('put', key, cause)
    }
    return describeBody(key, body)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.#path('get', key)
    try {
      return await readFile(path)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw this.#fail('get', key, cause)
    }
  }

  async delete(keyOrPrefix: string): Promise<number> {
    const folder = keyOrPrefix.endsWith('/')
    const path = this.#path('delete', keyOrPrefix, folder)
    try {
      if (!folder) {
        const info = await stat(path).catch((cause: NodeJS.ErrnoException) => {
          if (cause.code === 'ENOENT') return undefined
          throw cause
        })
        if (info === undefined) return 0
        await unlink(path)
        return 1
      }
      const count = await countFiles(path)
      await rm(path, { recursive: true, force: true })
      return count
    } catch (cause) {
      throw this.#fail('delete', keyOrPrefix, cause)
    }
  }
}
