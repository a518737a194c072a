# Stepwise image: one image for both roles, `stepwise worker` and `stepwise api` (docker-compose.yml picks the command).
# No build step: the CLI runs the TypeScript sources through tsx, as in a checkout.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

WORKDIR /app

# Dependencies first so that a code change does not reinstall them. Dev dependencies (typescript, vitest, @types,
# vite, preact) are not needed at run time: tsx transpiles on the fly, the Temporal worker bundles workflows itself,
# and the web app is built here, once: `npm ci --include=dev` (NODE_ENV=production would leave them out) runs the
# root's `prepare` script (web/prepare.mjs: Vite builds web/dist), then the dev dependencies are pruned.
COPY package.json package-lock.json ./
COPY web ./web
RUN npm ci --include=dev && npm prune --omit=dev && npm cache clean --force

COPY . .

# Put `stepwise` on PATH: the same bin/stepwise.js that `npx stepwise` runs in a checkout, without npx resolving
# (or, if the bin were missing, downloading) a package at container start.
RUN chmod +x bin/stepwise.js && ln -s /app/bin/stepwise.js /usr/local/bin/stepwise

# Ship the prebuilt workflow bundle (.stepwise/cache/workflows-<hash>.js): a (re)started worker polls in about a
# second instead of bundling the workflow code first, so a crashed worker's sessions resume sooner.
RUN stepwise bundle

# Agents are read from here unless STEPWISE_AGENTS says otherwise.
ENV STEPWISE_AGENTS=/app/examples \
    PORT=3000

USER node
EXPOSE 3000
CMD ["stepwise", "api"]
