/**
 * `LocalSessions`: the session backend without Temporal — the same engine and the same activity code, in this
 * process, state in memory. Used by `stepwise chat` and the API tests. Not durable: a crash loses every session; use
 * the Temporal backend (`api/temporal-sessions.ts`) for anything real.
 *
 * Semantics mirror the session workflow: turns run one at a time in arrival order, a repeated message id returns
 * the first result, and a new message is taken or refused by the workflow's own admission rules
 * (`workflows/admission.ts`: SESSION_ENDED, MESSAGE_ALREADY_ANSWERED, SESSION_EXISTS, the queue bound). A turn that pauses for approval answers its
 * `send` early ("approval pending") and goes on when `decideApproval` (or a timeout) decides; later messages queue
 * behind it; `end` abandons it.
 */
import type { BackendHealth, SessionBackend } from '../api/sessions.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { playTurn, type TurnExecutors } from '../src/engine/driver.js';
import { UsageMeter } from '../src/engine/usage.js';
import { counted } from './local-usage.js';
import { endSession, findResult, initialState, pendingApprovals, startTurn } from '../src/engine/engine.js';
import { loadSessionSeed, type SessionSeed, seededState } from '../src/engine/seed.js';
import type { SessionState, TurnResult } from '../src/engine/types.js';
import { jsonBytes, loadSessionState } from '../src/engine/state.js';
import { CallerError, StepwiseError, sendAgainLater } from '../src/errors.js';
import { type Refusal, refuseMessage } from '../workflows/admission.js';
import {
  type ApprovalReply,
  type ApprovalRequest,
  type EventsPage,
  MAX_QUEUED_MESSAGE_BYTES,
  MAX_REMEMBERED_MESSAGE_IDS,
  OPENING_MESSAGE_ID,
  type SessionHistory,
  type SessionInfo,
  type SessionInfoPatch,
  type SessionView,
  type TurnLookup,
  type UserMessage,
} from '../workflows/shared.js';
import { LocalApprovals } from './local-approvals.js';
import { lookupTurnState, recordSnapshot, rewindLocal } from './local-time-travel.js';
import type { RewindReply, TurnStateLookup } from '../src/engine/rewind.js';

/** Executors for one agent, without the clock (supplied by {@link LocalSessions}). */
export type AgentExecutors = Omit<TurnExecutors, 'now' | 'onState' | 'awaitApproval' | 'onPaused'>;

/** Called after every finished turn (e.g. to archive it). Errors are logged by the caller's choice, not thrown. */
export type TurnListener = (info: { agent: AgentSnapshot; state: SessionState; result: TurnResult }) => void | Promise<void>;

export interface LocalSessionsOptions {
  /** Builds executors for an agent (called once per agent name). */
  executors(agent: AgentSnapshot): AgentExecutors;
  /** Clock, ISO-8601. Default: wall clock. */
  now?: () => string;
  onTurn?: TurnListener;
}

interface LocalSession {
  agent: AgentSnapshot;
  state: SessionState;
  info: SessionInfo;
  /** Tail of the turn queue: each turn chains on the previous one. */
  tail: Promise<unknown>;
  queued: number;
  /** UTF-8 bytes of the JSON of the queued messages (bounded as in the workflow). */
  queuedBytes: number;
  /** Ids of queued messages (a retry of one waits for its turn). */
  queuedIds: Set<string>;
  /** Turn of each remembered answered message id, oldest first (at most MAX_REMEMBERED_MESSAGE_IDS). */
  answered: Map<string, number>;
  /** Started by `startWithMessage` (its first message may use the reserved id `:first`). */
  firstMessage: boolean;
  busy: boolean;
  /** Message id of the running turn. */
  running?: string;
  /** Early result of the running turn while it waits for approval. */
  paused?: TurnResult;
  /** Called at the running turn's next pause for approval, or its end (see {@link LocalSessions.nextResult}). */
  listeners: Array<(result: TurnResult) => void>;
  approvals: LocalApprovals;
  /** Token usage of the running turn and of the session (as the workflow sums it; ./local-usage.ts). */
  usage: UsageMeter;
  /** Time travel: the states after the newest turns (./local-time-travel.ts). */
  snapshots: Map<number, SessionState>;
}

