// Stands in for client-node's generated index (dist/gen/index.js) when config.js imports it:
// config.js needs these two names (for makeApiClient), not the typed clients and models the
// index re-exports. If a client-node upgrade makes config.js import more from it, the process
// fails at start with "does not provide an export named ..." (test/reconciler/client-node-lean.test.ts).

export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js'
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js'
