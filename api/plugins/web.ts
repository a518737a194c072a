/**
 * Serves the browser app (`web/`, built by `npm install` into `web/dist`): `index.html` at `/`, `/app` and every
 * `/app/*` path (the app routes in the browser), its hashed files under `/assets/*` (cached for a year: their names
 * change with their content), and `GET /app/config.json` (what the app cannot know by itself: the Temporal UI base
 * URL and namespace for its "open in Temporal UI" links), and its icon (`web/public/favicon.svg`, copied into the
 * build) at `/favicon.svg` and at `/favicon.ico`, where browsers (and the `/docs` page) look for it. These are the
 * paths the auth plugin leaves open; the app itself calls the REST API like any client.
 *
 * Without a build (`web/dist/index.html` missing) the app paths answer 503 with a plain page saying how to build it;
 * the API is unaffected.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DEFAULT_TEMPORAL_UI_URL } from '../config.js';

/** Where `vite build` writes the app (see web/vite.config.ts). */
export const DEFAULT_WEB_DIST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/** `GET /app/config.json`: settings the browser app reads at start. */
export const WebConfig = z.object({
  /** Temporal Web UI base URL, no trailing slash; a session's workflow is `<url>/namespaces/<ns>/workflows/session-<id>`. */
  temporalUiUrl: z.string(),
  /** Temporal namespace of the sessions. */
  namespace: z.string(),
});
export type WebConfig = z.infer<typeof WebConfig>;

export interface WebPluginOptions {
  /** The built app (holding `index.html` and `assets/`). Default {@link DEFAULT_WEB_DIST_DIR}. */
  distDir?: string;
  /** Default {@link DEFAULT_TEMPORAL_UI_URL}. */
  temporalUiUrl?: string;
  /** Default `default`. */
  namespace?: string;
}

const NOT_BUILT_PAGE = [
  '<!doctype html><meta charset="utf-8"><title>Stepwise</title>',
  '<h1>The Stepwise web app is not built</h1>',
  '<p>Run <code>npm install</code> (it builds the app) or <code>npm run build:web</code>, then restart the server. The REST API',
  'works meanwhile: see <a href="/docs">/docs</a>.</p>',
].join('\n');

const webPlugin: FastifyPluginAsync<WebPluginOptions> = async (app, opts) => {
  const distDir = opts.distDir ?? DEFAULT_WEB_DIST_DIR;
  const config: WebConfig = {
    temporalUiUrl: (opts.temporalUiUrl ?? DEFAULT_TEMPORAL_UI_URL).replace(/\/+$/, ''),
    namespace: opts.namespace ?? 'default',
  };
  const built = existsSync(join(distDir, 'index.html'));

  if (built) {
    await app.register(fastifyStatic, {
      root: join(distDir, 'assets'),
      prefix: '/assets/',
      // Vite puts a content hash in every asset name, so a cached copy is never stale.
      immutable: true,
      maxAge: '365d',
      index: false,
      // Swagger UI registers @fastify/static too; only one may decorate the reply.
      decorateReply: false,
    });
  }

  const indexPath = join(distDir, 'index.html');
  const sendIndex = async (reply: FastifyReply) => {
    if (!built) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    // Read per request (a few hundred bytes) and never cached by the browser: index.html names the current hashed
    // assets, so a rebuilt app is picked up on the next reload without a restart.
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(await readFile(indexPath));
  };

  const iconPath = join(distDir, 'favicon.svg');
  const icon = existsSync(iconPath) ? await readFile(iconPath) : undefined;
  // No icon without a build: 204 rather than a 404 on every page load.
  const sendIcon = async (reply: FastifyReply) =>
    icon ? reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').send(icon) : reply.code(204).send();

  const hidden = { schema: { hide: true } };
  app.get('/favicon.svg', hidden, async (_req, reply) => sendIcon(reply));
  app.get('/favicon.ico', hidden, async (_req, reply) => sendIcon(reply));
  app.get('/', hidden, async (_req, reply) => sendIndex(reply));
  app.get('/app', hidden, async (_req, reply) => sendIndex(reply));
  app.get('/app/*', hidden, async (_req, reply) => sendIndex(reply));
  app.get('/app/config.json', hidden, async (_req, reply) => reply.header('cache-control', 'no-cache').send(config));
};

export default webPlugin;
