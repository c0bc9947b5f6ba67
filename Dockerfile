# The worker-runtime-controller image (docs/operations.md): Node 24 LTS runs the TypeScript sources
# directly (type stripping), so there is no build step, only production dependencies. Runs as a
# numeric non-root user (so runAsNonRoot can verify it) and writes nothing to its own files, so it
# works with a read-only root filesystem. No HEALTHCHECK: Kubernetes probes /healthz and /readyz.
# `npm run image` builds it with podman; test/image/image.test.ts checks that image and runs it as
# the Helm chart does against a real kube-apiserver.

# Node 24 LTS on Debian 12 (bookworm), slim variant. Pin a digest in your own build for reproducibility.
# Where no registry is reachable, `npm run image` assembles a local stand-in under this name
# (scripts/image/base.ts) and never pulls.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lockfile's production dependencies; none needs an install script. Behind a
# TLS-intercepting proxy, `npm run image` passes the CA npm trusts on the build machine as the
# secret `npm-ca`: mounted for this step only (never in a layer), added to Node's roots.
RUN --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
    && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin/ bin/
COPY api/ api/
COPY certs/certs.ts certs/
COPY cli/ cli/
COPY config/ config/
COPY reconciler/ reconciler/
COPY server/ server/
# Not copied: localcluster/ (the embedded control plane of `npm start` on a laptop; serve loads it
# only when there is neither a kubeconfig nor KUBERNETES_SERVICE_HOST, never in a pod).
# uid/gid 1000 is the base image's `node` user; the chart sets the same runAsUser.
USER 1000:1000
# Admission webhooks (HTTPS) and /healthz, /readyz, /metrics (HTTP).
EXPOSE 9443 8081
ENTRYPOINT ["node", "bin/worker-runtime-controller.ts"]
CMD ["serve"]
