# syntax=docker/dockerfile:1
#
# One image for all three Flagstream apps; docker-compose.yml picks the app with `command:`
#   node dist/apps/admin/main.js | node dist/apps/gateway/main.js | node dist/apps/worker/main.js
# No HEALTHCHECK here: compose defines one per app (each listens on its own port).

# ---- build: full dependency tree, compile the three webpack bundles into dist/ -------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- runtime: production dependencies + dist/ only, non-root -------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    SCARF_ANALYTICS=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
# The bundles keep node_modules as externals, so they need the production tree above.
COPY --from=build /app/dist ./dist
# Files stay root-owned (read-only to the app); the process runs as the image's `node` user.
USER node
EXPOSE 4000 4001 4002
CMD ["node", "dist/apps/admin/main.js"]
