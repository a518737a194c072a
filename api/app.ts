/**
 * The Stepwise REST API as a Fastify instance: zod type provider, the one error handler, OpenAPI at `/docs`, routes.
 * No process concerns here (listen, signals, env): those live in `./server.ts`, so tests build the same app and
 * drive it with `app.inject()`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ArchiveStore } from '../archive/store.js';
import type { TokenSubscriber } from '../archive/token-notify.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { DEFAULT_BODY_LIMIT_BYTES } from './config.js';
import { registerErrorHandling } from './errors.js';
import backendPlugin from './plugins/backend.js';
import swaggerPlugin from './plugins/swagger.js';
import agentRoutes from './routes/agents.js';
import archiveRoutes from './routes/archive.js';
import eventRoutes, { type EventRoutesOptions } from './routes/events.js';
import healthRoutes from './routes/health.js';
import approvalRoutes from './routes/approvals.js';
import sessionRoutes from './routes/sessions.js';
import type { SessionBackend } from './sessions.js';

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
  /** Event stream settings (`GET /sessions/:sessionId/events`): poll interval, heartbeat. */
  events?: Pick<EventRoutesOptions, 'pollIntervalMs' | 'heartbeatMs'>;
  /** Streamed model tokens forwarded to event streams as `event: token` (not closed by the app). Default: none. */
  tokens?: TokenSubscriber;
  /** Fastify logger option: `false` (default) for none, `true` or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** Largest accepted request body in bytes (larger: 413 PAYLOAD_TOO_LARGE). Default {@link DEFAULT_BODY_LIMIT_BYTES}. */
  bodyLimitBytes?: number;
  /** Longest wait of `POST /sessions/:id/messages?wait=true` through approvals, in ms. Default 100 s. */
  approvalWaitMs?: number;
  /** Fastify `requestTimeout` in ms (0 = none, the default for tests; `server.ts` sets one). */
  requestTimeoutMs?: number;
}

/**
 * Builds the API: every plugin and route registered, not yet `ready()` (the first `inject()`/`listen()` readies it,
 * and callers may still register more plugins before that).
 *
 * @throws only programming errors (invalid route schema); never touches the network.
 */
export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    requestTimeout: opts.requestTimeoutMs ?? 0,
    // Session ids may be 128 characters (workflows/shared.ts `SessionId`); Fastify's default param limit is 100.
    routerOptions: { maxParamLength: 256 },
    // 503 for requests arriving while `app.close()` drains in-flight turns.
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  await app.register(backendPlugin, { backend: opts.backend, agents: opts.agents, archive: opts.archive });
  await app.register(swaggerPlugin);
  await app.register(healthRoutes);
  await app.register(agentRoutes);
  await app.register(sessionRoutes, { approvalWaitMs: opts.approvalWaitMs });
  await app.register(approvalRoutes);
  await app.register(archiveRoutes);
  await app.register(eventRoutes, { ...opts.events, tokens: opts.tokens });
  return app;
}
