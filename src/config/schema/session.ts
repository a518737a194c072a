/** Zod schema of the agent YAML: the `session`, `server` (NOMOS) and `logging` sections. */
import { z } from 'zod';
import { RawDuration } from './tools.js';

export const RawSession = z.strictObject({
  /** Idle sessions end after this long without a message (default `24h`). */
  idle_timeout: RawDuration.optional(),
  /** How long a tool call waits for approval when its `approval.timeout` is unset (default `24h`); `never`: no timeout. */
  approval_timeout: RawDuration.optional(),
  /**
   * Turns per workflow run before continue-as-new (default 100, see `SessionLimits`). At most 1,500: each turn is at least one update, and
   * Temporal accepts at most 2,000 updates per run (`history.maxTotalUpdates`, https://docs.temporal.io/workflows#limits).
   */
  max_turns_per_run: z.number().int().min(1).max(1_500, 'at most 1500 (Temporal accepts 2,000 updates per workflow run)').optional(),
  /** History size in bytes that triggers continue-as-new (default 2 MiB, so a cold replay fits a workflow task; Temporal warns at 10 MiB, fails at 50). */
  max_history_bytes: z.number().int().min(100_000).max(40_000_000).optional(),
});

/** NOMOS `server.security` (FastAPI server): accepted; Stepwise's own auth, CORS and rate limits are set elsewhere. */
export const RawServerSecurity = z.strictObject({
  allowed_origins: z.array(z.string()).optional(),
  enable_auth: z.boolean().optional(),
  auth_type: z.enum(['jwt', 'api_key']).optional(),
  jwt_secret_key: z.string().optional(),
  api_key_url: z.string().optional(),
  enable_rate_limiting: z.boolean().optional(),
  redis_url: z.string().optional(),
  rate_limit_times: z.number().int().optional(),
  rate_limit_seconds: z.number().int().optional(),
  /** Written in NOMOS's docs (`"100/minute"`); NOMOS ignores it. */
  rate_limit: z.string().optional(),
  enable_csrf_protection: z.boolean().optional(),
  csrf_secret_key: z.string().optional(),
  enable_token_endpoint: z.boolean().optional(),
});

/** NOMOS `server:` — `port`/`host` are used by `stepwise api` and `stepwise dev` when `PORT`/`HOST` are unset. */
export const RawServer = z.strictObject({
  port: z.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  workers: z.number().int().optional(),
  security: RawServerSecurity.optional(),
  session: z
    .strictObject({
      store_type: z.enum(['memory', 'production']).optional(),
      default_ttl: z.number().int().optional(),
      cache_ttl: z.number().int().optional(),
      database_url: z.string().optional(),
      redis_url: z.string().optional(),
      kafka_brokers: z.string().optional(),
      kafka_topic: z.string().optional(),
      events_enabled: z.boolean().optional(),
    })
    .optional(),
});
export type RawServer = z.infer<typeof RawServer>;

/** NOMOS `logging:` (loguru handlers). Accepted with a warning: Stepwise logs through pino (`LOG_LEVEL`). */
export const RawLogging = z.strictObject({
  enable: z.boolean(),
  handlers: z
    .array(z.strictObject({ type: z.string(), level: z.string(), format: z.string().optional() }))
    .optional(),
});
