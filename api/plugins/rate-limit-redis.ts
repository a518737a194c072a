/**
 * The Redis connection behind shared rate limits (`STEPWISE_RATE_LIMIT_REDIS_URL`): every API instance counts in the
 * same Redis keys (`@fastify/rate-limit`'s documented Redis store: one Lua `INCR` + `PEXPIRE` per request and limit),
 * so N instances behind a load balancer allow the limit once, not N times.
 *
 * Failure mode: **fail open**. A request whose count cannot be taken (Redis unreachable, a command slower than
 * {@link REDIS_COMMAND_TIMEOUT_MS}) is served uncounted (`skipOnError: true`), never refused and never a 5xx: rate
 * limits are a guard against abuse, and Redis being away must not take the API down with it. The API logs a warning
 * when Redis goes away and an info line when it is back; commands are not queued while it is away (no backlog, no
 * latency), and ioredis reconnects in the background (its default backoff, at most 2 s between attempts).
 */
import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

/** Longest wait for one rate-limit command, in ms; past it the request is served uncounted. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;

/** Longest wait for a connection attempt, in ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/** Prefix of every rate-limit key Stepwise writes (`stepwise:rl:key:<keyId>`, `stepwise:rl:session:<id>`, ...). */
export const RATE_LIMIT_KEY_PREFIX = 'stepwise:rl:';

/**
 * Opens the connection (in the background: never throws, never waits for Redis) and logs its state changes on `log`.
 * The caller closes it with `disconnect()`.
 */
export function rateLimitRedis(url: string, log: FastifyBaseLogger): Redis {
  const redis = new Redis(url, {
    // Fail fast while disconnected (the request is then served uncounted) instead of queueing commands.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  const where = redactedUrl(url);
  let down = false;
  redis.on('ready', () => {
    if (down) log.info({ redis: where }, 'rate limits: Redis is back; counting shared again');
    down = false;
  });
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ redis: where, error: err.message }, 'rate limits: Redis unreachable; requests are served UNCOUNTED until it is back (fail open)');
  });
  return redis;
}

/** The URL without its password, for logs. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable url)';
  }
}
