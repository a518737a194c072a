/**
 * `stepwise dev`: Temporal's real dev server, a worker and the API in one process, for trying agents locally.
 *
 * Temporal: `TEMPORAL_ADDRESS` if set (a server you run). Otherwise `temporal server start-dev` as a child process,
 * with the binary found or built by `./temporal-cli.ts` (TEMPORAL_CLI_PATH, PATH, `.stepwise/bin`, download, or
 * `go install`), on ports 7233 (frontend) and 8233 (Web UI) like the CLI, persisting to `.stepwise/temporal.sqlite`
 * so sessions survive a restart, with Stepwise's search attributes registered. When no server can be had, prints the
 * ways forward and returns exit code 1.
 *
 * A SIGINT/SIGTERM to this process alone (as process managers send), or its parent going away (`npx`'s shell), stops
 * the worker, the API and then the dev server; they get 45 s (the worker's 30 s grace for running activities, then
 * closing), after which the dev server is killed and the process exits (`./child-supervisor.ts`).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createTokenPublisher } from '../archive/token-notify.js';
import { loadApiConfig } from '../api/config.js';
import { startServer } from '../api/server.js';
import { TemporalSessions } from '../api/temporal-sessions.js';
import { temporalGrpcInterceptors } from '../api/closed-channel.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { codecDataConverter, EncryptionCodec } from '../runtime/payload-codec.js';
import { tracingFromEnv } from '../runtime/tracing.js';
import { createSessionWorker } from '../workers/worker.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/shared.js';
import { connectArchiveFromEnv, listenEnv, loadAgentsFromEnv, temporalConnectionOptions } from '../runtime/env.js';
import { type ChildSupervisor, superviseChildren } from './child-supervisor.js';
import { devAgentSources } from './dev-sources.js';
import { toolMap } from '../activities/index.js';
import { ensureTemporalCli, TemporalCliNotFoundError } from './temporal-cli.js';
import { type DevServer, startDevServer } from './temporal-server.js';
import { type DevArchive, startDevArchive } from './dev-archive.js';

/** Where `stepwise dev` listens when neither `HOST` nor an agent's `server.host` says: loopback only. */
export const DEV_HOST = '127.0.0.1';

/** Temporal dev server ports: frontend 7233 and Web UI 8233, as `temporal server start-dev` uses. */
export const DEV_PORTS = { temporal: 7233, ui: 8233 };

/** The message printed when no Temporal server can be had. */
export function noServerMessage(reason: string): string {
  return [
    `stepwise dev: could not start a Temporal dev server (${reason}).`,
    'Ways forward:',
    '  1. install Go so stepwise can build the `temporal` CLI (first time only), or put `temporal` on PATH,',
    '     or TEMPORAL_CLI_PATH=/path/to/temporal npx stepwise dev',
    '  2. TEMPORAL_ADDRESS=host:7233 npx stepwise dev             (a server you already run, e.g. `temporal server start-dev`)',
    '  3. docker compose up                                       (Temporal, PostgreSQL, Temporal UI, worker and API)',
  ].join('\n');
}

/** How long a stop request gives the worker, the API and the dev server before they are killed, in ms. */
const DEV_STOP_GRACE_MS = 45_000;

/**
 * Runs dev mode until SIGINT/SIGTERM (or until the parent process is gone). Resolves with the exit code: 0 after a
 * stop, 1 when no Temporal server can be had. A stop request during start-up stops the dev server and exits the
 * process (128 + signal number).
 *
 * @throws ConfigError (not retryable) when an agent config is invalid; SystemError `ARCHIVE_UNAVAILABLE` when
 *   `DATABASE_URL` is set and the database cannot be reached.
 */
export async function runDev(env: NodeJS.ProcessEnv = process.env, options: DevOptions = {}): Promise<number> {
  const supervisor = superviseChildren({ graceMs: DEV_STOP_GRACE_MS });
  try {
    return await runSupervised(env, supervisor, options);
  } finally {
    supervisor.dispose();
  }
}

/** `stepwise dev` flags. */
export interface DevOptions {
  /**
   * `false` (`--no-archive`): no archive unless `DATABASE_URL` is set. Default true: without `DATABASE_URL`, the
   * embedded PGlite archive in `.stepwise/archive` (./dev-archive.ts).
   */
  archive?: boolean;
}

