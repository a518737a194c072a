/**
 * Authentication and scopes (CONTRACTS.md "Auth"). `Authorization: Bearer <credential>` where the credential is an
 * API key (`STEPWISE_API_KEYS`, or hashed in `STEPWISE_API_KEYS_FILE`) or, when `STEPWISE_JWT_JWKS_URL` is set, a
 * JWT from the team's identity provider, or (with `STEPWISE_NOMOS_TOKEN_SECRET`) an HS256 token from NOMOS's
 * `POST /auth/token`. Header parsing and the 401 path are `@fastify/bearer-auth`'s; key hashes
 * are compared in `../auth/keys.ts`, JWTs verified by `jose` in `../auth/jwt.ts`.
 *
 * - Open (no credential needed): `/health`, `/metrics` (when on), `/docs*`, the web app's static files (`/`, `/assets/*`, `/app*`), and
 *   CORS preflights (`OPTIONS`).
 * - Everything else: 401 UNAUTHORIZED without a valid credential; 403 FORBIDDEN when the credential lacks the
 *   route's scope: `config: { scope }` on the route, else `sessions:read` for GET/HEAD and `sessions:write` for the
 *   rest. `admin` satisfies every scope.
 * - `request.principal` is the caller (`undefined` with auth off). Not encapsulated: applies to every route.
 * - Credentials bound to a user only create, list and reach their own sessions (`../auth/user-binding.ts`).
 */
import bearerAuth from '@fastify/bearer-auth';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { CallerError } from '../../src/errors.js';
import { isHs256, type JwtOptions, jwtVerifier, looksLikeJwt, nomosTokenVerifier, type NomosTokenVerifyOptions } from '../auth/jwt.js';
import { type ApiKeyEntry, apiKeyMatcher, type Principal, type Scope } from '../auth/keys.js';
import { enforceUserBinding } from '../auth/user-binding.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; `undefined` when auth is off (and on open routes). */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Scope this route needs. Default: `sessions:read` for GET/HEAD, `sessions:write` otherwise. */
    scope?: Scope;
  }
}

/** Credentials the API accepts. Auth is on when this is given to `buildApp`. */
export interface AuthOptions {
  /** API keys (hashed). May be empty when only JWTs are accepted. */
  keys: ApiKeyEntry[];
  /** Also accept JWTs verified against this identity provider. */
  jwt?: JwtOptions;
  /**
   * Also accept HS256 tokens from NOMOS's `POST /auth/token` (`buildApp` sets this from the token endpoint's options,
   * so both use one secret). Not a credential source by itself: tokens are issued only to authenticated callers.
   */
  nomosToken?: NomosTokenVerifyOptions;
}

/** Whether `path` (no query string) is served without credentials. */
export function isOpenPath(path: string): boolean {
  return (
    path === '/health' ||
    path === '/metrics' ||
    path === '/docs' ||
    path.startsWith('/docs/') ||
    path === '/' ||
    path === '/favicon.ico' ||
    path === '/favicon.svg' ||
    path.startsWith('/assets/') ||
    // `/app`, `/app/...`, `/app.js`, `/app*` (a wildcard route) — but not `/approvals` or other API routes.
    /^\/app($|[/.*])/.test(path)
  );
}

/** The scope `request`'s route needs. */
export function requiredScope(request: FastifyRequest): Scope {
  const declared = request.routeOptions.config?.scope;
  if (declared) return declared;
  return request.method === 'GET' || request.method === 'HEAD' ? 'sessions:read' : 'sessions:write';
}

/** Whether `principal` may use a route needing `scope`. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

const authPlugin: FastifyPluginAsync<{ auth?: AuthOptions }> = async (app, opts) => {
  app.decorateRequest('principal', undefined);
  const auth = opts.auth;
  if (!auth) return;

  const matchKey = apiKeyMatcher(auth.keys);
  const verifyIdpJwt = auth.jwt ? jwtVerifier(auth.jwt) : undefined;
  const verifyNomos = auth.nomosToken ? nomosTokenVerifier(auth.nomosToken) : undefined;
  // HS256 tokens are the API's own (NOMOS); anything else goes to the identity provider's JWKS.
  const verifierFor = (token: string) => (isHs256(token) ? verifyNomos : verifyIdpJwt);
  await app.register(bearerAuth, {
    addHook: false,
    keys: [],
    verifyErrorLogLevel: 'info',
    // Resolves the principal; `false` makes bearer-auth fail the request with 401. Never throws (a throw is a 500).
    auth: async (credential: string, request: FastifyRequest) => {
      const byKey = matchKey(credential);
      if (byKey) {
        request.principal = byKey;
        return true;
      }
      const verifyJwt = looksLikeJwt(credential) ? verifierFor(credential) : undefined;
      if (!verifyJwt) return false;
      const verdict = await verifyJwt(credential);
      if ('reason' in verdict) {
        request.log.info({ reason: verdict.reason }, 'JWT rejected');
        return false;
      }
      request.principal = verdict;
      return true;
    },
  });

  app.addHook('onRequest', (request, reply, done) => {
    // The matched route's pattern (e.g. `/docs/*`), or the path for an unknown route (which needs credentials too).
    const path = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
    if (request.method === 'OPTIONS' || isOpenPath(path)) return done();
    app.verifyBearerAuth!(request, reply, (err?: Error) => {
      if (err) return done(err);
      const scope = requiredScope(request);
      if (!request.principal || !hasScope(request.principal, scope)) {
        return done(new CallerError('FORBIDDEN', `this credential lacks the scope ${scope}`, { requiredScope: scope }));
      }
      done();
    });
  });
  app.addHook('preHandler', async (request) => enforceUserBinding(app, request));
};

(authPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default authPlugin;
