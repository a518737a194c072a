/**
 * The run's real Temporal server (started by `test/support/global-setup.ts`, or `TEMPORAL_ADDRESS`), for
 * `*.int.test.ts`: a client and a worker connection on it, and a real session worker around a test.
 */
import type { ConnectionPlugin } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { temporalGrpcInterceptors } from '../../api/closed-channel.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import { createSessionWorker } from '../../workers/worker.js';

/** `host:port` and namespace of the run's server. */
export function temporalServer(): { address: string; namespace: string } {
  return { address: inject('temporalAddress'), namespace: inject('temporalNamespace') };
}

/** Gives the test client's connection the API's gRPC interceptors, so a teardown mid-retry cannot crash the run. */
const closedChannelGuard: ConnectionPlugin = {
  name: 'stepwise-closed-channel-guard',
  configureConnection: (options) => ({ ...options, interceptors: temporalGrpcInterceptors() }),
};

/**
 * Connects to the run's server: `env.client` (API side, with the API's gRPC interceptors: `api/closed-channel.ts`)
 * and `env.nativeConnection` (workers). Call `teardown()`.
 *
 * @throws the connection error when the server does not answer.
 */
export function connectTemporal(): Promise<TestWorkflowEnvironment> {
  const { address, namespace } = temporalServer();
  return TestWorkflowEnvironment.createFromExistingServer({ address, namespace, plugins: [closedChannelGuard] });
}

/** What {@link withSessionWorker} runs: the agents on a task queue, with an optional archive and model cache. */
export interface SessionWorkerOptions {
  taskQueue: string;
  agents: LoadedAgent[];
  archive?: ArchiveStore;
  /** Default: a fresh `ModelCache` reading keys from `process.env`. */
  models?: ModelCache;
}

/**
 * Runs a real session worker (`createSessionWorker`, logs silenced) on the run's server while `fn` runs, and stops it
 * when `fn` settles. `fn` gets a `TemporalSessions` backend on the same task queue.
 *
 * @throws whatever `fn` throws, or the worker's own failure.
 */
export async function withSessionWorker<T>(
  env: TestWorkflowEnvironment,
  options: SessionWorkerOptions,
  fn: (sessions: TemporalSessions) => Promise<T>,
): Promise<T> {
  const { taskQueue, agents, archive } = options;
  const worker = await createSessionWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    agents,
    archive,
    models: options.models ?? new ModelCache(),
    log: () => {},
  });
  return worker.runUntil(fn(new TemporalSessions({ client: env.client, taskQueue })));
}
