/**
 * The session workflow: one long-running workflow per conversation (`session-<sessionId>`).
 *
 * Messages (`sendMessage` update, `postMessage` signal, `endSession`) join one FIFO queue and are processed one at
 * a time in arrival order by the turn loop (./turn-loop.ts), which drives the pure engine (src/engine) and plays its
 * commands as activities. The agent config is pinned in the input. The session ends on an END decision,
 * `endSession`, or after `agent.session.idleTimeoutMs` without a message (a durable timer). Long sessions continue as
 * new (./lifecycle.ts) — when Temporal suggests it, or after `maxTurnsPerRun` turns or `maxHistoryBytes` of history
 * — between turns, after all handlers finished, carrying only the bounded, versioned engine state.
 *
 * The parts, as Temporal's samples lay them out (`message-passing/safe-message-handlers`): the run's shared state
 * (./run.ts), the queries (./views.ts), the update and signal handlers (./inbox.ts), the turn loop and the lifecycle.
 * The order of everything below is the order of the workflow's commands: replay of recorded histories depends on it.
 *
 * Sandbox-safe: imports `@temporalio/workflow`, pure code and activity *types* only.
 */
import { ApplicationFailure, ContinueAsNew, TemporalFailure, WorkflowError, isCancellation, log, patched } from '@temporalio/workflow';
import { activityExecutors, activityMode } from '../activity-executors.js';
import { orderUpdateResponsesLast } from '../command-order.js';
import { startArchive } from '../archive-writes.js';
import { IdleTimer } from '../idle-timer.js';
import { openSessionState } from '../session-start.js';
import { TimeTravel } from '../time-travel.js';
import { UsageAndTitle } from '../usage-and-title.js';
import { OPENING_MESSAGE_ID, PATCH_IDS, type SessionWorkflowInput } from '../shared.js';
import { registerInfoHandler, registerMessageHandlers, registerRewind } from './inbox.js';
import { continueAsNew, endSession, type SessionOutcome } from './lifecycle.js';
import { SessionRun } from './run.js';
import { runTurns } from './turn-loop.js';
import { registerViews } from './views.js';

export type { SessionOutcome } from './lifecycle.js';

/**
 * The session workflow. Input: {@link SessionWorkflowInput}.
 *
 * Only Temporal failures (`ApplicationFailure`, activity failures) and Temporal's own continue-as-new, cancellation
 * and determinism errors leave it. Any other error, a bug, would fail the workflow task, which Temporal retries
 * forever, leaving the session stuck with its callers waiting: it fails the session instead (`INTERNAL_ERROR`,
 * non-retryable), visibly.
 */
export async function sessionWorkflow(input: SessionWorkflowInput): Promise<SessionOutcome> {
  try {
    return await runSession(input);
  } catch (err) {
    if (err instanceof TemporalFailure || err instanceof ContinueAsNew || err instanceof WorkflowError || isCancellation(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    log.error('session failed: internal error', { sessionId: input.sessionId, error: message });
    throw ApplicationFailure.nonRetryable(`internal error in session ${input.sessionId}: ${message}`, 'INTERNAL_ERROR');
  }
}

async function runSession(input: SessionWorkflowInput): Promise<SessionOutcome> {
  orderUpdateResponsesLast();
  const run = new SessionRun(input, await openSessionState(input));
  // Sessions started with `initiate` open with the agent's turn, before any message (new sessions only: the flag is
  // absent from every older history, so their command sequence is unchanged).
  if (input.initiate && !input.carried) run.queue.pushMessage({ messageId: OPENING_MESSAGE_ID, text: '' }, true);
  if (run.state.turn?.approval) run.queue.unshiftResume();

  // Time travel (docs/time-travel.md): this run's turn snapshots, `getTurnState` (forks) and `rewind`.
  run.travel = new TimeTravel({
    state: () => run.state,
    setState: (state) => {
      run.state = state;
    },
    blocked: () => run.rewindBlocked(),
    archiveOn: () => run.archived.on,
    answered: () => [...run.answered],
    forgetAfter: (turn) => run.forgetAfter(turn),
    archiveWrite: (write) => run.archived.write(write),
    changed: () => {
      run.memo();
      run.idle?.restart();
    },
    activityMode: () => run.activityMode,
  });
  registerViews(run);
  const approvals = registerMessageHandlers(run);
  registerInfoHandler(run);

  // The idle timer (and its patch marker) is set up in the run's first activation for sessions started since the
  // `idle-timer-first` patch: set up after the archive start (a local activity), its marker could come before or after
  // an update accepted in the same workflow task, and replay then failed on it (seen in compat.int.test.ts, ~1 run in
  // 5). Older sessions keep the old place (no marker for the new patch in their history).
  run.idle = patched(PATCH_IDS.idleTimerFirst) ? new IdleTimer(input.agent.session.idleTimeoutMs) : undefined;
  // The same for the activity executors and their `decide-local-activity` marker (patch `executors-first`): asked
  // after the archive start, the marker landed in the next workflow task whenever that local activity finished while
  // the first activation still ran, and replay (which resolves the local activity within the first task) failed.
  // Token usage and generated titles: their patches are asked here too, in the run's first activation.
  const extras = new UsageAndTitle(input);
  run.extras = extras;
  // No local activities for sessions started since `no-local-activities` (asked here, before `executors-first`): a
  // local activity's late resolution under bursts of updates and queries broke replay (docs/chaos.md).
  run.activityMode = activityMode();
  run.archived.mode = run.activityMode;
  const executorsFirst = patched(PATCH_IDS.executorsFirst) ? activityExecutors(extras.report, run.activityMode) : undefined;
  // Kept archive writes retried on timers while the session is idle (patch `archive-retry-while-idle`, asked here in
  // the first activation, for sessions without local activities).
  run.archived.retryWhileIdle = run.activityMode === 'regular' && patched(PATCH_IDS.archiveRetryWhileIdle);
  if (run.run === 1) {
    run.memo();
    run.archived = await startArchive(
      {
        sessionId: run.sessionId,
        agentName: run.agent.name,
        configHash: run.agent.configHash,
        createdAt: run.state.createdAt,
        ...run.info,
        state: JSON.stringify(run.state),
      },
      run.archived,
    );
  }
  run.archived.retryKept(); // writes carried from the last run, or a start the archive could not take
  run.idle ??= new IdleTimer(input.agent.session.idleTimeoutMs);
  // `rewind` is registered once everything it touches exists (archive writer, memo, idle timer): a rewind buffered
  // before the run's first activation (one retried into a new run) is dispatched here, synchronously.
  registerRewind(run);

  const reason = await runTurns(run, approvals, executorsFirst ?? activityExecutors(extras.report, run.activityMode), extras);
  if (reason) return endSession(run, reason, extras);
  return continueAsNew(run, extras);
}
