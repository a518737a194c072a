/**
 * Rate limits (`@fastify/rate-limit`) on every route. Not encapsulated. Register after the auth plugin (limits are
 * counted per credential) and before the routes (the rate limiter hooks routes as they are added).
 *
 * - Requests: at most `requestsPerMinute` per credential (`request.principal.keyId`), or per client IP for requests
 *   without one (auth off, open routes).
 * - Messages: routes declaring `config: { sessionMessageLimit: true }` (POST /sessions/:sessionId/messages) also
 *   take at most `sessionMessagesPerMinute` per session, whoever sends them.
 * - Over a limit: 429 RATE_LIMITED with `Retry-After` (seconds) and the standard error body. Counters (fixed
 *   one-minute windows) live in this process's memory by default: with N API instances behind a load balancer a
 *   client gets up to N times the limit. With `redisUrl` they live in Redis, shared by every instance; if Redis is
 *   away, requests are served uncounted (fail open, see `./rate-limit-redis.ts`).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { CallerError } from '../../src/errors.js';
import { RATE_LIMIT_KEY_PREFIX, rateLimitRedis } from './rate-limit-redis.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Count requests to this route against the per-session message limit (`params.sessionId`). */
    sessionMessageLimit?: boolean;
  }
}

/** Default requests per minute per credential or IP. */
export const DEFAULT_REQUESTS_PER_MINUTE = 600;
/** Default messages per minute per session. */
export const DEFAULT_SESSION_MESSAGES_PER_MINUTE = 60;

const MINUTE_MS = 60_000;

export interface RateLimitOptions {
  /** Requests per minute per credential (or per IP without one); 0 = unlimited. Default {@link DEFAULT_REQUESTS_PER_MINUTE}. */
  requestsPerMinute?: number;
  /** Messages per minute per session; 0 = unlimited. Default {@link DEFAULT_SESSION_MESSAGES_PER_MINUTE}. */
  sessionMessagesPerMinute?: number;
  /** Redis URL (`redis://[:password@]host:port[/db]`, `rediss://` for TLS) of counters shared by every API instance. Default: per-process counters. */
  redisUrl?: string;
}

/** The 429 error every limiter throws: RATE_LIMITED, `details.retryAfterSeconds` (the error handler's `Retry-After`). */
function rateLimited(what: string, max: number, ttlMs: number): CallerError {
  const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new CallerError('RATE_LIMITED', `rate limit exceeded: at most ${max} ${what} per minute; retry in ${retryAfterSeconds} s`, {
    limit: max,
    retryAfterSeconds,
  });
}

/** Rate limit key: the credential when there is one, else the client IP. */
function callerKey(request: FastifyRequest): string {
  return request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`;
}

const rateLimitsPlugin: FastifyPluginAsync<RateLimitOptions> = async (app, opts) => {
  const perCaller = opts.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE;
  const perSession = opts.sessionMessagesPerMinute ?? DEFAULT_SESSION_MESSAGES_PER_MINUTE;
  if (perCaller <= 0 && perSession <= 0) return;
  const redis = opts.redisUrl ? rateLimitRedis(opts.redisUrl, app.log) : undefined;
  if (redis) app.addHook('onClose', async () => redis.disconnect());
  await app.register(rateLimit, {
    ...(redis ? { redis, nameSpace: RATE_LIMIT_KEY_PREFIX, skipOnError: true } : {}),
    global: perCaller > 0,
    max: perCaller,
    timeWindow: MINUTE_MS,
    keyGenerator: callerKey,
    errorResponseBuilder: (_request, ctx) => rateLimited('requests', ctx.max, ctx.ttl),
  });
  if (perSession <= 0) return;
  const sessionLimit = app.createRateLimit({
    max: perSession,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => `session:${(request.params as { sessionId?: string }).sessionId ?? ''}`,
  });
  app.addHook('onRoute', (route) => {
    if (!route.config?.sessionMessageLimit) return;
    const check = async (request: FastifyRequest) => {
      const result = await sessionLimit(request);
      if (!result.isAllowed && result.isExceeded) throw rateLimited('messages to one session', result.max, result.ttl);
    };
    route.preHandler = [...(Array.isArray(route.preHandler) ? route.preHandler : route.preHandler ? [route.preHandler] : []), check];
  });
};

(rateLimitsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default rateLimitsPlugin;
