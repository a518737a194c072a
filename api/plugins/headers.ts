/**
 * Security headers (`@fastify/helmet`) and CORS (`@fastify/cors`) on every reply, errors included. Not encapsulated.
 * Registered before the auth plugin, so preflights are answered without credentials and a 401 still carries the CORS
 * headers a browser app needs to read it.
 *
 * - Helmet's defaults (CSP `default-src 'self'`, nosniff, HSTS, frame options...), minus `upgrade-insecure-requests`.
 *   `/docs` (Swagger UI) sends its own CSP with the hashes of its inline scripts (`./swagger.ts`).
 * - CORS: only for `corsOrigins` (`*` = any origin); none configured = no CORS headers (same-origin callers only).
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync } from 'fastify';

export interface HeadersOptions {
  /** Origins allowed to call the API from a browser, e.g. `['https://app.example']`; `['*']` = any. Default: none. */
  corsOrigins?: string[];
}

const headersPlugin: FastifyPluginAsync<HeadersOptions> = async (app, opts) => {
  await app.register(helmet, {
    contentSecurityPolicy: {
      // Without this, browsers reaching the API over plain HTTP by a non-localhost name would ask for every script
      // and stylesheet over HTTPS (and fail). TLS is the proxy's business; HSTS still applies once it is there.
      directives: { upgradeInsecureRequests: null },
    },
  });

  const origins = opts.corsOrigins ?? [];
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: ['Location', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
      maxAge: 600,
    });
  }
};

(headersPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default headersPlugin;
