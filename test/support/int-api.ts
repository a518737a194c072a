/**
 * The REST API over a real worker on the Temporal dev server, for integration tests: a session worker for `agents`
 * on its own task queue (archive shared with the API, as PostgreSQL would be) and the app over `TemporalSessions`.
 * `stop()` closes the app and drains the worker.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { ArchiveStore } from '../../archive/store.js';
import type { LoadedAgent } from '../../src/config/load.js';
import { createSessionWorker } from '../../workers/worker.js';

export async function serveOnTemporal(
  env: TestWorkflowEnvironment,
  options: { agents: LoadedAgent[]; taskQueue: string; archive?: ArchiveStore },
): Promise<{ app: FastifyInstance; stop: () => Promise<void> }> {
  const { agents, taskQueue, archive } = options;
  const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents, models: new ModelCache(), archive, log: () => {} });
  const running = worker.run();
  const app = await buildApp({
    backend: new TemporalSessions({ client: env.client, taskQueue }),
    agents: new Map(agents.map((a) => [a.snapshot.name, a.snapshot])),
    ...(archive ? { archive } : {}),
  });
  return {
    app,
    stop: async () => {
      await app.close();
      worker.shutdown();
      await running;
    },
  };
}
