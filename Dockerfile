# syntax=docker/dockerfile:1
#
# piapi gateway image.
#   docker build -t piapi .
#   docker run -p 9200:9200 -v "$PWD/myconfig:/app/config:ro" -e ALPHA_MAIN_KEY piapi
#
# Debian slim rather than Alpine: Node's musl builds are an "experimental" platform tier, and
# musl's resolver behaves differently from glibc's (it asks all nameservers at once; before musl
# 1.2.4 it had no TCP fallback for large answers), which matters for a gateway that resolves
# upstream hosts all day through getaddrinfo; prebuilt native addons that may join the
# dependency tree target glibc first; and bookworm is what CI runs on, so the production-install
# test there exercises the same libc. The size difference (~40 MB) is small next to the ~220 MB
# of production node_modules.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: full install, compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: production dependencies only, no install scripts ----
# (the only production packages with install scripts are protobufjs, whose postinstall merely
# checks its CLI's versions, and @google/genai's no-op preinstall)
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# A larger young generation: translated routes allocate ~150 KB per answer, and with V8's
# default the same build ran at ~830 or ~1,150 req/s from one process to the next; with 32 MB
# every run was in the faster group (bench/RESULTS.md, /v1/responses). `-e NODE_OPTIONS=…` replaces it.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=32 \
    PIAPI_CONFIG=/app/config/config.yaml \
    PIAPI_LISTEN=:9200
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
# A working demo config; real deployments mount a directory over /app/config (a directory, so
# hot reload sees editors' atomic renames and ConfigMap symlink swaps).
COPY config/piapi.example.yaml ./config/config.yaml

# The image's `node` user, by number so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 1000:1000
EXPOSE 9200
# piapi drains on SIGTERM: /readyz turns 503, open streams finish within shutdownGraceMs.
# Node runs as PID 1 and installs its own SIGTERM/SIGINT handlers, so no init is needed; it
# starts no child processes to reap.
STOPSIGNAL SIGTERM
# The slim image has no curl: probe with Node's fetch, on the port PIAPI_LISTEN names.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "const p=(process.env.PIAPI_LISTEN||':9200').split(':').pop();fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Config and listen address come from PIAPI_CONFIG and PIAPI_LISTEN; `docker run piapi start
# --config /path` overrides them.
ENTRYPOINT ["node", "bin/piapi.js"]
CMD ["start"]