/**
 * In-process {@link SessionBackend}. Errors: `SESSION_EXISTS`, `SESSION_NOT_FOUND`, `SESSION_ENDED` (CallerError),
 * `TURN_FAILED` when a turn throws (its half-applied state is discarded).
 */
export class LocalSessions implements SessionBackend {
  private readonly sessions = new Map<string, LocalSession>();
  private readonly executorsByAgent = new Map<string, AgentExecutors>();
  private readonly now: () => string;

  constructor(private readonly options: LocalSessionsOptions) {
    this.now = options.now ?? (() => new Date().toISOString());
  }

  async health(): Promise<BackendHealth> {
    return { temporal: 'not_used', detail: 'in-process sessions (not durable)' };
  }

  /**
   * Starts a session; with `seed` (see {@link SessionBackend.startWithMessage}) from that state.
   * @throws SESSION_EXISTS, INVALID_REQUEST (a seed that does not load or fit the agent).
   */
  async start(agent: AgentSnapshot, sessionId: string, info: SessionInfo = {}, seed?: SessionSeed): Promise<void> {
    if (this.sessions.has(sessionId)) throw new CallerError('SESSION_EXISTS', `session ${sessionId} already exists`);
    let state: SessionState;
    try {
      state = seed ? seededState(agent, sessionId, this.now(), loadSessionSeed(seed)) : initialState(agent, sessionId, this.now());
    } catch (err) {
      throw new CallerError('INVALID_REQUEST', (err as Error).message);
    }
    this.sessions.set(sessionId, {
      agent,
      state,
      info: structuredClone(info),
      tail: Promise.resolve(),
      queued: 0,
      queuedBytes: 0,
      queuedIds: new Set(),
      answered: new Map(),
      firstMessage: false,
      busy: false,
      approvals: new LocalApprovals(this.now),
      listeners: [],
      usage: new UsageMeter(),
      snapshots: new Map([[state.counters.turns, state]]),
    });
  }

  /** Rewinds the session (./local-time-travel.ts; errors as `SessionBackend.rewind`). */
  async rewind(sessionId: string, toTurn: number): Promise<RewindReply> {
    return rewindLocal(this.get(sessionId), { toTurn }, this.now());
  }

  /** The snapshot after `turn`, when this process still holds it. */
  async turnState(sessionId: string, turn: number): Promise<TurnStateLookup> {
    return lookupTurnState(this.get(sessionId), turn);
  }

  /** Starts a fork from a snapshot (JSON text, already under `sessionId`). @throws SESSION_EXISTS, INVALID_REQUEST. */
  async startFork(agent: AgentSnapshot, sessionId: string, info: SessionInfo, fork: { state: string; answered: Array<[string, number]> }): Promise<void> {
    if (this.sessions.has(sessionId)) throw new CallerError('SESSION_EXISTS', `session ${sessionId} already exists`);
    let state: SessionState;
    try {
      state = loadSessionState(JSON.parse(fork.state));
    } catch (err) {
      throw new CallerError('INVALID_REQUEST', (err as Error).message);
    }
    await this.start(agent, sessionId, info);
    const session = this.get(sessionId);
    session.state = state;
    session.answered = new Map(fork.answered);
    session.snapshots = new Map([[state.counters.turns, state]]);
  }

  /** Done (a result still held), running, queued, answered long ago (remembered id), or unknown. */
  async turnResult(sessionId: string, messageId: string): Promise<TurnLookup> {
    const session = this.get(sessionId);
    const result = findResult(session.state, messageId);
    if (result) return { status: 'done', result };
    if (session.running === messageId) return { status: 'running' };
    if (session.queuedIds.has(messageId)) return { status: 'queued' };
    const turn = session.answered.get(messageId);
    return turn === undefined ? { status: 'unknown' } : { status: 'answered', turn };
  }

  /** Start, then the first message: one process holds the session, so nothing can come between them. */
  async startWithMessage(agent: AgentSnapshot, sessionId: string, message: UserMessage, info?: SessionInfo, seed?: SessionSeed): Promise<TurnResult> {
    await this.start(agent, sessionId, info, seed);
    this.get(sessionId).firstMessage = true;
    return this.send(sessionId, message);
  }

