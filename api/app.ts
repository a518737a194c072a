/**
 * The Stepwise REST API as a Fastify instance: zod type provider, the one error handler, OpenAPI at `/docs`, routes.
 * No process concerns here (listen, signals, env): those live in `./server.ts`, so tests build the same app and
 * drive it with `app.inject()`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ArchiveStore } from '../src/archive/store.js';
import type { TokenSubscriber } from '../archive/token-notify.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { DEFAULT_BODY_LIMIT_BYTES } from './config.js';
import { errorHandler, MAX_PARAM_LENGTH, registerErrorHandling } from './errors.js';
import authPlugin, { type AuthOptions } from './plugins/auth.js';
import headersPlugin, { type HeadersOptions } from './plugins/headers.js';
import metricsPlugin, { ApiMetrics } from './plugins/metrics.js';
import rateLimitsPlugin, { type RateLimitOptions } from './plugins/rate-limits.js';
import backendPlugin from './plugins/backend.js';
import swaggerPlugin from './plugins/swagger.js';
import tracingPlugin from './plugins/tracing.js';
import { traceLogFields } from '../runtime/tracing.js';
import webPlugin, { type WebPluginOptions } from './plugins/web.js';
import agentosRoutes from './routes/agentos.js';
import aiSdkRoutes from './routes/ai-sdk.js';
import agentRoutes from './routes/agents.js';
import agentBuilderRoutes, { type AgentSourceStore } from './routes/agent-builder.js';
import archiveRoutes from './routes/archive.js';
import codecRoutes, { type CodecRoutesOptions } from './routes/codec.js';
import eventRoutes, { type EventRoutesOptions } from './routes/events.js';
import healthRoutes from './routes/health.js';
import nomosRoutes, { type NomosRoutesOptions } from './routes/nomos.js';
import approvalRoutes from './routes/approvals.js';
import sessionRoutes from './routes/sessions.js';
import timeTravelRoutes from './routes/time-travel.js';
import type { SessionBackend } from './sessions.js';
import { DEFAULT_FILE_LIMITS, type FileLimits } from './files/limits.js';
import fileRoutes from './routes/files.js';

export interface BuildAppOptions {
  /** Session backend; decorated as `app.backend` and closed when the app closes. */
  backend: SessionBackend;
  /** Agents sessions may be started for, keyed by agent name. */
  agents: ReadonlyMap<string, AgentSnapshot>;
  /**
   * Session archive; decorated as `app.archive` and closed when the app closes. Without it `GET /sessions` answers
   * 503 ARCHIVE_UNAVAILABLE, history holds only the live run's recent turns, and event streams announce gaps.
   */
  archive?: ArchiveStore;
  /** Event stream settings (`GET /sessions/:sessionId/events`, AgentOS `run/stream`): poll interval, heartbeat. */
  events?: Pick<EventRoutesOptions, 'pollIntervalMs' | 'idlePollMs' | 'heartbeatMs'>;
  /** Streamed model tokens forwarded to event streams as `event: token` (not closed by the app). Default: none. */
  tokens?: TokenSubscriber;
  /** The browser app (`/`, `/app*`, `/assets/*`): where its build is, the Temporal UI it links to. */
  web?: WebPluginOptions;
  /** Fastify logger option: `false` (default) for none, `true` or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** Largest accepted request body in bytes (larger: 413 PAYLOAD_TOO_LARGE). Default {@link DEFAULT_BODY_LIMIT_BYTES}. */
  bodyLimitBytes?: number;
  /** Longest wait of `POST /sessions/:id/messages?wait=true` through approvals, in ms. Default 100 s. */
  approvalWaitMs?: number;
  /** Fastify `requestTimeout` in ms (0 = none, the default for tests; `server.ts` sets one). */
  requestTimeoutMs?: number;
  /**
   * Payload codec for `POST /codec/decode` and `/codec/encode` (the Temporal UI's codec endpoint) and the browser
   * origins allowed to call them. Default: no codec routes (`STEPWISE_CODEC_KEYS` unset).
   */
  codec?: CodecRoutesOptions;
  /**
   * Request spans (`@fastify/otel`) with Stepwise attributes; needs a provider registered by `workers/tracing.ts`.
   * Default false. Log lines carry `trace_id`/`span_id` of the active span either way (pino mixin).
   */
  tracing?: boolean;
  /** Accepted credentials (API keys, JWTs); see `./plugins/auth.ts`. Default: auth off (`request.principal` undefined). */
  auth?: AuthOptions;
  /** Rate limits (`./plugins/rate-limits.ts`) and CORS origins (`./plugins/headers.ts`). Default: limits on, no CORS. */
  guards?: RateLimitOptions & HeadersOptions;
  /**
   * Fastify `trustProxy`: whose `X-Forwarded-For` to believe for the client IP (per-IP rate limits): `true` (any
   * proxy) or the proxies' addresses/CIDRs. Default `false` (the socket's address).
   */
  trustProxy?: boolean | string[];
  /** NOMOS-compatible routes: default agent, `POST /auth/token` (off by default). See `./routes/nomos.ts`. */
  nomos?: NomosRoutesOptions;
  /** The agents' YAML files, readable and writable by the flow builder (`stepwise dev` only). Default: none. */
  agentSources?: AgentSourceStore;
  /** `GET /metrics` (Prometheus, `./plugins/metrics.ts`) and the hooks feeding it. Default false. */
  metrics?: boolean;
  /** Limits on files attached to messages (`./files/limits.ts`). Default {@link DEFAULT_FILE_LIMITS}. */
  files?: FileLimits;
}

