/**
 * The session workflow: one long-running workflow per conversation (`session-<sessionId>`).
 *
 * Messages (`sendMessage` update, `postMessage` signal, `endSession`) join one FIFO queue and are processed one at
 * a time in arrival order by the main loop, which drives the pure engine (src/engine) and plays its commands as
 * activities. The agent config is pinned in the input. The session ends on an END decision, `endSession`, or after
 * `agent.session.idleTimeoutMs` without a message (a durable timer). Long sessions continue as new — when Temporal
 * suggests it, or after `maxTurnsPerRun` turns or `maxHistoryBytes` of history — between turns, after all handlers
 * finished, carrying only the bounded, versioned engine state.
 *
 * Sandbox-safe: imports `@temporalio/workflow`, pure engine code and activity *types* only.
 */
import {
  ApplicationFailure,
  ContinueAsNew,
  TemporalFailure,
  WorkflowError,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { playTurn } from '../src/engine/driver.js';
import { endSession as endEngineSession, findResult, resumeTurn, startTurn } from '../src/engine/engine.js';
import { clipEvent } from '../src/engine/state.js';
import type { SessionState, TurnResult } from '../src/engine/types.js';
import { activityExecutors, now } from './activity-executors.js';
import { refusalFailure, refuseMessage } from './admission.js';
import { ApprovalInbox } from './approvals.js';
import { type ArchiveWrite, ArchiveWrites, drainAfterEnd, endWrite, startArchive } from './archive-writes.js';
import { nextRunInput } from './carried.js';
import { IdleTimer } from './idle-timer.js';
import { endedRefusal, MessageQueue } from './message-queue.js';
import { openSessionState } from './session-start.js';
import { SessionIndex, sessionView } from './session-view.js';
import { TimeTravel } from './time-travel.js';
import {
  decideApproval,
  endSessionSignal,
  endSessionUpdate,
  getEvents,
  getHistory,
  getState,
  getTurnState,
  getTurnResult,
  MAX_REMEMBERED_MESSAGE_IDS,
  OPENING_MESSAGE_ID,
  openSession,
  PATCH_IDS,
  postMessage,
  rewind,
  sendMessage,
  type SessionInfo,
  SessionInfoPatch,
  type SessionView,
  type SessionWorkflowInput,
  type TurnLookup,
  updateSessionInfo,
  type UserMessage,
  UserMessage as UserMessageSchema,
} from './shared.js';

/** The workflow's result when the session ends. */
export interface SessionOutcome {
  sessionId: string;
  reason: 'end_action' | 'idle_timeout' | 'end_session';
  turns: number;
  stepId: string;
}

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
  const agent = input.agent;
  const run = (input.carried?.run ?? 0) + 1;
  /** User id, name, metadata: from the input, changed by `updateSessionInfo`. Empty for older sessions. */
  let info: SessionInfo = input.info ?? {};
  let state: SessionState = await openSessionState(input);
  const queue = new MessageQueue(input.carried?.pending, input.carried?.refused);
  // Sessions started with `initiate` open with the agent's turn, before any message (new sessions only: the flag is
  // absent from every older history, so their command sequence is unchanged).
  if (input.initiate && !input.carried) queue.pushMessage({ messageId: OPENING_MESSAGE_ID, text: '' }, true);
  if (state.turn?.approval) queue.unshiftResume();
  /** Results of turns finished in this run, picked up by waiting update handlers. */
  const finished = new Map<string, TurnResult>();
  /** Early results of turns paused for approval ("approval pending"), by message id, until they finish. */
  const paused = new Map<string, TurnResult>();
  let busy = false;
  /** Message id of the turn being run, if any. */
  let running: string | undefined;
  let endRequested = false;
  let turnsThisRun = 0;
  /** Turn of each remembered answered message id (carried across runs; see MAX_REMEMBERED_MESSAGE_IDS). */
  const answered = new Map<string, number>(input.carried?.answered ?? input.fork?.answered ?? []);
  const rememberAnswer = (messageId: string, turn: number) => {
    answered.set(messageId, turn);
    if (answered.size > MAX_REMEMBERED_MESSAGE_IDS) answered.delete(answered.keys().next().value!);
  };
  /** The full result of message `messageId`, if this run still holds it. */
  const resultOf = (messageId: string): TurnResult | undefined => findResult(state, messageId) ?? finished.get(messageId);
  /** Answered long ago: remembered by id, but its full result is no longer held. */
  const answeredLongAgo = (messageId: string) => (resultOf(messageId) ? undefined : answered.get(messageId));
  /** Continue-as-new is due: new messages are refused until the next run (see the main loop). */
  let draining = false;

  const isQueued = (messageId: string) => queue.has(messageId);

  // Time travel (docs/time-travel.md): this run's turn snapshots, `getTurnState` (forks) and `rewind`.
  const travel = new TimeTravel({
    state: () => state,
    setState: (s) => {
      state = s;
    },
    blocked: () =>
      state.status !== 'active' || endRequested ? 'ended' : draining ? 'continuing' : busy || running !== undefined || queue.length > 0 || state.turn !== null ? 'in_flight' : undefined,
    archiveOn: () => archived.on,
    answered: () => [...answered],
    forgetAfter: (turn) => {
      for (const [id, t] of [...answered]) if (t > turn) answered.delete(id);
      for (const [id, result] of [...finished]) if (result.turn > turn) finished.delete(id);
    },
    archiveWrite: (write) => archived.write(write),
    changed: () => {
      memo();
      idle?.restart();
    },
  });
  setHandler(getTurnState, (turn: number) => travel.lookup(turn));

  setHandler(getState, () => ({ ...sessionView(agent, state, info, run, queue.length, busy), ...(endRequested ? { ending: true } : {}) }));
  setHandler(getTurnResult, (messageId: string): TurnLookup => {
    const result = resultOf(messageId);
    if (result) return { status: 'done', result };
    if (running === messageId) return { status: 'running' };
    if (isQueued(messageId)) return { status: 'queued' };
    const refusal = queue.refusalOf(messageId);
    if (refusal) return { status: 'refused', refusal };
    const turn = answered.get(messageId);
    return turn === undefined ? { status: 'unknown' } : { status: 'answered', turn };
  });
  setHandler(getHistory, () => ({ sessionId: state.sessionId, turns: state.recentResults }));
  setHandler(getEvents, (fromSeq: number) => ({
    firstSeq: state.events[0]?.seq ?? state.counters.events,
    nextSeq: state.counters.events,
    // Mid-turn, the running turn's events are still whole (a tool output can be 1 MB): clip them for the reply.
    events: state.events.filter((e) => e.seq >= fromSeq).map((e) => clipEvent(e)),
    ended: state.status === 'ended',
  }));

  setHandler(
    sendMessage,
    async (message: UserMessage): Promise<TurnResult> => {
      const id = message.messageId;
      const earlier = resultOf(id) ?? paused.get(id);
      if (earlier) return earlier;
      if (!isQueued(id) && running !== id) queue.pushMessage(message);
      // A turn paused for approval answers early ("approval pending"); its final result arrives as events.
      const refused = () => queue.refusalOf(id) !== undefined;
      await condition(() => finished.has(id) || paused.has(id) || refused() || (state.status === 'ended' && !isQueued(id)));
      const result = finished.get(id) ?? paused.get(id);
      if (!result) throw ApplicationFailure.nonRetryable(`session ${state.sessionId} has ended`, 'SESSION_ENDED');
      return result;
    },
    {
      // The rules shared with the in-process backend (./admission.ts); a refusal never reaches history.
      validator: (message: UserMessage): void => {
        if (travel.rewinding) throw ApplicationFailure.nonRetryable(`session ${state.sessionId} is applying a rewind; send again`, 'REWIND_IN_PROGRESS');
        const id = message?.messageId;
        const refusal = refuseMessage(message, {
          sessionId: state.sessionId,
          ended: state.status !== 'active' || endRequested,
          known: resultOf(id) !== undefined || isQueued(id) || running === id,
          answeredTurn: answeredLongAgo(id),
          startedWithFirstMessage: input.firstMessage === true,
          draining,
          hasRoom: queue.hasRoomFor(message),
        });
        if (refusal) throw refusalFailure(refusal);
      },
    },
  );

  setHandler(
    openSession,
    async (): Promise<TurnResult> => {
      const openingPending = () => isQueued(OPENING_MESSAGE_ID) || running === OPENING_MESSAGE_ID;
      await condition(() => resultOf(OPENING_MESSAGE_ID) !== undefined || !openingPending());
      const result = resultOf(OPENING_MESSAGE_ID);
      if (result) return result;
      throw ApplicationFailure.create({
        message: `the opening turn of session ${state.sessionId} was answered long ago; its result is in the archive`,
        type: 'MESSAGE_ALREADY_ANSWERED',
        nonRetryable: true,
        details: [{ turn: answered.get(OPENING_MESSAGE_ID) ?? 1 }],
      });
    },
    {
      // Only sessions started with `initiate` open with the agent's turn; anyone else's open is a create request for
      // a taken session id.
      validator: (): void => {
        if (!input.initiate) throw ApplicationFailure.nonRetryable(`session ${state.sessionId} already exists`, 'SESSION_EXISTS');
      },
    },
  );

  const approvals = new ApprovalInbox(
    () => state,
    () => (state.status !== 'active' || endRequested ? 'ended' : draining ? 'continuing' : undefined),
  );
  setHandler(decideApproval, (request) => approvals.accept(request), { validator: (request) => approvals.validate(request) });

  setHandler(postMessage, (message: UserMessage) => {
    if (!UserMessageSchema.safeParse(message).success) {
      log.warn('postMessage ignored: invalid message', { messageId: message?.messageId });
      return;
    }
    const id = message.messageId;
    if (findResult(state, id) || answered.has(id) || isQueued(id) || running === id) return;
    // The API refuses posts to ended or ending sessions (409); one racing the end, or finding the queue full, is
    // dropped here, visibly, and its result URL answers the refusal.
    const refusal = queue.offer(message, state.sessionId, state.status !== 'active' || endRequested);
    if (refusal) log.warn(`postMessage dropped: ${refusal.message}`, { messageId: id, queued: queue.length });
  });

  /** An end request joins the queue once (the turns queued before it run first, unless a turn waits for approval). */
  const requestEnd = () => {
    if (!endRequested && state.status === 'active') {
      endRequested = true;
      queue.pushEnd();
    }
  };
  setHandler(
    endSessionUpdate,
    async (): Promise<SessionView> => {
      requestEnd();
      await condition(() => state.status === 'ended');
      return sessionView(agent, state, info, run, queue.length, busy);
    },
    {
      // Ending an ended session changes nothing: refused before it reaches history (the API answers with the state).
      validator: (): void => {
        if (state.status !== 'active') throw ApplicationFailure.nonRetryable(`session ${state.sessionId} has ended`, 'SESSION_ENDED');
      },
    },
  );
  setHandler(endSessionSignal, requestEnd);

  const index = new SessionIndex(agent, () => state);
  const memo = () => index.update();

  let archived = new ArchiveWrites(input.carried?.archive ?? true, (input.carried?.unarchived ?? []) as ArchiveWrite[]);

  setHandler(
    updateSessionInfo,
    async (patch: SessionInfoPatch): Promise<SessionView> => {
      info = { ...info, ...patch };
      if (patch.name !== undefined) upsertMemo({ name: patch.name });
      await archived.write({ kind: 'info', input: { sessionId: state.sessionId, ...patch } });
      return sessionView(agent, state, info, run, queue.length, busy);
    },
    {
      validator: (patch: SessionInfoPatch): void => {
        const parsed = SessionInfoPatch.safeParse(patch);
        if (!parsed.success) {
          throw ApplicationFailure.nonRetryable(parsed.error.issues.map((i) => i.message).join('; '), 'INVALID_REQUEST');
        }
        if (state.status !== 'active' || endRequested) {
          throw ApplicationFailure.nonRetryable(`session ${state.sessionId} has ended`, 'SESSION_ENDED');
        }
      },
    },
  );

  // The idle timer (and its patch marker) is set up in the run's first activation for sessions started since the
  // `idle-timer-first` patch: set up after the archive start (a local activity), its marker could come before or after
  // an update accepted in the same workflow task, and replay then failed on it (seen in compat.int.test.ts, ~1 run in
  // 5). Older sessions keep the old place (no marker for the new patch in their history).
  let idle = patched(PATCH_IDS.idleTimerFirst) ? new IdleTimer(agent.session.idleTimeoutMs) : undefined;
  if (run === 1) {
    memo();
    archived = await startArchive(
      { sessionId: state.sessionId, agentName: agent.name, configHash: agent.configHash, createdAt: state.createdAt, ...info, state: JSON.stringify(state) },
      archived,
    );
  }

  idle ??= new IdleTimer(agent.session.idleTimeoutMs);
  // `rewind` is registered once everything it touches exists (archive writer, memo, idle timer): a rewind buffered
  // before the run's first activation (one retried into a new run) is dispatched here, synchronously.
  setHandler(rewind, (request) => travel.rewind(request), { validator: (request) => travel.validate(request) });

  const exec = activityExecutors();
  let endReason: SessionOutcome['reason'] | undefined;

  /** Continue-as-new is due (at least one turn per run: a first event over `maxHistoryBytes` must not loop). */
  const continueAsNewDue = (): boolean => {
    const info = workflowInfo();
    return (
      turnsThisRun > 0 &&
      (info.continueAsNewSuggested || turnsThisRun >= agent.session.maxTurnsPerRun || info.historySize >= agent.session.maxHistoryBytes)
    );
  };

  for (;;) {
    if (continueAsNewDue()) {
      // An update must complete in the run that accepted it, so a busy session could postpone continue-as-new forever.
      // From here on new messages are refused (`SESSION_CONTINUING`: the API retries them into the next run) and
      // the run continues as new once the updates it accepted have their results. Queued signals are carried over.
      draining = true;
      if (allHandlersFinished() && !queue.hasEnd()) break;
      if (queue.length === 0) {
        await condition(() => allHandlersFinished() || queue.length > 0);
        continue;
      }
    }

    if (!(await idle.wait(() => queue.length > 0 && !travel.rewinding))) {
      state = endEngineSession(state, 'idle_timeout', now());
      endReason = 'idle_timeout';
      break;
    }
    const item = queue.shift()!;
    if (item.kind === 'end') {
      state = endEngineSession(state, 'end_session', now());
      endReason = 'end_session';
      break;
    }
    // Duplicate by message id (signal + update, or a signal retried after its turn).
    if (item.kind === 'message' && (findResult(state, item.message.messageId) || answered.has(item.message.messageId))) continue;
    busy = true;
    running = item.kind === 'resume' ? state.turn!.messageId : item.message.messageId;
    const startedAt = now();
    const first = item.kind === 'resume' ? resumeTurn(state) : startTurn(agent, state, { ...item.message, now: now(), ...(item.opening ? { opening: true } : {}) });
    const out = await playTurn(agent, first, {
      ...exec,
      onState: (s) => {
        state = s; // queries see events live, mid-turn
      },
      onPaused: (result) => paused.set(result.messageId, result),
      // While paused, the run may continue as new (carrying the wait) once no caller waits on it, or end on request.
      awaitApproval: (command) => approvals.wait(command, () => endRequested || (continueAsNewDue() && allHandlersFinished())),
    });
    state = out.state;
    busy = false;
    const turnId = running;
    running = undefined;
    if ('suspended' in out) {
      if (endRequested) {
        // Ending a paused turn goes first: the turn ends with the session (its result URL answers SESSION_ENDED), and
        // the messages queued behind it (which could not run before it) are refused too, so the `end` item is next.
        queue.refuse(turnId, { code: 'SESSION_ENDED', message: `session ${state.sessionId} ended while this turn waited for approval` });
        queue.refuseQueued(endedRefusal(state.sessionId));
        continue;
      }
      draining = true;
      break;
    }
    paused.delete(out.result.messageId);
    turnsThisRun++;
    finished.set(out.result.messageId, out.result);
    rememberAnswer(out.result.messageId, out.result.turn);
    idle.restart();
    memo();
    travel.record(state);
    await archived.write({
      kind: 'turn',
      input: {
        sessionId: state.sessionId,
        agentName: agent.name,
        configHash: agent.configHash,
        run,
        startedAt,
        finishedAt: now(),
        turn: out.result,
        runId: workflowInfo().runId,
        state: JSON.stringify(state),
      },
    });
    if (state.status === 'ended') {
      endReason = 'end_action';
      break;
    }
  }

  if (endReason) {
    // Messages still queued cannot be answered: recorded as refused (their result URLs answer SESSION_ENDED), their
    // handlers fail with SESSION_ENDED.
    queue.refuseQueued(endedRefusal(state.sessionId));
    memo();
    await archived.write(endWrite(agent, state, endReason));
    await drainAfterEnd(archived);
    await condition(allHandlersFinished);
    return { sessionId: state.sessionId, reason: endReason, turns: state.counters.turns, stepId: state.stepId };
  }

  // Continue-as-new between turns; every update handler has returned its result (checked above).
  // The memo and search attributes go along explicitly: the next run starts with the current step, not the first one.
  const next = makeContinueAsNewFunc<typeof sessionWorkflow>(index.continueAsNewOptions(info));
  const bounded = nextRunInput(input, {
    state,
    info,
    run,
    pending: queue.pending(),
    refused: queue.refusals(),
    answered: [...answered],
    archive: archived.on,
    unarchived: archived.pending,
  });
  const { shed } = bounded;
  if (shed.unarchived + shed.answered + shed.pending.length > 0) {
    log.warn('continue-as-new input over its limit: shed to fit', { sessionId: state.sessionId, ...shed });
  }
  return next(bounded.input);
}