  /** Start, then the opening turn (the agent speaks first). */
  async startWithOpening(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<TurnResult> {
    await this.start(agent, sessionId, info);
    const session = this.get(sessionId);
    session.queued++;
    const run = session.tail.then(() => this.runOne(session, { messageId: OPENING_MESSAGE_ID, text: '' }, () => undefined, true));
    session.tail = run.catch(() => undefined);
    return run;
  }

  async updateInfo(sessionId: string, patch: SessionInfoPatch): Promise<SessionView> {
    const session = this.get(sessionId);
    if (session.state.status !== 'active') throw new CallerError('SESSION_ENDED', `session ${sessionId} has ended`);
    session.info = { ...session.info, ...structuredClone(patch) };
    return this.view(session);
  }

  send(sessionId: string, message: UserMessage): Promise<TurnResult> {
    const session = this.get(sessionId);
    const earlier = findResult(session.state, message.messageId) ?? (session.running === message.messageId ? session.paused : undefined);
    if (earlier) return Promise.resolve(earlier);
    const id = message.messageId;
    const refusal = refuseMessage(message, {
      sessionId,
      ended: session.state.status !== 'active',
      known: session.running === id || session.queuedIds.has(id),
      answeredTurn: session.answered.get(id),
      startedWithFirstMessage: session.firstMessage,
      draining: false,
      hasRoom: session.queuedBytes + jsonBytes(message) <= MAX_QUEUED_MESSAGE_BYTES,
    });
    if (refusal) return Promise.reject(refusalError(refusal));
    session.queued++;
    session.queuedBytes += jsonBytes(message);
    session.queuedIds.add(id);
    let early: (result: TurnResult) => void = () => undefined;
    const paused = new Promise<TurnResult>((resolve) => (early = resolve));
    const run = session.tail.then(() => this.runOne(session, message, early));
    session.tail = run.catch(() => undefined);
    // The final result, or the early "approval pending" one if the turn pauses first.
    return Promise.race([run, paused]);
  }

  /**
   * The next result of message `messageId`'s turn: its final result, or its early result when it pauses for approval
   * again (e.g. after a decision, the next call waiting). Resolves at once when the turn is done or not running.
   * Used by `stepwise chat` to ask for approvals until the turn finishes.
   */
  async nextResult(sessionId: string, messageId: string): Promise<TurnResult | undefined> {
    const session = this.get(sessionId);
    const done = findResult(session.state, messageId);
    if (done || session.running !== messageId) return done;
    return new Promise((resolve) => session.listeners.push(resolve));
  }

  async decideApproval(sessionId: string, request: ApprovalRequest): Promise<ApprovalReply> {
    const session = this.get(sessionId);
    if (session.state.status !== 'active') throw new CallerError('SESSION_ENDED', `session ${sessionId} has ended`);
    session.approvals.decide(session.state, request);
    return { callId: request.callId, decision: request.decision, decidedAt: this.now() };
  }

  async post(sessionId: string, message: UserMessage): Promise<void> {
    const s = this.get(sessionId);
    if (s.state.status !== 'active' && !findResult(s.state, message.messageId)) {
      throw new CallerError('SESSION_ENDED', `session ${sessionId} has ended`);
    }
    this.send(sessionId, message).catch(() => undefined);
  }

  async state(sessionId: string): Promise<SessionView> {
    return this.view(this.get(sessionId));
  }

  async history(sessionId: string): Promise<SessionHistory> {
    const s = this.get(sessionId);
    return { sessionId, turns: s.state.recentResults };
  }

  async events(sessionId: string, fromSeq: number): Promise<EventsPage> {
    const s = this.get(sessionId).state;
    const firstSeq = s.events[0]?.seq ?? s.counters.events;
    return {
      firstSeq,
      nextSeq: s.counters.events,
      events: s.events.filter((e) => e.seq >= fromSeq),
      ended: s.status === 'ended',
    };
  }

  async end(sessionId: string): Promise<SessionView> {
    const session = this.get(sessionId);
    session.approvals.abandon(); // a turn waiting for approval ends with the session
    await session.tail;
    session.state = endSession(session.state, 'end_session', this.now());
    return this.view(session);
  }

  /** Waits for running turns; turns waiting for approval are abandoned (nothing here would ever decide them). */
  async close(): Promise<void> {
    for (const s of this.sessions.values()) s.approvals.abandon();
    await Promise.all([...this.sessions.values()].map((s) => s.tail));
  }

  private get(sessionId: string): LocalSession {
    const s = this.sessions.get(sessionId);
    if (!s) throw new CallerError('SESSION_NOT_FOUND', `session ${sessionId} not found`);
    return s;
  }

  private executors(agent: AgentSnapshot): AgentExecutors {
    let e = this.executorsByAgent.get(agent.name);
    if (!e) {
      e = this.options.executors(agent);
      this.executorsByAgent.set(agent.name, e);
    }
    return e;
  }

  private async runOne(session: LocalSession, message: UserMessage, onPaused: (result: TurnResult) => void, opening = false): Promise<TurnResult> {
    session.queued--;
    if (!opening) {
      session.queuedBytes -= jsonBytes(message);
      session.queuedIds.delete(message.messageId);
    }
    const earlier = findResult(session.state, message.messageId);
    if (earlier) return earlier;
    if (session.state.status !== 'active') {
      throw new CallerError('SESSION_ENDED', `session ${session.state.sessionId} has ended`);
    }
    session.busy = true;
    session.running = message.messageId;
    const before = session.state;
    try {
      const exec = counted(session, this.executors(session.agent));
      session.usage.startTurn();
      const out = await playTurn(session.agent, startTurn(session.agent, session.state, { ...message, now: this.now(), ...(opening ? { opening: true } : {}) }), {
        ...exec,
        now: this.now,
        onState: (s) => {
          session.state = s;
        },
        onPaused: (paused) => {
          const result = { ...paused, usage: session.usage.turn };
          session.paused = result;
          onPaused(result);
          this.notify(session, result);
        },
        awaitApproval: (command) => session.approvals.wait(command, () => session.state),
      });
      session.state = out.state;
      // Suspended: `end` abandoned the wait; the caller already has the "approval pending" reply.
      if ('suspended' in out) return session.paused!;
      const result: TurnResult = { ...out.result, usage: session.usage.turn };
      const usage = result.usage;
      session.state = { ...out.state, recentResults: out.state.recentResults.map((r) => (r.messageId === result.messageId ? { ...r, usage } : r)) };
      recordSnapshot(session.snapshots, session.state);
      session.answered.set(result.messageId, result.turn);
      if (session.answered.size > MAX_REMEMBERED_MESSAGE_IDS) session.answered.delete(session.answered.keys().next().value!);
      await this.options.onTurn?.({ agent: session.agent, state: session.state, result });
      this.notify(session, result);
      return result;
    } catch (err) {
      session.state = before; // a turn that threw leaves no half-applied state behind
      if (err instanceof StepwiseError) throw err;
      throw new StepwiseError('TURN_FAILED', `turn failed: ${(err as Error).message}`);
    } finally {
      session.busy = false;
      session.running = undefined;
      session.paused = undefined;
    }
  }

  private notify(session: LocalSession, result: TurnResult): void {
    for (const listener of session.listeners.splice(0)) listener(result);
  }

  private view(session: LocalSession): SessionView {
    const s = session.state;
    return {
      sessionId: s.sessionId,
      agentName: s.agentName,
      configHash: session.agent.configHash,
      status: s.status,
      stepId: s.stepId,
      ...(s.flow ? { flowId: s.flow.flowId } : {}),
      turns: s.counters.turns,
      queued: session.queued,
      busy: session.busy,
      run: 1,
      lastEventSeq: s.counters.events - 1,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      ...structuredClone(session.info),
      pendingApprovals: pendingApprovals(s),
      usage: session.usage.session,
    };
  }
}

/** A refusal by the shared admission rules as the backend's error: the queue bound is RATE_LIMITED (retry later). */
function refusalError(refusal: Refusal): StepwiseError {
  if (refusal.type === 'QUEUE_FULL' || refusal.type === 'SESSION_CONTINUING') {
    return sendAgainLater(refusal.message);
  }
  return new CallerError(refusal.type, refusal.message, refusal.details);
}
