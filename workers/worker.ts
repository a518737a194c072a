/**
 * The Stepwise worker: polls the task queue, runs session workflows and their activities.
 *
 * `stepwise worker` calls {@link runWorkerFromEnv}; `stepwise dev` and the integration tests call
 * {@link createSessionWorker} with their own connection. Configured by environment (see docs/configuration.md "Environment variables").
 */
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, toolMap } from '../activities/index.js';
import type { ArchiveStore } from '../src/archive/store.js';
import { createTokenPublisher } from '../archive/token-notify.js';
import { ModelCache } from '../activities/models/model.js';
import type { ToolRegistry } from '../activities/tools.js';
import type { LoadedAgent } from '../runtime/agents/load.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/shared.js';
import { codecDataConverter, codecFromEnv } from '../runtime/payload-codec.js';
import { missingSearchAttributes, registerSearchAttributesHint } from '../runtime/search-attributes.js';
import { type Tracing, tracingFromEnv } from '../runtime/tracing.js';
import { prebuiltWorkflowBundle } from './workflow-bundle.js';
import { installWorkerMetrics, workerMetricsAddress } from './metrics.js';
import { recoveryOptions } from './recovery.js';
import { workflowsPath } from './workflows-path.js';
import { connectArchiveFromEnv, loadAgentsFromEnv, temporalConnectionOptions, workflowCacheSize } from '../runtime/env.js';

export { workflowsPath };

/** How long a stopping worker lets running activities finish (`shutdownGraceTime`). */
export const DEFAULT_SHUTDOWN_GRACE = '30 seconds';

