/**
 * Environment of the API process, parsed once at startup (`loadApiConfig`). Every variable has a default, so
 * `stepwise api` runs with an empty environment against a local Temporal dev server.
 */
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../workflows/shared.js';
import type { TLSConfig } from '@temporalio/client';
import { temporalConnectionOptions } from '../cli/env.js';
import { StepwiseError } from '../src/errors.js';

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
  STEPWISE_TEMPORAL_RETRY_MS: positiveInt.default(DEFAULT_TEMPORAL_RETRY_MS),
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
  temporalRetryMs: number;
  logLevel: z.infer<typeof ApiEnv>['LOG_LEVEL'];
  /** `STEPWISE_TEMPORAL_UI_URL`, without a trailing slash. Default {@link DEFAULT_TEMPORAL_UI_URL}. */
  temporalUiUrl: string;
}

/**
 * Reads the API configuration from `env` (default `process.env`).
 *
 * @throws StepwiseError INVALID_CONFIG (not retryable) naming every malformed variable, e.g. `PORT: expected number`.
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
    temporalRetryMs: e.STEPWISE_TEMPORAL_RETRY_MS,
    logLevel: e.LOG_LEVEL,
    temporalUiUrl: e.STEPWISE_TEMPORAL_UI_URL.replace(/\/+$/, ''),
  };
}
