/**
 * What the REST API needs from a session backend.
 *
 * Two implementations: `TemporalSessions` (`./temporal-sessions.ts`, production: one workflow per session) and
 * `LocalSessions` (`../cli/local-sessions.ts`, the same engine and activities in-process: `stepwise chat`, API
 * tests). Every method throws a `StepwiseError` with a stable code on failure:
 * `SESSION_NOT_FOUND`, `SESSION_EXISTS`, `SESSION_ENDED`, `TURN_FAILED`, `TEMPORAL_UNAVAILABLE` (retryable by the
 * caller), `INVALID_REQUEST`.
 */
import type { AgentSnapshot } from '../src/config/agent.js';
import type { RewindReply, TurnStateLookup } from '../src/engine/rewind.js';
import type { SessionSeed } from '../src/engine/seed.js';
import type { TurnResult } from '../src/engine/types.js';
import type { ApprovalReply, ApprovalRequest, EventsPage, SessionHistory, SessionInfo, SessionInfoPatch, SessionView, TurnLookup, UserMessage } from '../workflows/shared.js';

/** Backend health as shown by `GET /health`. */
export interface BackendHealth {
  temporal: 'ok' | 'unavailable' | 'not_used';
  detail?: string;
}

/**
 * Thrown by `send` when the turn was accepted but did not finish within the backend's wait (a slow model, tool
 * retries): the turn goes on; fetch its result with `turnResult` (HTTP: 202 + `GET /sessions/:id/messages/:messageId`).
 */
export class TurnPendingError extends Error {
  override readonly name = 'TurnPendingError';
  constructor(
    readonly sessionId: string,
    readonly messageId: string,
  ) {
    super(`turn for message ${messageId} of session ${sessionId} is still running`);
  }
}

export interface SessionBackend {
  health(): Promise<BackendHealth>;
  /**
   * Starts a session pinned to `agent`, with its user id, name and metadata (`info`, default none).
   * @throws SESSION_EXISTS if the id is taken by a running or closed session.
   */
  start(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<void>;
  /**
   * Starts a session and runs its first message, retry-safe: repeating the call (same session id and message id)
   * returns the first turn's result. With `seed` the session starts from it (step, memory, active flow: see
   * `src/engine/seed.ts`; the caller checks it with `seedProblems` and bounds it with `boundSeed` first) instead of
   * the start step with empty memory. @throws SESSION_EXISTS if the id is taken by a session started otherwise.
   */
  startWithMessage(agent: AgentSnapshot, sessionId: string, message: UserMessage, info?: SessionInfo, seed?: SessionSeed): Promise<TurnResult>;
  /**
   * Starts a session whose agent speaks first, and runs that opening turn (message id `:opening`, no user message),
   * retry-safe like {@link SessionBackend.startWithMessage}. @throws SESSION_EXISTS if the id is taken by a session
   * started otherwise.
   */
  startWithOpening(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<TurnResult>;
  /**
   * Changes a live session's name and/or metadata (the fields given replace the current ones) and returns its state.
   * @throws SESSION_ENDED for an ended (or ending) session, SESSION_NOT_FOUND, INVALID_REQUEST.
   */
  updateInfo(sessionId: string, patch: SessionInfoPatch): Promise<SessionView>;
  /**
   * Runs a turn and waits for its result. A repeated `messageId` returns the first result without a new turn. A turn
   * that pauses for approval answers early: a reply saying approval is pending, with `pendingApprovals`; its final
   * result then comes from `turnResult` (`running` until then) and the events. `options.updateId` (Temporal only;
   * default the message id) is the update id: after a rewind, a superseded message id is sent again under a new one,
   * since Temporal answers an update id it has already seen in the run with its first outcome (docs/time-travel.md).
   */
  send(sessionId: string, message: UserMessage, options?: { updateId?: string }): Promise<TurnResult>;
  /** Where message `messageId` is: done (with its result), running, queued, answered long ago, or unknown. */
  turnResult(sessionId: string, messageId: string): Promise<TurnLookup>;
  /**
   * Calls `listener(sessionId)` each time something this process sent may have made the session produce events: a
   * turn (`send`, `startWithMessage`, `startWithOpening`) accepted by the workflow, and again when it is answered or
   * fails; a message posted (`post`); a decision, an end or an info update answered. Event streams use it to read the
   * events at once, at their full rate, instead of at their next poll. Returns the unsubscribe function. Optional
   * (without it streams only poll); the listener must not throw.
   */
  onSessionActivity?(listener: (sessionId: string) => void): () => void;
  /** Queues a message without waiting (signal). */
  post(sessionId: string, message: UserMessage): Promise<void>;
  state(sessionId: string): Promise<SessionView>;
  history(sessionId: string): Promise<SessionHistory>;
  /** Events with `seq >= fromSeq` still held by the live session. */
  events(sessionId: string, fromSeq: number): Promise<EventsPage>;
  /**
   * Decides a tool call waiting for approval. @throws APPROVAL_NOT_FOUND, APPROVAL_ALREADY_DECIDED, SESSION_ENDED,
   * SESSION_NOT_FOUND (CallerError).
   */
  decideApproval(sessionId: string, request: ApprovalRequest): Promise<ApprovalReply>;
  /** Ends the session (idempotent on an ended session; a turn waiting for approval is abandoned) and returns its final state. */
  end(sessionId: string): Promise<SessionView>;
  close(): Promise<void>;
  /**
   * Time travel (docs/time-travel.md), where the backend has it (Temporal, durably; the in-process backend, over the
   * snapshots its process holds); without them the routes answer REWIND_NOT_SUPPORTED. `rewind` runs the `rewind` update (errors: TURN_NOT_FOUND, TURN_IN_FLIGHT,
   * REWIND_IN_PROGRESS, SESSION_ENDED, TURN_STATE_UNAVAILABLE, INVALID_REQUEST); `turnState` asks the live (or closed)
   * workflow for the snapshot after a turn; `startFork` starts a new session from a snapshot (SESSION_EXISTS).
   */
  rewind?(sessionId: string, toTurn: number): Promise<RewindReply>;
  turnState?(sessionId: string, turn: number): Promise<TurnStateLookup>;
  startFork?(agent: AgentSnapshot, sessionId: string, info: SessionInfo, fork: { state: string; answered: Array<[string, number]> }): Promise<void>;
}
