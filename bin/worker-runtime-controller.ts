#!/usr/bin/env node
// The worker-runtime-controller command. All process effects live in cli/main.ts, which is loaded
// only after preload.ts has registered its module hook (a static import would resolve first).
import './preload.ts'

const { main } = await import('../cli/main.ts')
process.exitCode = await main(process.argv.slice(2), process.env)
