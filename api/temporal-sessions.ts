/**
 * `TemporalSessions`: the production session backend. One Temporal workflow per session (`session-<sessionId>`),
 * driven through the message definitions of `workflows/shared.ts` (never the workflow body).
 *
 * How each call is made (the message lane, control updates, queries, deadlines) is in `./session-calls.ts`; the
 * connection in `./temporal-client.ts`. Client errors map to stable codes in `./temporal-errors.ts`;
 * `./reconnecting-sessions.ts` stands in while Temporal is unreachable.
 */
import { type Client, type WorkflowUpdateHandle, WorkflowUpdateStage, WithStartWorkflowOperation } from '@temporalio/client';
import type { AgentSnapshot } from '../src/config/agent.js';
import type { SessionSeed } from '../src/engine/seed.js';
import type { TurnResult } from '../src/engine/types.js';
import { CallerError, isStepwiseError } from '../src/errors.js';
import { decideBySignal } from './approval-signal.js';
import { endBySignal } from './end-signal.js';
import {
  type ApprovalReply,
  type ApprovalRequest,
  decideApproval,
  type EventsPage,
  SESSION_WORKFLOW_TYPE,
  type SessionHistory,
  type SessionInfo,
  type SessionInfoPatch,
  type SessionView,
  type TurnLookup,
  type UserMessage,
  endSessionUpdate,
  getEvents,
  getHistory,
  getState,
  getTurnState,
  getTurnResult,
  OPENING_MESSAGE_ID,
  openSession,
  postMessage,
  rewind,
  sendMessage,
  sessionWorkflowId,
  updateSessionInfo,
} from '../workflows/shared.js';
import { missingSearchAttributes } from '../runtime/search-attributes.js';
import { SessionCalls } from './session-calls.js';
import { isNotFound } from './temporal-errors.js';
import { sessionStartOptions } from './session-start-options.js';
import { type BackendHealth, type SessionBackend, TurnPendingError } from './sessions.js';
import { connectTemporalClient, type TemporalConnectOptions } from './temporal-client.js';

export type { TemporalConnectOptions } from './temporal-client.js';
import type { RewindReply, TurnStateLookup } from '../src/engine/rewind.js';
import { forkStartOptions } from './fork-start-options.js';

export interface TemporalSessionsOptions {
  client: Client;
  /** Task queue of the session workers (`STEPWISE_TASK_QUEUE`, default `stepwise`). */
  taskQueue: string;
  /**
   * Longest wait for a turn result, in ms, including the wait for earlier messages of the session. A turn accepted
   * by then and still running makes `send` throw `TurnPendingError` (HTTP 202 with the URL of its result). Default
   * 100 s, under the API's 120 s request timeout.
   */
  turnTimeoutMs?: number;
  /** Deadline of queries, signals and starts, in ms (health checks: at most 3 s). Default 10 s. */
  rpcTimeoutMs?: number;
  /** Close `client.connection` in {@link TemporalSessions.close}. Default false (the caller owns it). */
  ownsConnection?: boolean;
  /**
   * Message updates in flight per session from this process; more wait in arrival order (see {@link UpdateGate}).
   * Default 8: with Temporal's cap of 10 per workflow, two stay free for control updates (approvals, end, info).
   */
  maxInFlightUpdatesPerSession?: number;
}

/** Session backend over Temporal. Build with {@link TemporalSessions.connect} (one connection for the process). */
export class TemporalSessions implements SessionBackend {
  private readonly client: Client;
  private readonly taskQueue: string;
  private readonly turnTimeoutMs: number;
  private readonly rpcTimeoutMs: number;
  private readonly ownsConnection: boolean;
  private searchable: Promise<boolean> | undefined;
  private readonly calls: SessionCalls;

  constructor(options: TemporalSessionsOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue;
    this.turnTimeoutMs = options.turnTimeoutMs ?? 100_000;
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 10_000;
    this.ownsConnection = options.ownsConnection ?? false;
    this.calls = new SessionCalls({
      client: this.client,
      turnTimeoutMs: this.turnTimeoutMs,
      rpcTimeoutMs: this.rpcTimeoutMs,
      maxInFlightUpdatesPerSession: options.maxInFlightUpdatesPerSession,
    });
  }

