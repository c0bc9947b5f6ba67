// The controller's runtime imports from @kubernetes/client-node, by module path rather than from
// the package's index: the index also loads the whole generated API (every typed client, about
// 30 MB of source), which the controller never calls. Types still come from the package root.
// With bin/preload.ts registered, even config.js's own import of the generated index is cut
// down (see controller/client-node-lean.ts); without it these imports work the same, only heavier.

export { KubeConfig } from '@kubernetes/client-node/dist/config.js'
export { ListWatch } from '@kubernetes/client-node/dist/cache.js'
export { Watch } from '@kubernetes/client-node/dist/watch.js'
export { IsomorphicFetchHttpLibrary, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js'
