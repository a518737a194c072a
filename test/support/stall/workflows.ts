/**
 * A workflow that keeps a worker's workflow thread busy inside promise callbacks, for test/integration/worker-stall:
 * each `work` update awaits `n` resolved promises in a row, so a pause of the process most likely lands in the middle
 * of an activation's microtasks (where the SDK's isolate watchdog, if it fires, aborts the process).
 */
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

/** `work(n)`: awaits `n` promises one after another, returns `n`. */
export const work = defineUpdate<number, [number]>('work');

/** Runs until cancelled, answering `work` updates. */
export async function busyWorkflow(): Promise<void> {
  setHandler(work, async (n: number) => {
    for (let i = 0; i < n; i++) await Promise.resolve();
    return n;
  });
  await condition(() => false);
}
