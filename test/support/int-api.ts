/**
 * The REST API over a real worker on the Temporal dev server, for integration tests: a session worker for `agents`
 * on its own task queue (archive shared with the API, as PostgreSQL would be) and the app over `TemporalSessions`.
 * `events`: the event routes' poll options. `stop()` closes the app and drains the worker.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { ModelCache } from '../../activities/models/model.js';
import { type BuildAppOptions, buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { createSessionWorker } from '../../workers/worker.js';

export async function serveOnTemporal(
  env: TestWorkflowEnvironment,
  /** `models`: the worker's model cache (default: one over `process.env`), e.g. with a provider key for the fake model server. */
  options: { agents: LoadedAgent[]; taskQueue: string; archive?: ArchiveStore; models?: ModelCache; events?: BuildAppOptions['events'] },
): Promise<{ app: FastifyInstance; stop: () => Promise<void> }> {
  const { agents, taskQueue, archive } = options;
  const models = options.models ?? new ModelCache();
  const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents, models, archive, log: () => {} });
  const running = worker.run();
  const app = await buildApp({
    backend: new TemporalSessions({ client: env.client, taskQueue }),
    agents: new Map(agents.map((a) => [a.snapshot.name, a.snapshot])),
    ...(archive ? { archive } : {}),
    ...(options.events ? { events: options.events } : {}),
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
