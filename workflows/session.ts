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
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentSnapshot } from '../src/config/agent.js';
import { embeddingsLlm } from '../src/config/embeddings.js';
import { playTurn } from '../src/engine/driver.js';
import { endSession as endEngineSession, findResult, initialState, pendingApprovals, resumeTurn, startTurn } from '../src/engine/engine.js';
import { loadSessionSeed, seededState } from '../src/engine/seed.js';
import { clipEvent, loadSessionState } from '../src/engine/state.js';
import { ENGINE_SEMANTICS, type SessionState, type TurnResult } from '../src/engine/types.js';
import { activityExecutors, now } from './activity-executors.js';
import { ApprovalInbox } from './approvals.js';
import { type ArchiveWrite, ArchiveWrites, drainAfterEnd, startArchive } from './archive-writes.js';
import { boundCarried } from './carried.js';
import { MessageQueue } from './message-queue.js';
import {
  agentSearchAttribute,
  decideApproval,
  endSessionSignal,
  endSessionUpdate,
  FIRST_MESSAGE_ID,
  getEvents,
  MAX_CONTINUE_AS_NEW_INPUT_BYTES,
  MAX_REMEMBERED_MESSAGE_IDS,
  type MessageRefusal,
  getHistory,
  getState,
  getTurnResult,
  infoMemo,
  OPENING_MESSAGE_ID,
  openSession,
  postMessage,
  PATCH_IDS,
  QUEUE_FULL,
  SESSION_CONTINUING,
  sendMessage,
  type SessionInfo,
  SessionInfoPatch,
  type SessionView,
  statusSearchAttribute,
  stepSearchAttribute,
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

function view(agent: AgentSnapshot, state: SessionState, info: SessionInfo, run: number, queued: number, busy: boolean): SessionView {
  return {
    sessionId: state.sessionId,
    agentName: agent.name,
    configHash: agent.configHash,
    status: state.status,
    stepId: state.stepId,
    ...(state.flow ? { flowId: state.flow.flowId } : {}),
    turns: state.counters.turns,
    queued,
    busy,
    run,
    lastEventSeq: state.counters.events - 1,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    ...info,
    pendingApprovals: pendingApprovals(state),
  };
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

/** A message the session accepted (or got as a signal) that will never get a turn: the session ended first. */
const endedRefusal = (sessionId: string): MessageRefusal => ({
  code: 'SESSION_ENDED',
  message: `session ${sessionId} ended before this message's turn ran`,
});

async function runSession(input: SessionWorkflowInput): Promise<SessionOutcome> {
  const agent = input.agent;
  const run = (input.carried?.run ?? 0) + 1;
  /** User id, name, metadata: from the input, changed by `updateSessionInfo`. Empty for older sessions. */
  let info: SessionInfo = input.info ?? {};
  let state: SessionState;
  try {
    // Sessions recorded before engine semantics 2 replay with semantics 1 (no patch marker in their history); those
    // recorded before embeddings ranking replay with BM25 (the patch is asked only when the agent could embed).
    // A seeded session (always new, so always past the patches) starts from its seed; `input.seed` is absent from
    // every older history, so their command sequence is unchanged.
    if (input.carried) state = loadSessionState(input.carried.state);
    else {
      const semantics = patched(PATCH_IDS.nomosSemantics) ? ENGINE_SEMANTICS : 1;
      const embeddings = embeddingsLlm(agent) !== undefined && patched(PATCH_IDS.embeddingRetrieval);
      state = input.seed
        ? seededState(agent, input.sessionId, now(), loadSessionSeed(input.seed), semantics, embeddings)
        : initialState(agent, input.sessionId, now(), semantics, embeddings);
    }
  } catch (err) {
    // Unusable carried state will not get better on retry: fail the session (visibly, in the archive too).
    const message = err instanceof Error ? err.message : String(err);
    // Best effort: a session that cannot load its state cannot keep writes for later either.
    await new ArchiveWrites(input.carried?.archive ?? true, []).write({
      kind: 'end',
      input: {
        sessionId: input.sessionId,
        agentName: agent.name,
        configHash: agent.configHash,
        status: 'failed',
        reason: message.slice(0, 1_000),
        at: now(),
        events: [],
      },
    });
    throw ApplicationFailure.nonRetryable(message, 'INVALID_STATE');
  }
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
  const answered = new Map<string, number>(input.carried?.answered ?? []);
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

  setHandler(getState, () => ({ ...view(agent, state, info, run, queue.length, busy), ...(endRequested ? { ending: true } : {}) }));
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
      validator: (message: UserMessage): void => {
        const parsed = UserMessageSchema.safeParse(message);
        if (!parsed.success) {
          throw ApplicationFailure.nonRetryable(parsed.error.issues.map((i) => i.message).join('; '), 'INVALID_REQUEST');
        }
        if (state.status !== 'active' || endRequested) {
          throw ApplicationFailure.nonRetryable(`session ${state.sessionId} has ended`, 'SESSION_ENDED');
        }
        const turn = answeredLongAgo(message.messageId);
        if (turn !== undefined) {
          throw ApplicationFailure.create({
            message: `message ${message.messageId} was answered in turn ${turn}; its result is in the archive`,
            type: 'MESSAGE_ALREADY_ANSWERED',
            nonRetryable: true,
            details: [{ turn }],
          });
        }
        // The first message of `POST /sessions` belongs to sessions started with it (update-with-start); anywhere
        // else it is somebody else's create request for a taken session id.
        if (message.messageId === FIRST_MESSAGE_ID && !input.firstMessage && !findResult(state, message.messageId)) {
          throw ApplicationFailure.nonRetryable(`session ${state.sessionId} already exists`, 'SESSION_EXISTS');
        }
        const known = resultOf(message.messageId) !== undefined || isQueued(message.messageId) || running === message.messageId;
        if (draining && !known) {
          throw ApplicationFailure.retryable(`session ${state.sessionId} is continuing as new; send again`, SESSION_CONTINUING);
        }
        if (!known && !queue.hasRoomFor(message)) {
          throw ApplicationFailure.retryable(`session ${state.sessionId} has ${queue.length} messages waiting; send again later`, QUEUE_FULL);
        }
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
    if (state.status !== 'active' || endRequested) {
      // The API refuses posts to ended or ending sessions (409); one racing the end is dropped here, visibly, and its
      // result URL answers SESSION_ENDED.
      log.warn('postMessage dropped: the session has ended or is ending', { messageId: id });
      queue.refuse(id, endedRefusal(state.sessionId));
      return;
    }
    if (!queue.hasRoomFor(message)) {
      log.warn('postMessage dropped: the queue is full', { messageId: id, queued: queue.length });
      queue.refuse(id, { code: QUEUE_FULL, message: `session ${state.sessionId} had ${queue.length} messages waiting; send it again later` });
      return;
    }
    queue.pushMessage(message);
  });

  setHandler(
    endSessionUpdate,
    async (): Promise<SessionView> => {
      if (!endRequested && state.status === 'active') {
        endRequested = true;
        queue.pushEnd();
      }
      await condition(() => state.status === 'ended');
      return view(agent, state, info, run, queue.length, busy);
    },
    {
      // Ending an ended session changes nothing: refused before it reaches history (the API answers with the state).
      validator: (): void => {
        if (state.status !== 'active') throw ApplicationFailure.nonRetryable(`session ${state.sessionId} has ended`, 'SESSION_ENDED');
      },
    },
  );
  setHandler(endSessionSignal, () => {
    if (!endRequested && state.status === 'active') {
      endRequested = true;
      queue.pushEnd();
    }
  });

  // Search attributes only where the starter set them: that is how a session knows they are registered on its cluster.
  const started = workflowInfo().typedSearchAttributes;
  const searchable = started.get(agentSearchAttribute) !== undefined;
  let indexed = { stepId: started.get(stepSearchAttribute), status: started.get(statusSearchAttribute) };
  const memoValue = () => ({
    agent: agent.name,
    configHash: agent.configHash,
    stepId: state.stepId,
    flowId: state.flow?.flowId ?? null,
    status: state.status,
    turns: state.counters.turns,
  });
  const memo = () => {
    upsertMemo(memoValue());
    if (searchable && (indexed.stepId !== state.stepId || indexed.status !== state.status)) {
      indexed = { stepId: state.stepId, status: state.status };
      upsertSearchAttributes([
        { key: stepSearchAttribute, value: state.stepId },
        { key: statusSearchAttribute, value: state.status },
      ]);
    }
  };

  let archived = new ArchiveWrites(input.carried?.archive ?? true, (input.carried?.unarchived ?? []) as ArchiveWrite[]);

  setHandler(
    updateSessionInfo,
    async (patch: SessionInfoPatch): Promise<SessionView> => {
      info = { ...info, ...patch };
      if (patch.name !== undefined) upsertMemo({ name: patch.name });
      await archived.write({ kind: 'info', input: { sessionId: state.sessionId, ...patch } });
      return view(agent, state, info, run, queue.length, busy);
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

  if (run === 1) {
    memo();
    archived = await startArchive(
      { sessionId: state.sessionId, agentName: agent.name, configHash: agent.configHash, createdAt: state.createdAt, ...info },
      archived,
    );
  }

  // Idle timeout. Sessions started since the patch keep one durable timer per idle period (re-armed only when it
  // fires early) instead of starting and cancelling a timer on every turn: two history events less per turn.
  const idleMs = agent.session.idleTimeoutMs;
  const idleTimerPerPeriod = patched(PATCH_IDS.idleTimerPerPeriod);
  let idleDeadline = Date.now() + idleMs;
  let idleFired = false;
  const armIdle = (ms: number): void => {
    sleep(ms, { summary: 'idle timeout: the session ends unless a message comes' }).then(
      () => {
        if (Date.now() >= idleDeadline) idleFired = true;
        else armIdle(idleDeadline - Date.now());
      },
      (err) => {
        if (!isCancellation(err)) throw err;
      },
    );
  };
  /** A turn just finished: the idle period starts again (re-arming the timer if it already fired). */
  const idleRestart = () => {
    idleDeadline = Date.now() + idleMs;
    if (idleTimerPerPeriod && idleFired) {
      idleFired = false;
      armIdle(idleMs);
    }
  };
  if (idleTimerPerPeriod) armIdle(idleMs);

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

    const woke = idleTimerPerPeriod
      ? (await condition(() => queue.length > 0 || idleFired), queue.length > 0)
      : await condition(() => queue.length > 0, idleMs);
    if (!woke) {
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
    idleRestart();
    memo();
    await archived.write({
      kind: 'turn',
      input: { sessionId: state.sessionId, agentName: agent.name, configHash: agent.configHash, run, startedAt, finishedAt: now(), turn: out.result },
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
    await archived.write({
      kind: 'end',
      input: {
        sessionId: state.sessionId,
        agentName: agent.name,
        configHash: agent.configHash,
        status: 'ended',
        reason: endReason,
        at: state.updatedAt,
        events: state.events.filter((e) => e.type === 'session_ended'),
      },
    });
    await drainAfterEnd(archived);
    await condition(allHandlersFinished);
    return { sessionId: state.sessionId, reason: endReason, turns: state.counters.turns, stepId: state.stepId };
  }

  // Continue-as-new between turns; every update handler has returned its result (checked above).
  // The memo and search attributes go along explicitly: the next run starts with the current step, not the first one.
  const next = makeContinueAsNewFunc<typeof sessionWorkflow>({
    memo: { ...memoValue(), ...infoMemo(info) },
    ...(searchable
      ? {
          typedSearchAttributes: [
            { key: agentSearchAttribute, value: agent.name },
            { key: stepSearchAttribute, value: state.stepId },
            { key: statusSearchAttribute, value: state.status },
          ],
        }
      : {}),
  });
  const refusals = queue.refusals();
  const bounded = boundCarried(
    {
      sessionId: input.sessionId,
      agent,
      ...(input.firstMessage ? { firstMessage: true } : {}),
      ...(input.initiate ? { initiate: true } : {}),
      ...(Object.keys(info).length > 0 ? { info } : {}),
      carried: {
        state,
        pending: queue.pending(),
        run,
        ...(archived.on ? {} : { archive: false }),
        answered: [...answered],
        ...(archived.pending.length > 0 ? { unarchived: archived.pending } : {}),
        ...(refusals.length > 0 ? { refused: refusals } : {}),
      },
    },
    MAX_CONTINUE_AS_NEW_INPUT_BYTES,
    { code: QUEUE_FULL, message: `session ${state.sessionId} could not carry this message into its next run; send it again` },
  );
  const { shed } = bounded;
  if (shed.unarchived + shed.answered + shed.pending.length > 0) {
    log.warn('continue-as-new input over its limit: shed to fit', { sessionId: state.sessionId, ...shed });
  }
  return next(bounded.input);
}
