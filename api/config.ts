/**
 * Environment of the API process, parsed once at startup (`loadApiConfig`). Every variable has a default, so
 * `stepwise api` runs with an empty environment against a local Temporal dev server.
 */
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../workflows/shared.js';
import type { TLSConfig } from '@temporalio/client';
import { temporalConnectionOptions } from '../runtime/env.js';
import { StepwiseError } from '../src/errors.js';
import { type CodecKey, parseCodecKeys } from '../runtime/payload-codec.js';
import { DEFAULT_CODEC_CORS_ORIGINS } from './routes/codec.js';
import { type FileLimits, fileLimitsFromEnv } from './files/limits.js';
import { ANY_AUDIENCE, type JwtOptions } from './auth/jwt.js';
import { plainKeyEntries, readApiKeysFile } from './auth/keys.js';
import type { AuthOptions } from './plugins/auth.js';
import type { HeadersOptions } from './plugins/headers.js';
import { DEFAULT_EVENTS_IDLE_POLL_MS } from './routes/events.js';
import { DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_SESSION_MESSAGES_PER_MINUTE, type RateLimitOptions } from './plugins/rate-limits.js';

/** Default largest request body, in bytes: a 32,000-character (`MAX_MESSAGE_CHARS`) message of 4-byte UTF-8 characters + JSON. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;

/** Default time a request may take before Fastify answers 408, in ms. Long enough for a multi-tool turn. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** How long one attempt to reach Temporal waits, in ms. */
export const DEFAULT_TEMPORAL_CONNECT_TIMEOUT_MS = 5_000;

/** Default interval between background attempts to reach Temporal when it was unreachable, in ms. */
export const DEFAULT_TEMPORAL_RETRY_MS = 5_000;

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const commaList = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0));
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Default Temporal Web UI: the one `temporal server start-dev` (and so `stepwise dev`) serves. */
export const DEFAULT_TEMPORAL_UI_URL = 'http://localhost:8233';

/** Raw environment schema (names as in DESIGN.md "CLI"). Empty strings count as unset. */
const ApiEnv = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** `true` connects to Temporal over TLS with system roots (e.g. Temporal Cloud with mTLS configured elsewhere). */
  TEMPORAL_TLS: flag.default(false),
  STEPWISE_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  /** Agent config paths or directories, comma-separated (loaded by the caller of `startServer`). */
  STEPWISE_AGENTS: z.string().optional(),
  STEPWISE_BODY_LIMIT_BYTES: positiveInt.default(DEFAULT_BODY_LIMIT_BYTES),
  STEPWISE_REQUEST_TIMEOUT_MS: positiveInt.default(DEFAULT_REQUEST_TIMEOUT_MS),
  /** Longest interval between two `getEvents` polls of a quiet watched session (api/routes/events.ts). */
  STEPWISE_EVENTS_IDLE_POLL_MS: positiveInt.default(DEFAULT_EVENTS_IDLE_POLL_MS),
  STEPWISE_TEMPORAL_RETRY_MS: positiveInt.default(DEFAULT_TEMPORAL_RETRY_MS),
  /** Payload encryption keys `<id>:<base64 32 bytes>,...`, first = current (see workers/payload-codec.ts). */
  STEPWISE_CODEC_KEYS: z.string().optional(),
  /** Browser origins allowed to call `/codec/*`, comma-separated. */
  STEPWISE_CODEC_CORS_ORIGINS: z.string().optional(),
  /** Plain API keys, comma-separated (every scope, no user binding). */
  STEPWISE_API_KEYS: z.string().optional(),
  /** YAML/JSON list of hashed keys with scopes and optional user binding (`api/auth/keys.ts`). */
  STEPWISE_API_KEYS_FILE: z.string().optional(),
  STEPWISE_JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  STEPWISE_JWT_ISSUER: z.string().optional(),
  STEPWISE_JWT_AUDIENCE: z.string().optional(),
  STEPWISE_JWT_USER_CLAIM: z.string().optional(),
  /** `off`: `stepwise api` serves without credentials (it refuses to start with no credentials configured otherwise). */
  STEPWISE_AUTH: z.enum(['off']).optional(),
  STEPWISE_RATE_LIMIT_PER_MINUTE: nonNegativeInt.default(DEFAULT_REQUESTS_PER_MINUTE),
  STEPWISE_SESSION_MESSAGES_PER_MINUTE: nonNegativeInt.default(DEFAULT_SESSION_MESSAGES_PER_MINUTE),
  /** Redis shared by every API instance for rate-limit counters (`redis://` or `rediss://`); unset: per-process counters. */
  STEPWISE_RATE_LIMIT_REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** `true`: `GET /metrics` (Prometheus) on the API's port. */
  STEPWISE_API_METRICS: flag.default(false),
  STEPWISE_CORS_ORIGINS: commaList.optional(),
  /** `true`, `false`, or comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed. */
  STEPWISE_TRUST_PROXY: z.string().optional(),
  /** Pino level; `silent` turns logging off. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Temporal Web UI base URL the web app links sessions to (`/namespaces/<ns>/workflows/session-<id>`). */
  STEPWISE_TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).default(DEFAULT_TEMPORAL_UI_URL),
});

