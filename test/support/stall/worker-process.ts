/**
 * A worker with Stepwise's worker options (`recoveryOptions`, workers/recovery.ts) running `busyWorkflow`, and the
 * client that keeps it busy, in one process that test/integration/worker-stall pauses with SIGSTOP.
 *
 * Run: `node --import tsx test/support/stall/worker-process.ts` with TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * STEPWISE_TASK_QUEUE and optionally STEPWISE_ISOLATE_TIMEOUT_MS. Starts 4 workflows and sends each `work(300)` updates
 * back to back; prints `updates <count>` after every 25 answered updates (the first line means: busy).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { recoveryOptions } from '../../../workers/recovery.js';

const env = process.env;
const address = env.TEMPORAL_ADDRESS!;
const namespace = env.TEMPORAL_NAMESPACE || 'default';
const taskQueue = env.STEPWISE_TASK_QUEUE!;
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  ...recoveryOptions(env),
  connection,
  namespace,
  taskQueue,
  workflowsPath: new URL('./workflows.ts', import.meta.url).pathname,
});
void worker.run();
const client = new Client({ connection: await Connection.connect({ address }), namespace });
let answered = 0;
await Promise.all(
  [0, 1, 2, 3].map(async (k) => {
    const handle = await client.workflow.start('busyWorkflow', { taskQueue, workflowId: `${taskQueue}-${k}` });
    for (;;) {
      await handle.executeUpdate('work', { args: [300] });
      if (++answered % 25 === 0) process.stdout.write(`updates ${answered}\n`);
    }
  }),
);
