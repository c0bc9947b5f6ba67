// Runs before the program's modules load (imported first by bin/, or `node --import`): registers
// the module hook that keeps client-node's unused generated API out of the process.

import { registerLeanClientNode } from '../reconciler/controller/client-node-lean.ts'

registerLeanClientNode()
