/**
 * The API process: reads the environment, connects to Temporal (once, for the whole process), builds the app and
 * listens; closes gracefully on SIGINT/SIGTERM. Everything about HTTP itself lives in `./app.ts`.
 *
 * Temporal being down does not stop the API from starting: session routes answer 503 TEMPORAL_UNAVAILABLE,
 * `GET /health` reports `degraded` with the reason, and the connection is retried in the background until it works.
 * With `databaseUrl`, a PostgreSQL token listener (LISTEN stepwise_tokens) feeds `event: token` to event streams;
 * it too connects in the background and never stops the API from starting.
 *
 * Auth is on when the configuration has credentials; without them the server still starts (`stepwise dev`) but logs
 * a warning when it listens on a non-loopback address. `stepwise api` refuses to start without credentials unless
 * `STEPWISE_AUTH=off` (cli/api.ts).
 */
import { nomosOptionsFromEnv } from './routes/nomos.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ArchiveStore } from '../src/archive/store.js';
import { createTokenListener, type TokenListener, type TokenSubscriber } from '../archive/token-notify.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { buildApp } from './app.js';
import type { AgentSourceStore } from './routes/agent-builder.js';
import { type ApiConfig, loadApiConfig } from './config.js';
import type { SessionBackend } from './sessions.js';
import { ReconnectingSessions } from './reconnecting-sessions.js';
import { TemporalSessions } from './temporal-sessions.js';
import { EncryptionCodec } from '../runtime/payload-codec.js';
import type { Tracing } from '../runtime/tracing.js';

export interface StartServerOptions {
  /** Loaded agents by name (the caller loads `STEPWISE_AGENTS`). */
  agents: ReadonlyMap<string, AgentSnapshot>;
  /** Parsed configuration. Default: `loadApiConfig(process.env)`. */
  config?: ApiConfig;
  /** Backend to use instead of Temporal (e.g. in-process sessions). Closed with the server. */
  backend?: SessionBackend;
  /** Install SIGINT/SIGTERM handlers that close the server. Default true. */
  handleSignals?: boolean;
  /** Session archive (the caller opens it, e.g. `connectArchiveFromEnv`). Closed with the server. Default: off. */
  archive?: ArchiveStore;
  /**
   * PostgreSQL URL (`DATABASE_URL`) to listen on for streamed model tokens; the server opens and closes the
   * listener. Ignored when `tokens` is given. Default: no token events.
   */
  databaseUrl?: string;
  /** Token source to use instead of a listener on `databaseUrl` (not closed by the server). */
  tokens?: TokenSubscriber;
  /** OpenTelemetry (see workers/tracing.ts): request spans and the Temporal client interceptors. Default off. */
  tracing?: Tracing;
  /** Event stream poll interval in ms. Default 250 (see `api/routes/events.ts`). */
  eventsPollIntervalMs?: number;
  /** The agents' YAML files for the flow builder's save (`stepwise dev` only; see api/routes/agent-builder.ts). */
  agentSources?: AgentSourceStore;
}

export interface RunningServer {
  app: FastifyInstance;
  /** Listening address, e.g. `http://0.0.0.0:3000`. */
  address: string;
  /** Stops accepting requests, ends open event streams, waits for in-flight requests, closes the backend (and the
   * Temporal connection), the archive and the token listener. */
  close(): Promise<void>;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Starts the API.
 *
 * @throws StepwiseError INVALID_CONFIG for a malformed environment; the listen error (e.g. `EADDRINUSE`) if the port
 *   is taken. Never throws because Temporal is unreachable.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const config = options.config ?? loadApiConfig();
  const codec = config.codecKeys ? new EncryptionCodec(config.codecKeys) : undefined;
  let log: FastifyBaseLogger | undefined;
  let reconnecting: ReconnectingSessions | undefined;
  const backend =
    options.backend ??
    (reconnecting = new ReconnectingSessions({
      retryMs: config.temporalRetryMs,
      connect: () =>
        TemporalSessions.connect({
          address: config.temporal.address,
          namespace: config.temporal.namespace,
          taskQueue: config.temporal.taskQueue,
          tls: config.temporal.tls,
          apiKey: config.temporal.apiKey,
          connectTimeoutMs: config.temporal.connectTimeoutMs,
          codec,
          interceptors: options.tracing?.clientInterceptors,
        }),
      onAttempt: ({ connected, error }) => {
        if (connected) log?.info({ address: config.temporal.address }, 'connected to Temporal');
        else log?.warn({ address: config.temporal.address, error }, 'Temporal unreachable; retrying in background');
      },
    }));

  let listener: TokenListener | undefined;
  const tokens =
    options.tokens ??
    (options.databaseUrl
      ? (listener = createTokenListener(options.databaseUrl, {
          onError: (err) => log?.warn({ error: err.message }, 'token listener: database connection failed; reconnecting'),
        }))
      : undefined);

  let app: FastifyInstance;
  try {
    app = await buildApp({
      backend,
      agents: options.agents,
      archive: options.archive,
      tokens,
      events: { idlePollMs: config.eventsIdlePollMs, ...(options.eventsPollIntervalMs === undefined ? {} : { pollIntervalMs: options.eventsPollIntervalMs }) },
      logger: { level: config.logLevel },
      bodyLimitBytes: config.bodyLimitBytes,
      files: config.files,
      requestTimeoutMs: config.requestTimeoutMs,
      ...(codec ? { codec: { codec, corsOrigins: config.codecCorsOrigins } } : {}),
      tracing: Boolean(options.tracing),
      ...(config.auth ? { auth: config.auth } : {}),
      guards: config.guards,
      metrics: config.metrics,
      trustProxy: config.trustProxy,
      web: { temporalUiUrl: config.temporalUiUrl, namespace: config.temporal.namespace },
      nomos: nomosOptionsFromEnv(process.env),
      ...(options.agentSources ? { agentSources: options.agentSources } : {}),
    });
  } catch (err) {
    await listener?.close();
    throw err;
  }
  if (listener) {
    const owned = listener;
    app.addHook('onClose', async () => {
      await owned.close();
    });
  }
  log = app.log;
  await reconnecting?.connectOrRetry();

  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close(); // releases the Temporal connection and the retry timer
    throw err;
  }

  for (const warning of config.warnings ?? []) app.log.warn(warning);
  if (!config.auth && !isLoopback(config.host)) {
    app.log.warn(
      { host: config.host },
      'the API listens on a non-loopback address WITHOUT authentication: anyone who can reach it can read and drive ' +
        'every session. Set STEPWISE_API_KEYS, STEPWISE_API_KEYS_FILE or STEPWISE_JWT_JWKS_URL (docs/production.md "Authentication").',
    );
  }

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    app.log.info({ signal }, 'shutting down');
    void close();
  };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await app.close();
    })();
    return closing;
  };
  if (options.handleSignals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return { app, address, close };
}
