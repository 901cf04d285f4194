# syntax=docker/dockerfile:1

# kinesis-relay container image.
#
#   docker build -t kinesis-relay:local .
#   docker run --rm -v "$PWD/relay.yaml:/etc/kinesis-relay/relay.yaml:ro" kinesis-relay:local
#
# Pin NODE_IMAGE to a digest in your own builds (node:24-trixie-slim@sha256:...) so a
# rebuild of the same commit gives the same image.
ARG NODE_IMAGE=node:24-trixie-slim

# ---------------------------------------------------------------------------------------
# build: all dependencies, TypeScript compiled to dist/
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: compiling needs no dependency's install script, and skipping them
# keeps a compromised package from running code at build time.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------------------
# runtime: production dependencies, dist/, tini as PID 1, an unprivileged user
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# tini runs as PID 1: it forwards SIGTERM/SIGINT to the relay (which flushes sinks,
# checkpoints and releases its leases) and reaps zombies. Node as PID 1 would get no
# default signal handling from the kernel.
# The wrapper puts `kinesis-relay` on PATH, so `kubectl exec ... -- kinesis-relay leases`
# works; `exec` replaces the shell, so the process tree is tini -> node.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid relay --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin relay \
    && printf '#!/bin/sh\nexec node --enable-source-maps /app/dist/main.js "$@"\n' \
       > /usr/local/bin/kinesis-relay \
    && chmod 0755 /usr/local/bin/kinesis-relay

WORKDIR /app
# A 2 GiB V8 heap limit whatever the container's memory limit: Node otherwise sizes V8 from
# that limit, and below 2 GiB V8 collects as on a small device, ~40 % more CPU per record
# (docs/performance.md, "A pod's V8"). What the relay holds stays bounded by its memory
# budget (memory.limitBytes), not by this limit.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=2048 \
    KINESIS_RELAY_CONFIG=/etc/kinesis-relay/relay.yaml

COPY package.json package-lock.json ./
# Production dependencies only. npm and corepack are removed afterwards: nothing runs
# them at run time, and vulnerability scanners stop reporting their bundled packages.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
       /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack

COPY --from=build /src/dist ./dist

# Files stay owned by root and read-only for the relay; it writes nothing to the image
# (Kubernetes runs it with readOnlyRootFilesystem and an emptyDir on /tmp).
# Numeric, so Kubernetes can verify runAsNonRoot without a runAsUser of its own.
USER 10001:10001

# /metrics, /healthz and /readyz listen on metrics.port (default 9464).
EXPOSE 9464

# For `docker run` and compose; Kubernetes ignores HEALTHCHECK and uses the chart's
# probes on /healthz and /readyz. Assumes the default metrics.port. Plain bash (/dev/tcp),
# not a second node: that would add ~50 MiB to the container's memory every 30 s, and a
# relay near its limit would be the process the kernel kills.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

LABEL org.opencontainers.image.title="kinesis-relay" \
      org.opencontainers.image.description="Amazon Kinesis Data Streams consumer with KCL-compatible DynamoDB leases, delivering to S3, Redshift and webhooks" \
      org.opencontainers.image.licenses="Apache-2.0"

ENTRYPOINT ["/usr/bin/tini", "--", "kinesis-relay"]
CMD ["run", "--config", "/etc/kinesis-relay/relay.yaml"]
