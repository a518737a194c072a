/**
 * `stepwise dev`: a Temporal dev server, a worker and the API in one process, for trying agents locally.
 *
 * Temporal: `TEMPORAL_ADDRESS` if set (an existing server); else the `temporal` CLI dev server started through
 * `@temporalio/testing` — the binary at `TEMPORAL_CLI_PATH`, or one downloaded on first use into `.stepwise/bin` —
 * persisting to `.stepwise/temporal.sqlite`, with its Web UI. When no server can be had, prints the three ways
 * forward and returns exit code 1.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { createTokenPublisher } from '../archive/token-notify.js';
import { startServer } from '../api/server.js';
import { TemporalSessions } from '../api/temporal-sessions.js';
import { createSessionWorker } from '../workers/worker.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/shared.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { connectArchiveFromEnv, loadAgentsFromEnv, temporalConnectionOptions } from './env.js';

/** Temporal dev server ports: frontend 7233 and Web UI 8233, as `temporal server start-dev` uses. */
export const DEV_PORTS = { temporal: 7233, ui: 8233 };

/** The message printed when no Temporal server can be had. */
export function noServerMessage(reason: string): string {
  return [
    `stepwise dev: could not start a Temporal dev server (${reason}).`,
    'Three ways forward:',
    '  1. TEMPORAL_CLI_PATH=/path/to/temporal npx stepwise dev   (an installed `temporal` CLI binary)',
    '  2. TEMPORAL_ADDRESS=host:7233 npx stepwise dev             (a server you already run, e.g. `temporal server start-dev`)',
    '  3. docker compose up                                       (Temporal, PostgreSQL, Temporal UI, worker and API)',
  ].join('\n');
}

/** Runs dev mode until SIGINT/SIGTERM. Resolves with the exit code. */
export async function runDev(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const loaded = await loadAgentsFromEnv(env);
  const agents = new Map<string, AgentSnapshot>(loaded.map((a) => [a.snapshot.name, a.snapshot]));
  const taskQueue = env.STEPWISE_TASK_QUEUE || DEFAULT_TASK_QUEUE;
  const namespace = env.TEMPORAL_NAMESPACE || 'default';

  let testEnv: TestWorkflowEnvironment | undefined;
  let nativeConnection: NativeConnection;
  let client: Client;
  let uiUrl: string;
  if (env.TEMPORAL_ADDRESS) {
    try {
      nativeConnection = await NativeConnection.connect(temporalConnectionOptions(env));
      client = new Client({ connection: await Connection.connect(temporalConnectionOptions(env)), namespace });
    } catch (err) {
      console.error(noServerMessage(`cannot reach TEMPORAL_ADDRESS=${env.TEMPORAL_ADDRESS}: ${(err as Error).message}`));
      return 1;
    }
    uiUrl = '(the UI of your Temporal server)';
  } else {
    const dir = resolve('.stepwise');
    mkdirSync(dir, { recursive: true });
    try {
      testEnv = await TestWorkflowEnvironment.createLocal({
        server: {
          executable: env.TEMPORAL_CLI_PATH
            ? { type: 'existing-path', path: env.TEMPORAL_CLI_PATH }
            : { type: 'cached-download', downloadDir: resolve(dir, 'bin') },
          dbFilename: resolve(dir, 'temporal.sqlite'),
          namespace,
          port: DEV_PORTS.temporal,
          ui: true,
          uiPort: DEV_PORTS.ui,
        },
      });
    } catch (err) {
      console.error(noServerMessage((err as Error).message.split('\n')[0]));
      return 1;
    }
    nativeConnection = testEnv.nativeConnection;
    client = testEnv.client;
    uiUrl = `http://localhost:${DEV_PORTS.ui}`;
  }

  const archive = await connectArchiveFromEnv(env);
  const tokens = env.DATABASE_URL ? createTokenPublisher(env.DATABASE_URL) : undefined;
  const worker = await createSessionWorker({
    connection: nativeConnection,
    namespace,
    taskQueue,
    agents: loaded,
    archive,
    publishToken: tokens && ((sessionId, text) => tokens.publish(sessionId, text)),
  });
  const server = await startServer({
    agents,
    archive,
    databaseUrl: env.DATABASE_URL,
    backend: new TemporalSessions({ client, taskQueue }),
    handleSignals: false,
  });
  const api = server.address.replace('0.0.0.0', 'localhost');
  console.log(
    [
      'stepwise dev is running',
      `  API:         ${api}`,
      `  API docs:    ${api}/docs`,
      `  Temporal UI: ${uiUrl}`,
      `  agents:      ${[...agents.keys()].join(', ')}`,
      `  archive:     ${archive ? 'on' : 'off (set DATABASE_URL to keep transcripts)'}`,
      `try: curl -s ${api}/sessions -H 'content-type: application/json' -d '{"agentId":"${[...agents.keys()][0]}","message":"hi"}'`,
    ].join('\n'),
  );
  // Worker.run() shuts down on SIGINT/SIGTERM by itself; then close the API and the server.
  try {
    await worker.run();
  } finally {
    await server.close();
    await tokens?.close();
    await archive?.close();
    if (testEnv) await testEnv.teardown();
    else await nativeConnection.close();
  }
  return 0;
}