export interface SessionWorkerOptions {
  connection: NativeConnection;
  /** Default `default`. */
  namespace?: string;
  /** Default `stepwise`. */
  taskQueue?: string;
  agents: LoadedAgent[];
  /** Tool registries by agent id (default: the `agents`' own); `stepwise dev` passes one it updates on reload. */
  tools?: Map<string, ToolRegistry>;
  archive?: ArchiveStore;
  models?: ModelCache;
  /** Publishes streamed model tokens (best effort, e.g. PostgreSQL NOTIFY); omit for none. */
  publishToken?: (sessionId: string, text: string) => void;
  /** Payload codec (encryption, `STEPWISE_CODEC_KEYS`, see ./payload-codec.ts); default none. */
  codec?: PayloadCodec;
  /** OpenTelemetry (see ./tracing.ts): activity and workflow interceptors and the workflow span sink. Default off. */
  tracing?: Tracing;
  /** Where the worker's start-up notices go (default `console.warn`). */
  log?: (line: string) => void;
  /** Extra worker options (e.g. a prebuilt `workflowBundle`, shutdown timing in tests). */
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * Creates (does not start) a worker for the session workflow and activities.
 *
 * @throws whatever `Worker.create` throws: namespace not found, bundling failure (not retryable without a fix).
 */
export async function createSessionWorker(opts: SessionWorkerOptions): Promise<Worker> {
  await warnIfSearchAttributesMissing(opts.connection, opts.namespace ?? 'default', opts.log);
  const activities = createActivities({
    models: opts.models ?? new ModelCache(),
    tools: opts.tools ?? toolMap(opts.agents),
    archive: opts.archive,
    publishToken: opts.publishToken,
  });
  const workflowModules = opts.tracing?.workerOptions.interceptors?.workflowModules ?? [];
  const bundle = opts.workerOptions?.workflowBundle ?? (await prebuiltOrNone(opts.log, workflowModules));
  return Worker.create({
    // A dead worker's sticky queue holds the session's next workflow task for 1 s instead of the SDK's 10 s,
    // heartbeats reach the server every second, and the worker starts at most 8 workflow tasks at once: a crashed
    // turn resumes sooner, a busy worker's call is not taken for dead, and cold replays after a restart do not time
    // out waiting for the one workflow thread (./recovery.ts has the measurements; `stepwise worker` reads all three
    // from the environment).
    ...recoveryOptions({}),
    // On SIGTERM/SIGINT the worker stops polling and lets running LLM and tool calls finish for up to this long before
    // cancelling them, so a deploy does not re-run (and re-bill) them elsewhere. Keep it under the orchestrator's
    // kill delay (docker compose `stop_grace_period` is 45 s).
    shutdownGraceTime: DEFAULT_SHUTDOWN_GRACE,
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    ...(bundle ? { workflowBundle: bundle } : { workflowsPath }),
    activities,
    ...codecDataConverter(opts.codec),
    ...opts.tracing?.workerOptions,
    ...opts.workerOptions,
  });
}

/**
 * The prebuilt workflow bundle, or `undefined` (the worker then bundles in memory, as before) when it cannot be read
 * or written, e.g. a read-only install whose cache was built from other sources. Never throws.
 */
async function prebuiltOrNone(log = (line: string) => console.warn(line), interceptorModules: readonly string[] = []): Promise<{ codePath: string } | undefined> {
  try {
    return { codePath: (await prebuiltWorkflowBundle(undefined, interceptorModules)).codePath };
  } catch (err) {
    log(`stepwise worker: no prebuilt workflow bundle (${(err as Error).message}); bundling in memory`);
    return undefined;
  }
}

/**
 * Says once, at start, when Stepwise's search attributes are not registered in the namespace: sessions still run, but
 * cannot be filtered by agent, step or status in the Temporal UI. Never throws (a failed check is reported too).
 */
async function warnIfSearchAttributesMissing(connection: NativeConnection, namespace: string, log = (line: string) => console.warn(line)): Promise<void> {
  try {
    const missing = await missingSearchAttributes(connection.operatorService, namespace);
    if (missing.length === 0) return;
    log(
      `stepwise worker: search attributes ${missing.join(', ')} are not registered in namespace ${namespace}; sessions run ` +
        `without them (no filtering by agent/step/status in the Temporal UI). Register them with:\n${registerSearchAttributesHint(missing, namespace)}`,
    );
  } catch (err) {
    log(`stepwise worker: could not list search attributes of namespace ${namespace} (${(err as Error).message}); sessions run without them`);
  }
}

/**
 * `stepwise worker`: loads agents from `STEPWISE_AGENTS`, connects to `TEMPORAL_ADDRESS`, opens the archive when
 * `DATABASE_URL` is set (running migrations), and runs until SIGINT/SIGTERM.
 */
export async function runWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const metricsAddress = workerMetricsAddress(env);
  if (metricsAddress) installWorkerMetrics(metricsAddress); // before the connection creates the default runtime
  const agents = await loadAgentsFromEnv(env);
  const cacheSize = workflowCacheSize(env);
  const recovery = recoveryOptions(env);
  const codec = codecFromEnv(env);
  const tracing = await tracingFromEnv('stepwise-worker', env);
  const archive = await connectArchiveFromEnv(env);
  const tokens = env.DATABASE_URL ? createTokenPublisher(env.DATABASE_URL) : undefined;
  const connection = await NativeConnection.connect(temporalConnectionOptions(env));
  try {
    const taskQueue = env.STEPWISE_TASK_QUEUE || DEFAULT_TASK_QUEUE;
    const worker = await createSessionWorker({
      connection,
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue,
      agents,
      archive,
      codec,
      tracing,
      publishToken: tokens && ((sessionId, text) => tokens.publish(sessionId, text)),
      workerOptions: { ...recovery, ...(cacheSize ? { maxCachedWorkflows: cacheSize } : {}) },
    });
    console.log(
      `stepwise worker: task queue ${taskQueue}, agents ${agents.map((a) => a.snapshot.name).join(', ')}, archive ${archive ? 'on' : 'off'}, ` +
        `payload encryption ${codec ? `on (key ${codec.currentKeyId})` : 'off'}, tracing ${tracing ? 'on (OTLP)' : 'off'}, ` +
        `metrics ${metricsAddress ? `on (http://${metricsAddress}/metrics)` : 'off'}`,
    );
    await worker.run();
  } finally {
    // Stops stdio MCP servers and closes MCP HTTP sessions (tools.mcp_servers, @mcp external tools).
    await Promise.all(agents.map((a) => a.tools.close()));
    await tracing?.shutdown();
    await connection.close();
    await tokens?.close();
    await archive?.close();
  }
}
