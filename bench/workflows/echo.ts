/**
 * The baseline workflow of `npm run bench:temporal`: an update handler that returns its argument at once (no
 * activity, no timer), so one `executeUpdate` measures the bare cost of an update round trip on the server
 * (one workflow task) that every Stepwise turn pays on top of its activities.
 *
 * Sandbox-safe: imports `@temporalio/workflow` only. The bench (Node) imports the message definitions from here,
 * which is harmless: `defineUpdate` / `defineSignal` build plain descriptors.
 */
import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

/** Returns its argument unchanged. */
export const echoUpdate = defineUpdate<string, [string]>('echo');

/** Lets the workflow complete (the bench's clean-up). */
export const stopEcho = defineSignal<[]>('stopEcho');

export async function echoWorkflow(): Promise<void> {
  let stopped = false;
  setHandler(echoUpdate, (text: string) => text);
  setHandler(stopEcho, () => {
    stopped = true;
  });
  await condition(() => stopped);
}
