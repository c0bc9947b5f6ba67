// Runs before the program's modules load (imported first by the command, or `node --import` for a
// test's child process): registers the module hook that keeps client-node's unused generated API
// out of the process (docs/architecture.md, the client-node door).

import { registerLeanClientNode } from '../reconciler/controller/client-node-lean.ts'

registerLeanClientNode()