/** Parsed API configuration. Durations in ms, sizes in bytes. */
export interface ApiConfig {
  port: number;
  host: string;
  /** `connectTimeoutMs`: how long one connection attempt waits for the server (not from the environment). */
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /** TLS: `TEMPORAL_TLS`, or mTLS from `TEMPORAL_TLS_CERT_PATH` + `TEMPORAL_TLS_KEY_PATH`, or implied by an API key. */
    tls: boolean | TLSConfig;
    /** `TEMPORAL_API_KEY` (Temporal Cloud). */
    apiKey?: string;
    connectTimeoutMs: number;
  };
  /** Raw `STEPWISE_AGENTS` value (paths/dirs), if set. */
  agentPaths?: string;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** `STEPWISE_EVENTS_IDLE_POLL_MS`: longest interval between polls of a quiet watched session, in ms. */
  eventsIdlePollMs: number;
  temporalRetryMs: number;
  logLevel: z.infer<typeof ApiEnv>['LOG_LEVEL'];
  /** `STEPWISE_CODEC_KEYS`, parsed: payloads encrypted and `/codec/*` served when set. */
  codecKeys?: CodecKey[];
  /** `STEPWISE_CODEC_CORS_ORIGINS`; default `http://localhost:8233` (the dev server's UI). */
  codecCorsOrigins: string[];
  /** Accepted credentials; `undefined` when none is configured (auth off). */
  auth?: AuthOptions;
  /** `STEPWISE_AUTH=off`: serving without credentials is deliberate (`stepwise api` refuses otherwise). */
  authOff: boolean;
  /** Rate limits and CORS origins. */
  guards: Required<Omit<RateLimitOptions, 'redisUrl'> & HeadersOptions> & Pick<RateLimitOptions, 'redisUrl'>;
  /** `STEPWISE_API_METRICS`: serve `GET /metrics`. */
  metrics: boolean;
  /** Fastify `trustProxy` (`STEPWISE_TRUST_PROXY`). */
  trustProxy: boolean | string[];
  /** `STEPWISE_TEMPORAL_UI_URL`, without a trailing slash. Default {@link DEFAULT_TEMPORAL_UI_URL}. */
  temporalUiUrl: string;
  /** Deliberately weakened settings the server logs as warnings at startup (e.g. `STEPWISE_JWT_AUDIENCE=*`); absent when none. */
  warnings?: string[];
  /** Message attachments: `STEPWISE_MAX_FILE_BYTES`, `STEPWISE_MAX_FILES_PER_MESSAGE`, `STEPWISE_ALLOWED_FILE_TYPES`. */
  files: FileLimits;
}

/**
 * Reads the API configuration from `env` (default `process.env`).
 *
 * @throws StepwiseError INVALID_CONFIG (not retryable) naming every malformed variable, e.g. `PORT: expected number`;
 *   and for inconsistent auth settings (see `authOf`: e.g. `STEPWISE_JWT_JWKS_URL` without `STEPWISE_JWT_AUDIENCE`).
 */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ApiEnv.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StepwiseError('INVALID_CONFIG', `invalid environment: ${problems.join('; ')}`, { issues: problems });
  }
  const e = parsed.data;
  const shared = temporalConnectionOptions(env);
  const codecKeys = parseCodecKeys(e.STEPWISE_CODEC_KEYS);
  const auth = authOf(e);
  const warnings = auth?.jwt?.audience === ANY_AUDIENCE ? [AUDIENCE_OFF_WARNING] : [];
  return {
    port: e.PORT,
    host: e.HOST,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.STEPWISE_TASK_QUEUE,
      // Same TLS/API-key rules as the worker (cli/env.ts), plus the TEMPORAL_TLS flag.
      tls: shared.tls ?? e.TEMPORAL_TLS,
      ...(shared.apiKey ? { apiKey: shared.apiKey } : {}),
      connectTimeoutMs: DEFAULT_TEMPORAL_CONNECT_TIMEOUT_MS,
    },
    ...(e.STEPWISE_AGENTS ? { agentPaths: e.STEPWISE_AGENTS } : {}),
    bodyLimitBytes: e.STEPWISE_BODY_LIMIT_BYTES,
    requestTimeoutMs: e.STEPWISE_REQUEST_TIMEOUT_MS,
    eventsIdlePollMs: e.STEPWISE_EVENTS_IDLE_POLL_MS,
    temporalRetryMs: e.STEPWISE_TEMPORAL_RETRY_MS,
    logLevel: e.LOG_LEVEL,
    ...(codecKeys ? { codecKeys } : {}),
    codecCorsOrigins: e.STEPWISE_CODEC_CORS_ORIGINS
      ? e.STEPWISE_CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean)
      : DEFAULT_CODEC_CORS_ORIGINS,
    ...(auth ? { auth } : {}),
    authOff: e.STEPWISE_AUTH === 'off',
    guards: {
      requestsPerMinute: e.STEPWISE_RATE_LIMIT_PER_MINUTE,
      sessionMessagesPerMinute: e.STEPWISE_SESSION_MESSAGES_PER_MINUTE,
      ...(e.STEPWISE_RATE_LIMIT_REDIS_URL ? { redisUrl: e.STEPWISE_RATE_LIMIT_REDIS_URL } : {}),
      corsOrigins: e.STEPWISE_CORS_ORIGINS ?? [],
    },
    metrics: e.STEPWISE_API_METRICS,
    trustProxy: trustProxyOf(e.STEPWISE_TRUST_PROXY),
    temporalUiUrl: e.STEPWISE_TEMPORAL_UI_URL.replace(/\/+$/, ''),
    ...(warnings.length > 0 ? { warnings } : {}),
    files: fileLimitsFromEnv(env),
  };
}

