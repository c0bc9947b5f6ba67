// The real promtool (tools/promtool, Prometheus 3.16.0, built by `tools/build.sh promtool`) for the
// alert and dashboard tests: where it is (built first when missing, except under CI=true where
// `npm test`'s pretest must have built it) and running it.

import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CommandResult, run } from './helm.ts'

const BUILD_SCRIPT = fileURLToPath(new URL('../../tools/build.sh', import.meta.url))
/** Serializes concurrent builds of parallel test files (util-linux flock(1)). */
const BUILD_LOCK = join(tmpdir(), 'worker-runtime-controller-tools-promtool.lock')

let located: Promise<string> | undefined

/** Absolute path of the promtool binary. A cold build takes several minutes (Prometheus's module graph). */
export function findPromtool(): Promise<string> {
  located ??= (async () => {
    const path = await run(BUILD_SCRIPT, ['promtool', '--path'])
    if (path.code === 0 && path.stdout.trim() !== '') return join(path.stdout.trim(), 'promtool')
    if (process.env['CI'] === 'true') throw new Error('find promtool: not built; run `tools/build.sh promtool` first (npm test\'s pretest does)')
    const built = await run('/usr/bin/flock', [BUILD_LOCK, BUILD_SCRIPT, 'promtool'], { timeoutMs: 30 * 60_000 })
    if (built.code !== 0) throw new Error(`build promtool: tools/build.sh promtool exited with ${built.code}\n${built.stderr}`)
    return join(built.stdout.trim().split('\n').pop() as string, 'promtool')
  })()
  return located
}

/** Runs promtool with `args` in `cwd`; resolves with its exit code and output. */
export async function promtool(args: readonly string[], cwd?: string): Promise<CommandResult> {
  return run(await findPromtool(), args, cwd ? { cwd } : {})
}
