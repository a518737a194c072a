/**
 * The worker of the bare-update baseline of `npm run bench:scale`, in its own process so that its CPU time is read
 * apart: runs `bench/workflows/echo.ts` on `ECHO_TASK_QUEUE` at `TEMPORAL_ADDRESS` and prints `ready`.
 */
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE || 'default',
  taskQueue: process.env.ECHO_TASK_QUEUE!,
  workflowsPath: join(import.meta.dirname, '..', 'workflows', 'echo.ts'),
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
const running = worker.run();
console.log('ready');
await running;
await connection.close();
