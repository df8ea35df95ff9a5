# syntax=docker/dockerfile:1
# streamline: one job per container. Build:  docker build -t streamline .
# Run (embedded default):  docker run --rm -p 9249:9249 streamline jobs/orders --generator-count 100000
# scripts/check-production-install.sh proves what these two stages do, without a Docker engine
# (CI runs it on Node 22, this image's Node).
# Node 22 LTS (Node 20 reached end of life in April 2026; the AWS SDK's 2027
# releases need 22); package.json `engines` lists the Node versions CI tests.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- stage 1: compile with the dev dependencies (TypeScript) ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# --- stage 2: production dependencies and the compiled output only --------------------------
FROM ${NODE_IMAGE} AS runtime
# Named in every Parquet footer's created_by (the image has no git checkout to ask).
ARG STREAMLINE_BUILD_COMMIT=unknown
# MALLOC_ARENA_MAX: glibc gives threads that allocate natively malloc arenas of their own (up to 8
# per core) and keeps what they free; two arenas cut peak RSS 10-12 % at no CPU cost (BENCHMARKS.md).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    METRICS_PORT=9249 \
    STREAMLINE_WORK_DIR=/var/lib/streamline \
    STREAMLINE_BUILD_COMMIT=${STREAMLINE_BUILD_COMMIT}
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Local state of the embedded default (warehouse, checkpoints, HA lease); production points
# CHECKPOINT_URI / TABLE_BUCKET_ARN / DYNAMODB_TABLE at AWS and only needs it as scratch space.
RUN mkdir -p /var/lib/streamline && chown node:node /var/lib/streamline
# The official image's unprivileged user (uid 1000).
USER node
EXPOSE 9249
# Liveness with node itself (the slim image has no curl); honours METRICS_PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9249)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM = stop with a final checkpoint (within STOP_TIMEOUT_MS); give `docker stop -t` more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/run.js"]
CMD ["jobs/orders"]
