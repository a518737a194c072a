/**
 * One order for the commands of a workflow activation, whichever way the SDK core groups its jobs: update responses
 * after the other commands (terminal commands stay last). Patch `update-responses-last` (`PATCH_IDS`).
 *
 * Why (docs/chaos.md "nondeterminism on live workers", found by `npm run chaos` in 3 of 5 ten-minute runs): a worker
 * that takes a session over (full history, a cold replay) can get an activity's result and a `sendMessage` update in
 * one workflow task and hand them to the workflow in two activations, the result first. The task then records the
 * next activity scheduled, then the update accepted. Replaying that task, core hands both over in one activation, the
 * update first; the TypeScript SDK emits an acceptance while it runs the job (synchronously) and the next activity
 * after it (a microtask later): "Update machine does not handle this event: HistoryEvent(id: N,
 * ActivityTaskScheduled)", and the session is stuck. Putting update responses last makes both groupings emit the
 * same order. (Within one activation, nothing in the session workflow waits on the order between an update's
 * response and another command.)
 *
 * The SDK's workflow interceptors (`concludeActivation` of `WorkflowInternalsInterceptor`) are registered through the
 * worker's `interceptors.workflowModules`; this one is part of the workflow code instead, so that every worker and
 * every replayer of a session history applies it. It is pushed onto the running workflow's activator (the SDK's
 * `getActivator`), from the run's first activation.
 */
import { patched, type WorkflowInternalsInterceptor } from '@temporalio/workflow';
import { getActivator } from '@temporalio/workflow/lib/global-attributes.js';
import { PATCH_IDS } from '../src/session/contract.js';

/** Commands that end the run: the SDK and the server expect them last. */
const TERMINAL = new Set(['completeWorkflowExecution', 'failWorkflowExecution', 'continueAsNewWorkflowExecution', 'cancelWorkflowExecution']);

/** The command's kind: its one set variant field (`scheduleActivity`, `updateResponse`, ...; not `userMetadata`). */
function kindOf(command: object): string {
  for (const [key, value] of Object.entries(command)) if (key !== 'userMetadata' && value !== null && value !== undefined) return key;
  return '';
}

/**
 * `commands` with update responses moved after the other non-terminal commands; relative order kept within each
 * group (an update's acceptance stays before its completion). Returns the same array when there is nothing to move.
 */
export function updateResponsesLast<T extends object>(commands: T[]): T[] {
  const kinds = commands.map(kindOf);
  const first = kinds.indexOf('updateResponse');
  if (first === -1 || kinds.slice(first).every((k) => k === 'updateResponse' || TERMINAL.has(k))) return commands;
  const pick = (test: (kind: string) => boolean) => commands.filter((_, i) => test(kinds[i]!));
  return [...pick((k) => k !== 'updateResponse' && !TERMINAL.has(k)), ...pick((k) => k === 'updateResponse'), ...pick((k) => TERMINAL.has(k))];
}

/** The interceptor that applies {@link updateResponsesLast} to every activation's commands. */
const interceptor: WorkflowInternalsInterceptor = {
  concludeActivation(input, next) {
    const output = next(input);
    const commands = updateResponsesLast(output.commands);
    return commands === output.commands ? output : { ...output, commands };
  },
};

/**
 * For runs started since the `update-responses-last` patch: installs the ordering for this workflow. Call it in the
 * run's first activation, before anything is awaited. Older histories have no marker and keep the SDK's order.
 */
export function orderUpdateResponsesLast(): void {
  if (patched(PATCH_IDS.updateResponsesLast)) getActivator().interceptors.internals.push(interceptor);
}
