# veer's front-door image. NODE_IMAGE is swappable because some machines reach no container
# registry: tests build with --build-arg NODE_IMAGE=veer-node-base:20 (scripts/build-test-images.sh).
# The default is the current Node LTS (26); veer also runs on Node 20.10 and later.
# Pass a private npm registry with --build-arg npm_config_registry=….
ARG NODE_IMAGE=node:26-slim

FROM ${NODE_IMAGE} AS build
ARG npm_config_registry
WORKDIR /app
COPY package.json package-lock.json ./
# No install script is needed to compile or run veer (ssh2/cpu-features only add optional native
# speed-ups and would try to download node headers); skipping them keeps the build offline-safe.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY ui ./ui
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && node -e "require('node:fs').mkdirSync('/app/.veer', { recursive: true })"

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    VEER_HEALTH_URL=http://127.0.0.1:9090/healthz
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/ui ./ui
# The default file state store writes .veer/state.json relative to the working directory.
COPY --from=build --chown=10001:10001 /app/.veer ./.veer
# Numeric ids: FROM scratch bases have neither useradd nor /etc/passwd entries to name.
USER 10001:10001
EXPOSE 8080
# No curl in the image: node itself probes the admin API (set VEER_HEALTH_URL if admin.listen moves).
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "const t=process.env.VEER_ADMIN_TOKEN;fetch(process.env.VEER_HEALTH_URL,{headers:t?{authorization:'Bearer '+t}:{}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js", "start"]
CMD ["-c", "/etc/veer/proxy.config.yaml"]
