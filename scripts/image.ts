// `npm run image`: builds the container image from the Dockerfile with podman as
// localhost/worker-runtime-controller:dev (`--tag NAME` for another name), assembling the Node
// base locally when podman's storage lacks it (no registry involved), and prints the timings and
// the image size. Needs root and the Debian packages podman, runc and mmdebstrap (one line says so).

import { parseArgs } from 'node:util'
import { buildImage, IMAGE } from './image/build.ts'
import { ImageCommandError } from './image/commands.ts'
import { podman } from './image/podman.ts'

const seconds = (ms: number): string => `${(ms / 1000).toFixed(0)} s`

if (import.meta.main) {
  const { values } = parseArgs({ options: { tag: { type: 'string', default: IMAGE }, quiet: { type: 'boolean', default: false } } })
  try {
    const pm = await podman()
    const result = await buildImage(pm, { tag: values.tag, onLine: values.quiet ? () => {} : (line) => process.stderr.write(`${line}\n`) })
    const size = Number((await pm.checked(['image', 'inspect', '--format', '{{.Size}}', result.id])).stdout.trim())
    const base = result.baseAssembled ? `base ${result.base} assembled in ${seconds(result.baseMs)}, ` : `base ${result.base} from local storage, `
    const ca = result.caFile ? `, npm's CA ${result.caFile} mounted into npm ci only` : ''
    console.log(`built ${result.tag} (image ${result.id.slice(0, 12)}): ${base}podman build ${seconds(result.buildMs)}, ${(size / 1e6).toFixed(0)} MB${ca}`)
  } catch (error) {
    if (!(error instanceof ImageCommandError)) throw error
    console.error(`npm run image: ${error.message}`)
    process.exitCode = 1
  }
}
