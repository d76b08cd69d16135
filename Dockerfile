# syntax=docker/dockerfile:1
# One image for the gateway and every worker; compose and the Kubernetes manifests pick the entry point.
# Stages: deps (every dependency, for the build) → build (Prisma clients, tsc to dist/, the workflow bundle)
# → prod-deps (production dependencies only) → runtime (those, the compiled JavaScript and the bundle; no tsx,
# no compiler, no dev dependency). Install scripts stay off, as on every machine of this project: nothing needs them.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
# Schemas, migrations and the migration configs: the set-up job runs `prisma migrate deploy` with them.
COPY prisma ./prisma
COPY --from=build /app/dist ./dist
# The node image's unprivileged user "node", by number so that runAsNonRoot can check it; /app is not writable by it.
USER 1000:1000
EXPOSE 3000
# The gateway's check; a worker's container overrides it (compose, Kubernetes probes).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/api/server.js"]
