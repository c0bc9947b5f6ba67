// Read-back verification of a deps write (docs/deps.md: write env → write token → read both back
// before the claim): the object read again must have the size and SHA-256 the write reported. Says
// what differs in sizes only, never in contents: the bodies are secrets.

import { describeBody, type DepsObjectInfo, type DepsStore } from './store.ts'

/**
 * Reads `wrote.key` back from `store`: undefined when it is what was written, else what differs
 * (`it is missing`, `9 bytes read, 31 written`, `..., contents differ`). A failed read throws the
 * store's DepsStoreError.
 */
export async function readBackMismatch(store: DepsStore, wrote: DepsObjectInfo): Promise<string | undefined> {
  const body = await store.get(wrote.key)
  if (body === undefined) return 'it is missing'
  const read = describeBody(wrote.key, body)
  if (read.size === wrote.size && read.sha256 === wrote.sha256) return undefined
  return `${read.size} bytes read, ${wrote.size} written${read.size === wrote.size ? ', contents differ' : ''}`
}
