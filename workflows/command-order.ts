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
 * The same split also reorders update responses among themselves (`npm run chaos -- --seed 7011` under a 256 MB heap,
 * a burst session taken over cold): the first activation, the `archiveTurn` result, finished the turn and recorded the
 * completion of the update accepted two tasks before; the second accepted two new updates. Replayed in one activation,
 * the acceptances come first (the SDK runs update jobs before activity results) and the completion after: "UpdateMachine
 * in state AcceptCommandCreated says the transition is invalid during event ... WorkflowExecutionUpdateCompleted". So
 * since patch `update-completions-first`, the completions of updates accepted in earlier activations also go before
 * the responses to updates this activation received ({@link earlierCompletionsFirst}).
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

/** The update id of an `updateResponse` command and whether it accepts the update; `undefined` for other commands. */
function response(command: object): { id: string; accepts: boolean } | undefined {
  const r = (command as { updateResponse?: { protocolInstanceId?: string; accepted?: unknown } }).updateResponse;
  return r ? { id: r.protocolInstanceId ?? '', accepts: r.accepted !== undefined && r.accepted !== null } : undefined;
}

/**
 * `commands` (the output of {@link updateResponsesLast}) with the completions of updates accepted in earlier
 * activations (`acceptedBefore`, ids; a completion is `completed`, or `rejected` when its handler failed) moved before
 * the responses to the updates this activation received; relative order kept within each group, so an update accepted
 * here is still completed after its acceptance. Returns the same array when there is nothing to move.
 */
export function earlierCompletionsFirst<T extends object>(commands: T[], acceptedBefore: ReadonlySet<string>): T[] {
  const responses = commands.map(response);
  const earlier = responses.map((r) => r !== undefined && !r.accepts && acceptedBefore.has(r.id));
  const firstResponse = responses.findIndex((r) => r !== undefined);
  const lastEarlier = earlier.lastIndexOf(true);
  if (lastEarlier === -1 || earlier.slice(firstResponse, lastEarlier + 1).every(Boolean)) return commands;
  return [
    ...commands.slice(0, firstResponse),
    ...commands.filter((_, i) => earlier[i]),
    ...commands.slice(firstResponse).filter((_, i) => !earlier[firstResponse + i]),
  ];
}

/**
 * The refined ordering of one run: {@link updateResponsesLast}, then {@link earlierCompletionsFirst} with the updates
 * this run accepted in its earlier activations and has not completed (a set as large as the updates in flight).
 */
function refinedOrder(): <T extends object>(commands: T[]) => T[] {
  const accepted = new Set<string>();
  return (commands) => {
    const ordered = earlierCompletionsFirst(updateResponsesLast(commands), accepted);
    for (const r of commands.map(response)) {
      if (r?.accepts) accepted.add(r.id);
      else if (r) accepted.delete(r.id);
    }
    return ordered;
  };
}

/** The interceptor that applies `order` to every activation's commands. */
function ordering(order: <T extends object>(commands: T[]) => T[]): WorkflowInternalsInterceptor {
  return {
    concludeActivation(input, next) {
      const output = next(input);
      const commands = order(output.commands);
      return commands === output.commands ? output : { ...output, commands };
    },
  };
}

/**
 * For runs started since the `update-responses-last` patch: installs the ordering for this workflow, and since
 * `update-completions-first` its refinement. Call it in the run's first activation, before anything is awaited.
 * Older histories have no markers and keep the SDK's order (or the first ordering alone).
 */
export function orderUpdateResponsesLast(): void {
  if (!patched(PATCH_IDS.updateResponsesLast)) return;
  const order = patched(PATCH_IDS.updateCompletionsFirst) ? refinedOrder() : updateResponsesLast;
  getActivator().interceptors.internals.push(ordering(order));
}
