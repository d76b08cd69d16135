# One image for the gateway and every worker; docker-compose picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm install, not npm ci: see .ci/run for why this lockfile needs it.
RUN npm install --include=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY . .
RUN node --import tsx scripts/prepare-clients.ts
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "api/server.ts"]