async function runSupervised(env: NodeJS.ProcessEnv, supervisor: ChildSupervisor, options: DevOptions): Promise<number> {
  const loaded = await loadAgentsFromEnv(env);
  const agents = new Map<string, AgentSnapshot>(loaded.map((a) => [a.snapshot.name, a.snapshot]));
  // The flow builder's Save rewrites an agent's file and reloads it into these two maps (./dev-sources.ts).
  const tools = toolMap(loaded);
  const agentSources = devAgentSources(loaded, agents, tools, env);
  const taskQueue = env.STEPWISE_TASK_QUEUE || DEFAULT_TASK_QUEUE;
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  // Dev mode serves without auth unless credentials are set, so it listens on loopback unless told otherwise.
  const listen = listenEnv(loaded, env);
  const apiConfig = loadApiConfig({ ...listen, HOST: listen.HOST || DEV_HOST });
  const codec = apiConfig.codecKeys ? new EncryptionCodec(apiConfig.codecKeys) : undefined;
  const tracing = await tracingFromEnv('stepwise', env);

  let devServer: DevServer | undefined;
  let uiUrl = '(the UI of your Temporal server)';
  const connection = { ...temporalConnectionOptions(env) };
  if (!env.TEMPORAL_ADDRESS) {
    const dir = resolve('.stepwise');
    mkdirSync(dir, { recursive: true });
    try {
      const cli = await ensureTemporalCli({ env, stateDir: dir, log: (line) => console.log(line) });
      devServer = await startDevServer({
        binary: cli.path,
        port: DEV_PORTS.temporal,
        uiPort: DEV_PORTS.ui,
        dbFile: resolve(dir, 'temporal.sqlite'),
        namespace,
        // The UI decodes payloads through the API's codec routes (the UI calls them from the browser).
        ...(codec ? { uiCodecEndpoint: `http://localhost:${apiConfig.port}/codec` } : {}),
        onSpawn: (child) => supervisor.adopt(child),
      });
    } catch (err) {
      if (supervisor.stopSignal) return 1; // stopped while starting: the supervisor ends the process
      const reason = err instanceof TemporalCliNotFoundError ? err.message : (err as Error).message.split('\n').slice(0, 3).join(' ');
      console.error(noServerMessage(reason));
      return 1;
    }
    connection.address = devServer.address;
    uiUrl = `${devServer.uiUrl}/namespaces/${namespace}/workflows`;
  }

  let nativeConnection: NativeConnection;
  let client: Client;
  try {
    nativeConnection = await NativeConnection.connect(connection);
    client = new Client({
      connection: await Connection.connect({ ...connection, interceptors: temporalGrpcInterceptors() }),
      namespace,
      ...codecDataConverter(codec),
      ...(tracing ? { interceptors: tracing.clientInterceptors } : {}),
    });
  } catch (err) {
    await devServer?.stop();
    console.error(noServerMessage(`cannot reach TEMPORAL_ADDRESS=${connection.address}: ${(err as Error).message}`));
    return 1;
  }

  // DATABASE_URL wins; else the embedded archive (PGlite under .stepwise/), unless --no-archive.
  let embedded: DevArchive | undefined;
  if (!env.DATABASE_URL && options.archive !== false) {
    try {
      embedded = await startDevArchive(resolve('.stepwise', 'archive'));
    } catch (err) {
      console.error(`stepwise dev: the embedded archive in .stepwise/archive did not open (${(err as Error).message}); running without an archive`);
    }
  }
  const archive = await connectArchiveFromEnv(embedded ? { ...env, DATABASE_URL: embedded.databaseUrl } : env);
  const tokens = env.DATABASE_URL ? createTokenPublisher(env.DATABASE_URL) : undefined;
  const worker = await createSessionWorker({
    connection: nativeConnection,
    namespace,
    taskQueue,
    agents: loaded,
    tools,
    archive,
    codec,
    tracing,
    publishToken: tokens && ((sessionId, text) => tokens.publish(sessionId, text)),
  });
  const server = await startServer({
    config: apiConfig,
    agents,
    archive,
    databaseUrl: env.DATABASE_URL,
    backend: new TemporalSessions({ client, taskQueue }),
    tracing,
    handleSignals: false,
    agentSources,
  });
  const api = server.address.replace('0.0.0.0', 'localhost');
  console.log(
    [
      'stepwise dev is running',
      `  Web app:     ${api}/`,
      `  Agent maps:  ${api}/app/agents (the flow builder: edit and Save agents' YAML files)`,
      `  API:         ${api}`,
      `  API docs:    ${api}/docs`,
      `  Temporal:    ${connection.address} (namespace ${namespace}, task queue ${taskQueue})`,
      `  Temporal UI: ${uiUrl}`,
      `  agents:      ${[...agents.keys()].join(', ')}`,
      `  archive:     ${embedded ? 'on (embedded PGlite in .stepwise/archive; DATABASE_URL for your PostgreSQL)' : archive ? 'on' : 'off (set DATABASE_URL to keep transcripts)'}`,
      `  encryption:  ${codec ? `on (key ${codec.currentKeyId}; codec endpoint ${api}/codec)` : 'off (set STEPWISE_CODEC_KEYS to encrypt payloads)'}`,
      `try: curl -s ${api}/sessions -H 'content-type: application/json' -d '{"agentId":"${[...agents.keys()][0]}","message":"hi"}'`,
    ].join('\n'),
  );
  // Worker.run() shuts down on SIGINT/SIGTERM by itself (the Temporal runtime's handlers), and on the supervisor's
  // request when the parent is gone; then close the API, the connections and the server.
  let stopped!: () => void;
  const done = new Promise<void>((resolveDone) => (stopped = resolveDone));
  supervisor.setGracefulStop(() => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    return done;
  });
  try {
    await worker.run();
  } finally {
    await server.close();
    await client.connection.close();
    await nativeConnection.close();
    await tokens?.close();
    await archive?.close();
    await embedded?.stop();
    await devServer?.stop();
    await tracing?.shutdown();
    await agentSources.close();
    stopped();
  }
  return 0;
}
