# weir, one image for every role: `docker run IMAGE start --role ingest` (or archiver, speed,
# batch, serving). Production settings come from the environment (README "Production";
# deploy/compose.yaml and deploy/k8s/ run it). No Java in it: the roles use an external Kafka
# (KAFKA_BROKERS), ClickHouse server (CLICKHOUSE_URL) and S3 (OBJECT_STORE_URL); only the
# one-machine default starts a broker of its own.
#   docker build -t weir .

# The Node of scripts/setup.sh (NODE_VERSION), on Debian: chDB's engine is built for glibc.
ARG NODE_IMAGE=node:24.22.3-trixie-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# npm ci installs exactly the lock (and patches kafkajs in the postinstall script, with the
# dev dependency patch-package); prune then drops the dev dependencies, keeping the patch.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/weir
WORKDIR /app
# weir runs its TypeScript with tsx (a dependency): no build step, the sources are the program.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json cli.ts ./
COPY bin ./bin
COPY scripts/with-node.sh ./scripts/
COPY cli ./cli
COPY schemas ./schemas
COPY rules ./rules
COPY infra ./infra
COPY ingest ./ingest
COPY speed-layer ./speed-layer
COPY batch-layer ./batch-layer
COPY serving ./serving
# The image's `node` user, by number: Kubernetes' runAsNonRoot can check a numeric user only.
RUN mkdir -p /var/lib/weir && chown 1000:1000 /var/lib/weir
USER 1000:1000
# PORT: the public API; 9090 is the conventional INTERNAL_PORT (admin routes and /metrics)
# of deploy/: set INTERNAL_PORT to use it.
EXPOSE 8080 9090
# Liveness: /health turns 503 only when a consumer stopped for good. Readiness (/ready) is the
# orchestrator's business (deploy/compose.yaml, deploy/k8s/).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["bin/weir"]
CMD ["start", "--role", "serving"]