const AUDIENCE_OFF_WARNING =
  `STEPWISE_JWT_AUDIENCE=${ANY_AUDIENCE}: JWTs are accepted for any audience, so a token the identity provider issued ` +
  'for another application is accepted here too. Set STEPWISE_JWT_AUDIENCE to this API\'s audience (docs/production.md "Authentication").';

/**
 * Credentials from the environment, or `undefined` when none is configured.
 * @throws StepwiseError INVALID_CONFIG for an unreadable/invalid keys file, JWT settings without a JWKS URL, or a
 *   JWKS URL without `STEPWISE_JWT_AUDIENCE` (the audience check is required; `*` opts out explicitly).
 */
function authOf(e: z.infer<typeof ApiEnv>): AuthOptions | undefined {
  const keys = [
    ...(e.STEPWISE_API_KEYS ? plainKeyEntries(e.STEPWISE_API_KEYS) : []),
    ...(e.STEPWISE_API_KEYS_FILE ? readApiKeysFile(e.STEPWISE_API_KEYS_FILE) : []),
  ];
  const jwtSet = e.STEPWISE_JWT_JWKS_URL ?? e.STEPWISE_JWT_ISSUER ?? e.STEPWISE_JWT_AUDIENCE ?? e.STEPWISE_JWT_USER_CLAIM;
  if (jwtSet !== undefined && !e.STEPWISE_JWT_JWKS_URL) {
    throw new StepwiseError('INVALID_CONFIG', 'invalid environment: STEPWISE_JWT_JWKS_URL is required to verify JWTs');
  }
  if (keys.length === 0 && !e.STEPWISE_JWT_JWKS_URL) {
    if (e.STEPWISE_API_KEYS_FILE) throw new StepwiseError('INVALID_CONFIG', `STEPWISE_API_KEYS_FILE ${e.STEPWISE_API_KEYS_FILE}: no keys`);
    return undefined;
  }
  const jwt = e.STEPWISE_JWT_JWKS_URL ? jwtOf(e.STEPWISE_JWT_JWKS_URL, e) : undefined;
  return { keys, ...(jwt ? { jwt } : {}) };
}

/** JWT settings once a JWKS URL is set. @throws StepwiseError INVALID_CONFIG when `STEPWISE_JWT_AUDIENCE` is unset. */
function jwtOf(jwksUrl: string, e: z.infer<typeof ApiEnv>): JwtOptions {
  const audience = e.STEPWISE_JWT_AUDIENCE;
  if (!audience) {
    throw new StepwiseError(
      'INVALID_CONFIG',
      'invalid environment: STEPWISE_JWT_AUDIENCE is required with STEPWISE_JWT_JWKS_URL (the `aud` this API accepts, ' +
        `as your identity provider issues it), or STEPWISE_JWT_AUDIENCE=${ANY_AUDIENCE} to accept tokens for any audience`,
    );
  }
  return {
    jwksUrl,
    audience,
    ...(e.STEPWISE_JWT_ISSUER ? { issuer: e.STEPWISE_JWT_ISSUER } : {}),
    ...(e.STEPWISE_JWT_USER_CLAIM ? { userClaim: e.STEPWISE_JWT_USER_CLAIM } : {}),
  };
}

function trustProxyOf(value: string | undefined): boolean | string[] {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