/**
 * Builds the API: every plugin and route registered, not yet `ready()` (the first `inject()`/`listen()` readies it,
 * and callers may still register more plugins before that).
 *
 * @throws only programming errors (invalid route schema); never touches the network.
 */
export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Structured JSON logs (pino) with the active span's trace_id/span_id on each line.
    logger: opts.logger ? { ...(typeof opts.logger === 'object' ? opts.logger : {}), mixin: traceLogFields } : false,
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    requestTimeout: opts.requestTimeoutMs ?? 0,
    // Session ids may be 128 characters (workflows/shared.ts `SessionId`); Fastify's default param limit is 100.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // 503 for requests arriving while `app.close()` drains in-flight turns.
    return503OnClosing: true,
    trustProxy: opts.trustProxy ?? false,
    // Malformed URL encodings (400) and path parameters over `maxParamLength` (414) get the standard error body too.
    frameworkErrors: errorHandler,
  }).withTypeProvider<ZodTypeProvider>();

  // Every body is JSON: a `text/plain` one gets 415 UNSUPPORTED_MEDIA_TYPE like any other type, not a 400 from
  // validating the string Fastify's built-in text parser would make of it.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  app.decorate('fileLimits', opts.files ?? DEFAULT_FILE_LIMITS);
  // First, so every route below gets a request span.
  if (opts.tracing) await app.register(tracingPlugin);
  // Before the routes, so its hooks time every one of them.
  const metrics = opts.metrics ? new ApiMetrics() : undefined;
  if (metrics) await app.register(metricsPlugin, { metrics });

  await app.register(backendPlugin, { backend: opts.backend, agents: opts.agents, archive: opts.archive });
  // Order matters: CORS answers preflights before auth; auth resolves the principal the rate limiter counts by.
  await app.register(headersPlugin, { corsOrigins: opts.guards?.corsOrigins });
  // Tokens from NOMOS's `POST /auth/token` are verified with the secret the endpoint signs with.
  const nomosToken = opts.nomos?.token;
  await app.register(authPlugin, { auth: opts.auth && nomosToken ? { ...opts.auth, nomosToken } : opts.auth });
  await app.register(rateLimitsPlugin, opts.guards ?? {});
  await app.register(swaggerPlugin);
  await app.register(healthRoutes);
  await app.register(agentRoutes);
  await app.register(agentBuilderRoutes, { sources: opts.agentSources });
  await app.register(sessionRoutes, { approvalWaitMs: opts.approvalWaitMs });
  await app.register(fileRoutes);
  await app.register(approvalRoutes);
  await app.register(timeTravelRoutes);
  await app.register(archiveRoutes);
  await app.register(eventRoutes, { ...opts.events, tokens: opts.tokens, ...(metrics ? { onLiveQuery: metrics.liveQuery } : {}) });
  await app.register(aiSdkRoutes, { tokens: opts.tokens, pollIntervalMs: opts.events?.pollIntervalMs, heartbeatMs: opts.events?.heartbeatMs });
  if (opts.codec) await app.register(codecRoutes, { ...opts.codec, prefix: '/codec' });
  await app.register(webPlugin, opts.web ?? {});
  await app.register(nomosRoutes, opts.nomos ?? {});
  await app.register(agentosRoutes, { prefix: '/api/v1', tokens: opts.tokens, pollIntervalMs: opts.events?.pollIntervalMs, heartbeatMs: opts.events?.heartbeatMs });
  return app;
}
