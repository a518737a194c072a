/**
 * The API process: reads the environment, connects to Temporal (once, for the whole process), builds the app and
 * listens; closes gracefully on SIGINT/SIGTERM. Everything about HTTP itself lives in `./app.ts`.
 *
 * Temporal being down does not stop the API from starting: session routes answer 503 TEMPORAL_UNAVAILABLE,
 * `GET /health` reports `degraded` with the reason, and the connection is retried in the background until it works.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AgentSnapshot } from '../src/config/agent.js';
import { buildApp } from './app.js';
import { type ApiConfig, loadApiConfig } from './config.js';
import type { SessionBackend } from './sessions.js';
import { ReconnectingSessions, TemporalSessions } from './temporal-sessions.js';

export interface StartServerOptions {
  /** Loaded agents by name (the caller loads `STEPWISE_AGENTS`). */
  agents: ReadonlyMap<string, AgentSnapshot>;
  /** Parsed configuration. Default: `loadApiConfig(process.env)`. */
  config?: ApiConfig;
  /** Backend to use instead of Temporal (e.g. in-process sessions). Closed with the server. */
  backend?: SessionBackend;
  /** Install SIGINT/SIGTERM handlers that close the server. Default true. */
  handleSignals?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  /** Listening address, e.g. `http://0.0.0.0:3000`. */
  address: string;
  /** Stops accepting requests, waits for in-flight ones, closes the backend (and the Temporal connection). */
  close(): Promise<void>;
}

/**
 * Starts the API.
 *
 * @throws StepwiseError INVALID_CONFIG for a malformed environment; the listen error (e.g. `EADDRINUSE`) if the port
 *   is taken. Never throws because Temporal is unreachable.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const config = options.config ?? loadApiConfig();
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
          connectTimeoutMs: config.temporal.connectTimeoutMs,
        }),
      onAttempt: ({ connected, error }) => {
        if (connected) log?.info({ address: config.temporal.address }, 'connected to Temporal');
        else log?.warn({ address: config.temporal.address, error }, 'Temporal unreachable; retrying in background');
      },
    }));

  const app = await buildApp({
    backend,
    agents: options.agents,
    logger: { level: config.logLevel },
    bodyLimitBytes: config.bodyLimitBytes,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  log = app.log;
  await reconnecting?.connectOrRetry();

  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close(); // releases the Temporal connection and the retry timer
    throw err;
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
