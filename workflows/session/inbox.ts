/**
 * The session's write side: the update and signal handlers with their validators. Messages (`sendMessage` update,
 * `postMessage` signal) and end requests join the run's FIFO queue, which the turn loop (./turn-loop.ts) works through;
 * approvals, info changes and the opening turn are answered here. Validators refuse before anything reaches history
 * (the rules shared with the in-process backend are in ../admission.ts).
 */
import { ApplicationFailure, condition, log, setHandler, upsertMemo } from '@temporalio/workflow';
import { findResult } from '../../src/engine/engine.js';
import type { TurnResult } from '../../src/engine/types.js';
import { refusalFailure, refuseMessage } from '../admission.js';
import { ApprovalInbox } from '../approvals.js';
import {
  approvalSignal,
  decideApproval,
  getApproval,
  endSessionSignal,
  endSessionUpdate,
  OPENING_MESSAGE_ID,
  openSession,
  postMessage,
  rewind,
  sendMessage,
  SessionInfoPatch,
  type SessionView,
  updateSessionInfo,
  type UserMessage,
  UserMessage as UserMessageSchema,
} from '../shared.js';
import type { SessionRun } from './run.js';

/**
 * Registers the message, opening and approval handlers of `run`.
 *
 * @returns the approval inbox, which the turn loop waits on while a turn is paused for approval.
 */
