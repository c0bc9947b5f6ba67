#!/usr/bin/env node
// The worker-runtime-controller command. All process effects live in cli/main.ts.
import { main } from '../cli/main.ts'

process.exitCode = await main(process.argv.slice(2), process.env)
