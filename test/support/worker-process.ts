/**
 * A Stepwise worker in its own process, for tests that kill it with SIGKILL (a real crash, not `worker.shutdown()`).
 *
 * Run: `node --import tsx test/support/worker-process.ts` with
 *   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, STEPWISE_TASK_QUEUE, STEPWISE_AGENTS (one agent YAML),
 *   STEPWISE_COUNT_FILE: every activity execution that *starts* appends `<activityType> <attempt> <pid>\n` to it, so the
 *   test can count executions across both processes;
 *   STEPWISE_WORKER_METRICS_ADDRESS (optional): the Core SDK's Prometheus endpoint, as `stepwise worker` serves it.
 * Prints `ready` on stdout once the worker polls.
 */
import { appendFileSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import { loadAgentsFromEnv } from '../../runtime/env.js';
import { installWorkerMetrics, workerMetricsAddress } from '../../workers/metrics.js';
import { createSessionWorker } from '../../workers/worker.js';

const env = process.env;
const countFile = env.STEPWISE_COUNT_FILE;
const metricsAddress = workerMetricsAddress(env);
if (metricsAddress) installWorkerMetrics(metricsAddress);
const agents = await loadAgentsFromEnv(env);
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
const worker = await createSessionWorker({
  connection,
  namespace: env.TEMPORAL_NAMESPACE || 'default',
  taskQueue: env.STEPWISE_TASK_QUEUE,
  agents,
  log: () => {},
  workerOptions: {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: {
            execute: (input, next) => {
              if (countFile) appendFileSync(countFile, `${ctx.info.activityType} ${ctx.info.attempt} ${process.pid}\n`);
              return next(input);
            },
          },
        }),
      ],
    },
  },
});
const running = worker.run();
process.stdout.write('ready\n');
await running;
await connection.close();