  /**
   * Opens the process's one Temporal connection and returns a backend that owns it.
   *
   * @throws SystemError TEMPORAL_UNAVAILABLE (retryable) when the server cannot be reached within the timeout.
   */
  static async connect(options: TemporalConnectOptions): Promise<TemporalSessions> {
    const client = await connectTemporalClient(options);
    return new TemporalSessions({ client, taskQueue: options.taskQueue, ownsConnection: true });
  }

  async health(): Promise<BackendHealth> {
    try {
      await this.client.connection.withDeadline(Date.now() + Math.min(this.rpcTimeoutMs, 3_000), () => this.client.workflowService.getSystemInfo({}));
      return { temporal: 'ok' };
    } catch (err) {
      return { temporal: 'unavailable', detail: `Temporal did not answer: ${(err as Error).message}` };
    }
  }

  async start(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<void> {
    const options = await this.startOptions(agent, sessionId, { info });
    await this.calls.call(sessionId, this.rpcTimeoutMs, () => this.client.workflow.start(SESSION_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'FAIL' }));
  }

  /**
   * Starts the session and runs its first message in one retry-safe call (update-with-start): a retry after a lost
   * reply (same session id, same agent) finds the running workflow and gets the first turn's result again. The first
   * message's id is `FIRST_MESSAGE_ID` (`:first`); a session started without a first message refuses it (SESSION_EXISTS).
   */
  async startWithMessage(agent: AgentSnapshot, sessionId: string, message: UserMessage, info?: SessionInfo, seed?: SessionSeed): Promise<TurnResult> {
    const options = await this.startOptions(agent, sessionId, { firstMessage: true, info, seed });
    return this.startAndRun(sessionId, message.messageId, () =>
      this.client.workflow.startUpdateWithStart(sendMessage, {
        args: [message],
        updateId: message.messageId,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
        startWorkflowOperation: new WithStartWorkflowOperation(SESSION_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'USE_EXISTING' }),
      }),
    );
  }

  /**
   * Starts a session with `initiate` and returns its opening turn, in one retry-safe call (update-with-start of
   * `openSession`, update id `OPENING_MESSAGE_ID`). A session started otherwise refuses it (SESSION_EXISTS).
   */
  async startWithOpening(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<TurnResult> {
    const options = await this.startOptions(agent, sessionId, { initiate: true, info });
    return this.startAndRun(sessionId, OPENING_MESSAGE_ID, () =>
      this.client.workflow.startUpdateWithStart(openSession, {
        args: [],
        updateId: OPENING_MESSAGE_ID,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
        startWorkflowOperation: new WithStartWorkflowOperation(SESSION_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'USE_EXISTING' }),
      }),
    );
  }

  /** Runs a start-and-first-turn update; a retry after the workflow closed (that turn ended it) gets that result. */
  private async startAndRun(sessionId: string, messageId: string, start: () => Promise<WorkflowUpdateHandle<TurnResult>>): Promise<TurnResult> {
    try {
      return await this.calls.message(sessionId, start, messageId);
    } catch (err) {
      if (isStepwiseError(err) && (err.code === 'SESSION_EXISTS' || err.code === 'SESSION_ENDED')) {
        const earlier = await this.earlierResult(sessionId, messageId);
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  /** Start options of a session workflow (conflict policy left to the caller); see {@link sessionStartOptions}. */
  private async startOptions(
    agent: AgentSnapshot,
    sessionId: string,
    how: { firstMessage?: boolean; initiate?: boolean; info?: SessionInfo; seed?: SessionSeed },
  ) {
    return sessionStartOptions(agent, sessionId, how, this.taskQueue, await this.searchAttributesRegistered());
  }

  /**
   * Sends a message as the `sendMessage` update, in arrival order ({@link SessionCalls.message}). A message that finds
   * this process's lane for the session full is also looked up in the workflow while it waits: the messages filling the lane
   * may be queued behind this very message's turn, paused for an approval its client has not seen yet (its first
   * answer was lost), and waiting behind them it could never get its answer (found by the chaos suite: a burst session
   * stuck on an approval nobody was shown). Known there, it is answered as its first request is, outside the lane
   * (see `knownMessage`): its result, or the early result of its turn paused for approval.
   *
   * @throws TurnPendingError (HTTP 202); else as {@link SessionCalls.message}.
   */
  async send(sessionId: string, message: UserMessage, options?: { updateId?: string }): Promise<TurnResult> {
    try {
      return await this.calls.message(
        sessionId,
        () =>
          this.handle(sessionId).startUpdate(sendMessage, {
            args: [message],
            updateId: options?.updateId ?? message.messageId,
            waitForStage: WorkflowUpdateStage.ACCEPTED,
          }),
        message.messageId,
        () => this.knownMessage(sessionId, message.messageId, options?.updateId ?? message.messageId),
      );
    } catch (err) {
      // A retried message whose turn ended the session: answer with the first result, like a live session does.
      if (isStepwiseError(err) && err.code === 'SESSION_ENDED') {
        const earlier = await this.earlierResult(sessionId, message.messageId);
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  /**
   * The answer for a message the workflow already has, as its first request gets it: the result when done; while it is
   * queued or its turn runs, the outcome of its `sendMessage` update (`updateId`), awaited by polling, which takes
   * none of the in-flight slots (the final result, the early one of a turn paused for approval, or the update's
   * error), until the turn timeout. Undefined when the workflow does not know the message (or, unreachable now, cannot
   * say: the caller then sends it as usual).
   *
   * @throws TurnPendingError when the outcome is not there by the turn timeout, or the message has no update in this
   *   run (posted as a signal, or carried across continue-as-new): HTTP 202; the update's error as `send` maps it.
   */
  private async knownMessage(sessionId: string, messageId: string, updateId: string): Promise<TurnResult | undefined> {
    const lookup = await this.turnResult(sessionId, messageId).catch(() => undefined);
    if (lookup?.status === 'done') return lookup.result;
    if (lookup?.status !== 'queued' && lookup?.status !== 'running') return undefined;
    let outcome: TurnResult | undefined;
    try {
      outcome = await this.calls.call(sessionId, this.turnTimeoutMs, async () => {
        try {
          return await this.handle(sessionId).getUpdateHandle<TurnResult>(updateId).result();
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      });
    } catch (err) {
      if (isStepwiseError(err) && err.code === 'TEMPORAL_UNAVAILABLE') throw new TurnPendingError(sessionId, messageId);
      throw err;
    }
    if (!outcome) throw new TurnPendingError(sessionId, messageId);
    return outcome;
  }

  onSessionActivity(listener: (sessionId: string) => void): () => void {
    return this.calls.onActivity(listener);
  }

  async updateInfo(sessionId: string, patch: SessionInfoPatch): Promise<SessionView> {
    return this.calls.control(sessionId, () => this.handle(sessionId).executeUpdate(updateSessionInfo, { args: [patch] }));
  }

  /**
   * Queues a message (signal). A signal cannot be refused by the workflow, so the session's state is asked first:
   * an ended or ending session answers SESSION_ENDED instead of a 202 for a message nobody will read. (A post racing
   * an end within that query's round trip is dropped by the workflow, with a warning in the worker log.)
   */
  async post(sessionId: string, message: UserMessage): Promise<void> {
    const view = await this.state(sessionId);
    if (view.status !== 'active' || view.ending) throw new CallerError('SESSION_ENDED', `session ${sessionId} has ended`);
    await this.calls.call(sessionId, this.rpcTimeoutMs, () => this.handle(sessionId).signal(postMessage, message));
    this.calls.notifyActivity(sessionId);
  }

  state(sessionId: string): Promise<SessionView> {
    return this.calls.query(sessionId, () => this.handle(sessionId).query(getState));
  }

  turnResult(sessionId: string, messageId: string): Promise<TurnLookup> {
    return this.calls.query(sessionId, () => this.handle(sessionId).query(getTurnResult, messageId));
  }

  history(sessionId: string): Promise<SessionHistory> {
    return this.calls.query(sessionId, () => this.handle(sessionId).query(getHistory));
  }

  events(sessionId: string, fromSeq: number): Promise<EventsPage> {
    return this.calls.query(sessionId, () => this.handle(sessionId).query(getEvents, fromSeq));
  }

  /**
   * The `endSession` update, as a control update (errors in `SessionBackend.end`). When Temporal's cap on in-flight
   * updates leaves no room (messages queued behind a turn that waits for approval hold it), or the session has not
   * ended within the attempt, the end goes in as a signal, confirmed by query (./end-signal.ts).
   */
  async end(sessionId: string): Promise<SessionView> {
    const handle = this.handle(sessionId);
    try {
      return await this.calls.control(
        sessionId,
        () => handle.executeUpdate(endSessionUpdate),
        // Turned away by Temporal's cap on in-flight updates (or not ended within the attempt): by signal.
        (deadline) => endBySignal(handle, sessionId, deadline),
      );
    } catch (err) {
      // Already closed: queries still work on closed workflows, so report its final state (idempotent end).
      if (isStepwiseError(err) && err.code === 'SESSION_ENDED') return this.state(sessionId);
      throw err;
    }
  }

  /**
   * The `decideApproval` update (validator errors: APPROVAL_NOT_FOUND, APPROVAL_ALREADY_DECIDED, SESSION_ENDED), sent
   * at once as a control update: it never waits behind the session's messages (see {@link SessionCalls.control}).
   * A run about to continue as new refuses it and it is retried into the next run. A closed workflow answers
   * SESSION_ENDED. When Temporal's cap on in-flight updates leaves no room (messages queued behind this very
   * approval hold it), the decision goes in as a signal, confirmed by query (./approval-signal.ts).
   */
  async decideApproval(sessionId: string, request: ApprovalRequest): Promise<ApprovalReply> {
    const handle = this.handle(sessionId);
    return this.calls.control(
      sessionId,
      () => handle.executeUpdate(decideApproval, { args: [request] }),
      (deadline) => decideBySignal(handle, sessionId, request, deadline),
    );
  }

  /** The `rewind` update, as a control update (docs/time-travel.md; errors in `SessionBackend.rewind`). */
  async rewind(sessionId: string, toTurn: number): Promise<RewindReply> {
    return this.calls.control(sessionId, () => this.handle(sessionId).executeUpdate(rewind, { args: [{ toTurn }] }));
  }

  /** The `getTurnState` query (answers on closed workflows too, within the namespace's retention). */
  turnState(sessionId: string, turn: number): Promise<TurnStateLookup> {
    return this.calls.query(sessionId, () => this.handle(sessionId).query(getTurnState, turn));
  }

  /** Starts a fork (a new session workflow with `fork` input; see `forkStartOptions`). @throws SESSION_EXISTS. */
  async startFork(agent: AgentSnapshot, sessionId: string, info: SessionInfo, fork: { state: string; answered: Array<[string, number]> }): Promise<void> {
    const options = forkStartOptions(await this.startOptions(agent, sessionId, { info }), fork);
    await this.calls.call(sessionId, this.rpcTimeoutMs, () => this.client.workflow.start(SESSION_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'FAIL' }));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.client.connection.close();
  }

  /**
   * Whether Stepwise's search attributes are registered in the namespace, asked once per process (the session
   * workflow sets them only when its start carried them). A failed check counts as "no" and is asked again next time.
   */
  private searchAttributesRegistered(): Promise<boolean> {
    this.searchable ??= missingSearchAttributes(this.client.connection.operatorService, this.client.options.namespace).then(
      (missing) => missing.length === 0,
      () => {
        this.searchable = undefined;
        return false;
      },
    );
    return this.searchable;
  }

  /** The result of message `messageId` if the session still holds it (a retry after its turn ended the session). */
  private earlierResult(sessionId: string, messageId: string): Promise<TurnResult | undefined> {
    return this.history(sessionId).then(
      (h) => h.turns.find((t) => t.messageId === messageId),
      () => undefined,
    );
  }

  private handle(sessionId: string) {
    return this.client.workflow.getHandle(sessionWorkflowId(sessionId));
  }
}
