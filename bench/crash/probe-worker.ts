/**
 * A worker process of bench/crash/heartbeat-probe.ts: runs `heartbeatProbe` (bench/workflows/heartbeat-probe.ts) from
 * the prebuilt bundle at `PROBE_BUNDLE`, on `PROBE_TASK_QUEUE`, with the recovery options of `stepwise worker`
 * (workers/recovery.ts: `STEPWISE_STICKY_QUEUE_TIMEOUT_MS`, `STEPWISE_HEARTBEAT_THROTTLE_MS`). Each `slowCall`
 * attempt appends `<attempt> <pid> <epoch ms>` to `PROBE_LOG` as it starts. Prints `ready` once it polls.
 */
import { appendFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { recoveryOptions } from '../../workers/recovery.js';
import type { ProbeActivities } from '../workflows/heartbeat-probe.js';

const env = process.env;
const activities: ProbeActivities = {
  async slowCall(ms, beatMs) {
    const ctx = Context.current();
    appendFileSync(env.PROBE_LOG!, `${ctx.info.attempt} ${process.pid} ${Date.now()}\n`);
    ctx.heartbeat();
    const beat = setInterval(() => ctx.heartbeat(), beatMs);
    try {
      await ctx.sleep(ms);
    } finally {
      clearInterval(beat);
    }
    return process.pid;
  },
};
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({
  connection,
  namespace: env.TEMPORAL_NAMESPACE || 'default',
  taskQueue: env.PROBE_TASK_QUEUE!,
  workflowBundle: { codePath: env.PROBE_BUNDLE! },
  activities,
  ...recoveryOptions(env),
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
const running = worker.run();
process.stdout.write('ready\n');
await running;
await connection.close();
