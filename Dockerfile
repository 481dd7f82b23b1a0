# FLEET-Q worker image: one pod per container. Build: docker build -t fleet-q .
# Run:   docker run -p 8000:8000 -v fleetq-data:/data fleet-q
# Stage 1 compiles TypeScript and the native SQLite binding; stage 2 carries production
# dependencies and dist/ only, and runs as the unprivileged `node` user.
# Node.js 24 (Active LTS; 20 reached end of life in April 2026). CI runs the whole test suite on
# Node.js 24 as well as 20, and test/e2e/image-runtime.test.ts reproduces stage 2 outside Docker.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 falls back to compiling when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY machines ./machines
# `prepare` builds dist/ during the install; then drop dev dependencies for the runtime stage.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    FLEET_Q_API_HOST=0.0.0.0 \
    FLEET_Q_API_PORT=8000 \
    FLEET_Q_SQLITE_DB_PATH=/data/fleet-q.db
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8000
# /health answers 503 while starting, fenced or draining, so the orchestrator sees those states.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FLEET_Q_API_PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself: stop claiming, finish or release in-flight steps, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["start"]
