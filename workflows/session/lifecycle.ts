/**
 * How a run ends: the session ends for good (the workflow returns its {@link SessionOutcome}), or the run continues
 * as new between turns, carrying only the bounded, versioned engine state and the run's bookkeeping
 * (../carried.ts). Both wait for every accepted update handler to finish first (`allHandlersFinished`).
 */
import { allHandlersFinished, condition, log, makeContinueAsNewFunc } from '@temporalio/workflow';
import { drainAfterEnd, endWrite } from '../archive-writes.js';
import { nextRunInput } from '../carried.js';
import { endedRefusal } from '../message-queue.js';
import type { SessionWorkflowInput } from '../shared.js';
import type { UsageAndTitle } from '../usage-and-title.js';
import type { SessionRun } from './run.js';

/** The workflow's result when the session ends. */
export interface SessionOutcome {
  sessionId: string;
  reason: 'end_action' | 'idle_timeout' | 'end_session';
  turns: number;
  stepId: string;
}

/** The session workflow's signature (./workflow.ts), for the typed continue-as-new. */
type SessionWorkflow = (input: SessionWorkflowInput) => Promise<SessionOutcome>;

/** Ends the session: refuses what is still queued, archives the end, waits for the handlers, returns the outcome. */
export async function endSession(run: SessionRun, reason: SessionOutcome['reason'], extras: UsageAndTitle): Promise<SessionOutcome> {
  const { state } = run;
  // Messages still queued cannot be answered: recorded as refused (their result URLs answer SESSION_ENDED), their
  // handlers fail with SESSION_ENDED.
  run.queue.refuseQueued(endedRefusal(state.sessionId));
  run.memo();
  await extras.settle();
  await run.archived.write(endWrite(run.agent, state, reason));
  await drainAfterEnd(run.archived);
  await condition(allHandlersFinished);
  return { sessionId: state.sessionId, reason, turns: state.counters.turns, stepId: state.stepId };
}

/**
 * Continues as new between turns; every update handler has returned its result (checked by the turn loop). The memo
 * and search attributes go along explicitly: the next run starts with the current step, not the first one.
 *
 * @throws ContinueAsNew (Temporal's, always): the run ends here.
 */
export async function continueAsNew(run: SessionRun, extras: UsageAndTitle): Promise<never> {
  await extras.settle();
  // Runs since `no-local-activities` do not wait for each turn's archive write: the last one may still be running.
  if (run.activityMode === 'regular') await run.archived.settled();
  const options = run.index.continueAsNewOptions(run.info);
  const next = makeContinueAsNewFunc<SessionWorkflow>({ ...options, memo: { ...options.memo, ...extras.memoFields() } });
  const bounded = nextRunInput(run.input, {
    state: run.state,
    info: run.info,
    run: run.run,
    pending: run.queue.pending(),
    refused: run.queue.refusals(),
    answered: [...run.answered],
    archive: run.archived.on,
    unarchived: run.archived.pending,
    ...extras.carried(),
  });
  const { shed } = bounded;
  if (shed.unarchived + shed.answered + shed.pending.length > 0) {
    log.warn('continue-as-new input over its limit: shed to fit', { sessionId: run.sessionId, ...shed });
  }
  return next(bounded.input);
}