export function registerMessageHandlers(run: SessionRun): ApprovalInbox {
  const known = (id: string) => run.isQueued(id) || run.inProgress(id);

  setHandler(
    sendMessage,
    async (message: UserMessage): Promise<TurnResult> => {
      const id = message.messageId;
      const earlier = run.resultOf(id) ?? run.paused.get(id);
      if (earlier) return earlier;
      if (!known(id)) {
        // A message refused before (QUEUE_FULL) and sent again is a new attempt: its old refusal must not answer it.
        // Sessions since `no-local-activities` only (recorded runs answered such a retry SESSION_ENDED, found by
        // test/integration/burst.int.test.ts once approvals were taken while draining).
        if (run.activityMode === 'regular') run.queue.forgetRefusal(id);
        run.queue.pushMessage(message);
      }
      // A turn paused for approval answers early ("approval pending"); its final result arrives as events.
      const refused = () => run.queue.refusalOf(id) !== undefined;
      await condition(() => run.finished.has(id) || run.paused.has(id) || refused() || (run.state.status === 'ended' && !run.isQueued(id)));
      const result = run.finished.get(id) ?? run.paused.get(id);
      if (!result) throw ApplicationFailure.nonRetryable(`session ${run.sessionId} has ended`, 'SESSION_ENDED');
      return result;
    },
    {
      // The rules shared with the in-process backend (../admission.ts); a refusal never reaches history.
      validator: (message: UserMessage): void => {
        if (run.travel.rewinding) throw ApplicationFailure.nonRetryable(`session ${run.sessionId} is applying a rewind; send again`, 'REWIND_IN_PROGRESS');
        const id = message?.messageId;
        const refusal = refuseMessage(message, {
          sessionId: run.sessionId,
          ended: run.closed,
          known: run.resultOf(id) !== undefined || known(id),
          answeredTurn: run.answeredLongAgo(id),
          startedWithFirstMessage: run.input.firstMessage === true,
          draining: run.draining,
          hasRoom: run.queue.hasRoomFor(message),
        });
        if (refusal) throw refusalFailure(refusal);
      },
    },
  );

  setHandler(
    openSession,
    async (): Promise<TurnResult> => {
      // `heldResult`, not `resultOf`: recorded runs answered an opening turn no longer held MESSAGE_ALREADY_ANSWERED.
      await condition(() => run.heldResult(OPENING_MESSAGE_ID) !== undefined || !known(OPENING_MESSAGE_ID));
      const result = run.heldResult(OPENING_MESSAGE_ID);
      if (result) return result;
      throw ApplicationFailure.create({
        message: `the opening turn of session ${run.sessionId} was answered long ago; its result is in the archive`,
        type: 'MESSAGE_ALREADY_ANSWERED',
        nonRetryable: true,
        details: [{ turn: run.answered.get(OPENING_MESSAGE_ID) ?? 1 }],
      });
    },
    {
      // Only sessions started with `initiate` open with the agent's turn; anyone else's open is a create request for
      // a taken session id.
      validator: (): void => {
        if (!run.input.initiate) throw ApplicationFailure.nonRetryable(`session ${run.sessionId} already exists`, 'SESSION_EXISTS');
      },
    },
  );

  // Decisions are refused as `continuing` only once no turn waits on the inbox (the run is about to continue as new
  // and the inbox is not carried): a turn that paused while the run drains (continue-as-new due, updates of queued
  // messages still unanswered) takes its decision here, else neither the turn nor the run could ever move on (found
  // by the chaos suite: a burst session stuck on an approval every client retried for minutes).
  const approvals = new ApprovalInbox(
    () => run.state,
    () => (run.closed ? 'ended' : run.draining && !run.busy ? 'continuing' : undefined),
  );
  setHandler(decideApproval, (request) => approvals.accept(request), { validator: (request) => approvals.validate(request) });
  setHandler(approvalSignal, (request) => approvals.signal(request));
  setHandler(getApproval, (callId: string) => approvals.lookup(callId));

  setHandler(postMessage, (message: UserMessage) => {
    if (!UserMessageSchema.safeParse(message).success) {
      log.warn('postMessage ignored: invalid message', { messageId: message?.messageId });
      return;
    }
    const id = message.messageId;
    if (findResult(run.state, id) || run.answered.has(id) || known(id)) return;
    // The API refuses posts to ended or ending sessions (409); one racing the end, or finding the queue full, is
    // dropped here, visibly, and its result URL answers the refusal.
    const refusal = run.queue.offer(message, run.sessionId, run.closed);
    if (refusal) log.warn(`postMessage dropped: ${refusal.message}`, { messageId: id, queued: run.queue.length });
  });

  setHandler(
    endSessionUpdate,
    async (): Promise<SessionView> => {
      run.requestEnd();
      await condition(() => run.state.status === 'ended');
      return run.view();
    },
    {
      // Ending an ended session changes nothing: refused before it reaches history (the API answers with the state).
      validator: (): void => {
        if (run.state.status !== 'active') throw ApplicationFailure.nonRetryable(`session ${run.sessionId} has ended`, 'SESSION_ENDED');
      },
    },
  );
  setHandler(endSessionSignal, () => run.requestEnd());
  return approvals;
}

/** Registers `updateSessionInfo`: a new name and/or metadata, recorded in the memo and the archive. */
export function registerInfoHandler(run: SessionRun): void {
  setHandler(
    updateSessionInfo,
    async (patch: SessionInfoPatch): Promise<SessionView> => {
      run.info = { ...run.info, ...patch };
      if (patch.name !== undefined) upsertMemo({ name: patch.name });
      await run.archived.write({ kind: 'info', input: { sessionId: run.sessionId, ...patch } });
      return run.view();
    },
    {
      validator: (patch: SessionInfoPatch): void => {
        const parsed = SessionInfoPatch.safeParse(patch);
        if (!parsed.success) {
          throw ApplicationFailure.nonRetryable(parsed.error.issues.map((i) => i.message).join('; '), 'INVALID_REQUEST');
        }
        if (run.closed) throw ApplicationFailure.nonRetryable(`session ${run.sessionId} has ended`, 'SESSION_ENDED');
      },
    },
  );
}

/** Registers `rewind` (docs/time-travel.md): validated and applied by the run's {@link SessionRun.travel}. */
export function registerRewind(run: SessionRun): void {
  setHandler(rewind, (request) => run.travel.rewind(request), { validator: (request) => run.travel.validate(request) });
}
