/**
 * The main loop of a run: takes the queue's items one at a time in arrival order, drives the pure engine through a
 * turn (`playTurn` plays its commands as activities and timers), records the result and archives it. It returns
 * when the session ends (the reason) or when the run should continue as new (`undefined`).
 */
import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';
import { playTurn } from '../../src/engine/driver.js';
import { endSession as endEngineSession, findResult, resumeTurn, startTurn } from '../../src/engine/engine.js';
import type { TurnExecutors } from '../../src/engine/driver.js';
import { now } from '../activity-executors.js';
import type { ApprovalInbox } from '../approvals.js';
import type { UsageAndTitle } from '../usage-and-title.js';
import { endedRefusal } from '../message-queue.js';
import type { SessionRun } from './run.js';
import type { SessionOutcome } from './lifecycle.js';

/**
 * Runs turns until the session ends or the run is due to continue as new, playing the engine's commands with `exec`
 * (../activity-executors.ts: activities, local activities, timers).
 *
 * @returns why the session ended, or `undefined` to continue as new (every accepted update has its result then).
 */
export async function runTurns(
  run: SessionRun,
  approvals: ApprovalInbox,
  exec: Omit<TurnExecutors, 'onState'>,
  extras: UsageAndTitle,
): Promise<SessionOutcome['reason'] | undefined> {
  const { agent, queue } = run;
  const idle = run.idle!;
  for (;;) {
    if (run.continueAsNewDue()) {
      // An update must complete in the run that accepted it, so a busy session could postpone continue-as-new forever.
      // From here on new messages are refused (`SESSION_CONTINUING`: the API retries them into the next run) and
      // the run continues as new once the updates it accepted have their results. Queued signals are carried over.
      run.draining = true;
      if (allHandlersFinished() && !queue.hasEnd()) return undefined;
      if (queue.length === 0) {
        await condition(() => allHandlersFinished() || queue.length > 0);
        continue;
      }
    }

    if (!(await idle.wait(() => queue.length > 0 && !run.travel.rewinding))) {
      run.state = endEngineSession(run.state, 'idle_timeout', now());
      return 'idle_timeout';
    }
    const item = queue.shift()!;
    if (item.kind === 'end') {
      run.state = endEngineSession(run.state, 'end_session', now());
      return 'end_session';
    }
    // Duplicate by message id (signal + update, or a signal retried after its turn).
    if (item.kind === 'message' && (findResult(run.state, item.message.messageId) || run.answered.has(item.message.messageId))) continue;
    run.busy = true;
    run.running = item.kind === 'resume' ? run.state.turn!.messageId : item.message.messageId;
    const startedAt = now();
    extras.startTurn();
    const first =
      item.kind === 'resume' ? resumeTurn(run.state) : startTurn(agent, run.state, { ...item.message, now: now(), ...(item.opening ? { opening: true } : {}) });
    const out = await playTurn(agent, first, {
      ...exec,
      onState: (s) => {
        run.state = s; // queries see events live, mid-turn
      },
      onPaused: (result) => run.paused.set(result.messageId, extras.withUsage(result)),
      // While paused, the run may continue as new (carrying the wait) once no caller waits on it, or end on request.
      awaitApproval: (command) => approvals.wait(command, () => run.endRequested || (run.continueAsNewDue() && allHandlersFinished())),
    });
    run.state = out.state;
    run.busy = false;
    const turnId = run.running;
    run.running = undefined;
    if ('suspended' in out) {
      if (run.endRequested) {
        // Ending a paused turn goes first: the turn ends with the session (its result URL answers SESSION_ENDED), and
        // the messages queued behind it (which could not run before it) are refused too, so the `end` item is next.
        queue.refuse(turnId, { code: 'SESSION_ENDED', message: `session ${run.sessionId} ended while this turn waited for approval` });
        queue.refuseQueued(endedRefusal(run.sessionId));
        continue;
      }
      run.draining = true;
      return undefined;
    }
    const result = extras.withUsage(out.result);
    run.state = extras.keepUsage(run.state, result);
    run.paused.delete(result.messageId);
    run.turnsThisRun++;
    run.finished.set(result.messageId, result);
    run.rememberAnswer(result.messageId, result.turn);
    idle.restart();
    // One memo upsert per turn since `no-local-activities` (runs recorded before it made two: step, then usage).
    if (run.activityMode === 'regular') run.memo(extras.memoFields());
    else {
      run.memo();
      extras.updateMemo();
    }
    extras.afterTurn(result, run.info.name !== undefined, (title) => run.applyTitle(title));
    run.travel.record(run.state);
    const archived = run.archived.write({
      kind: 'turn',
      input: {
        sessionId: run.sessionId,
        agentName: agent.name,
        configHash: agent.configHash,
        run: run.run,
        startedAt,
        finishedAt: now(),
        turn: result,
        runId: workflowInfo().runId,
        state: JSON.stringify(run.state),
      },
    });
    // Since `no-local-activities` the next turn does not wait for the turn's archive write (a regular activity): a
    // queued message's decision goes out in the same workflow task. Writes stay in order, one at a time, and the
    // session's end and continue-as-new wait for them (./lifecycle.ts).
    if (run.activityMode !== 'regular') await archived;
    else void archived.catch(() => undefined); // only a cancellation rejects it, and the run's other awaits see that
    if (run.state.status === 'ended') return 'end_action';
  }
}
