/**
 * `TemporalSessions`: the production session backend. One Temporal workflow per session (`session-<sessionId>`),
 * driven through the message definitions of `workflows/shared.ts` (never the workflow body).
 *
 * Client errors map to stable codes in `./temporal-errors.ts`; `./reconnecting-sessions.ts` stands in while
 * Temporal is unreachable.
 */
import type { PayloadCodec } from '@temporalio/common';
import { codecDataConverter } from '../workers/payload-codec.js';
import { Client, type ClientInterceptors, Connection, type TLSConfig, type WorkflowUpdateHandle, WorkflowUpdateStage, WithStartWorkflowOperation } from '@temporalio/client';
import type { AgentSnapshot } from '../src/config/agent.js';
import type { SessionSeed } from '../src/engine/seed.js';
import type { TurnResult } from '../src/engine/types.js';
import { CallerError, SystemError, isStepwiseError } from '../src/errors.js';
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
import { missingSearchAttributes } from '../workers/search-attributes.js';
import { type BackendHealth, type SessionBackend, TurnPendingError } from './sessions.js';
import { isContinuing, mapTemporalError } from './temporal-errors.js';
import { GateFullError, UpdateGate } from './update-gate.js';
import { MIN_SEND_MS, retryDelayMs, untilRunStarted, withRetries } from './update-retries.js';
import { sessionStartOptions } from './session-start-options.js';
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

export interface TemporalConnectOptions {
  /** `host:port`, e.g. `localhost:7233` (`TEMPORAL_ADDRESS`). */
  address: string;
  namespace: string;
  taskQueue: string;
  /** `true` for TLS with system roots, or a full TLS config (mTLS). */
  tls?: boolean | TLSConfig;
  /** Temporal Cloud API key (`TEMPORAL_API_KEY`); implies TLS unless `tls` is `false`. Kept in this process only. */
  apiKey?: string;
  /** How long to wait for the server, in ms. Default 5 s. */
  connectTimeoutMs?: number;
  /** Payload codec (encryption, `STEPWISE_CODEC_KEYS`); default none. */
  codec?: PayloadCodec;
  /** Client interceptors (e.g. OpenTelemetry's, see workers/tracing.ts); default none. */
  interceptors?: ClientInterceptors;
}

/** Session backend over Temporal. Build with {@link TemporalSessions.connect} (one connection for the process). */
export class TemporalSessions implements SessionBackend {
  private readonly client: Client;
  private readonly taskQueue: string;
  private readonly turnTimeoutMs: number;
  private readonly rpcTimeoutMs: number;
  private readonly ownsConnection: boolean;
  private searchable: Promise<boolean> | undefined;
  private readonly gate: UpdateGate;
  /** One update being admitted per session at a time (see {@link TemporalSessions.update}). */
  private readonly admission: UpdateGate;
  /** {@link MIN_SEND_MS}, or a tenth of a shorter turn wait. */
  private readonly sendMarginMs: number;

  constructor(options: TemporalSessionsOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue;
    this.turnTimeoutMs = options.turnTimeoutMs ?? 100_000;
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 10_000;
    this.ownsConnection = options.ownsConnection ?? false;
    this.gate = new UpdateGate({ limit: options.maxInFlightUpdatesPerSession });
    this.admission = new UpdateGate({ limit: 1 });
    this.sendMarginMs = Math.min(MIN_SEND_MS, this.turnTimeoutMs / 10);
  }

  /**
   * Opens the process's one Temporal connection and returns a backend that owns it.
   *
   * @throws SystemError TEMPORAL_UNAVAILABLE (retryable) when the server cannot be reached within the timeout.
   */
  static async connect(options: TemporalConnectOptions): Promise<TemporalSessions> {
    let connection: Connection;
    try {
      connection = await Connection.connect({
        address: options.address,
        ...(options.tls ? { tls: options.tls } : {}),
        // An API key implies TLS unless `tls: false` was chosen explicitly (TEMPORAL_TLS=false, see cli/env.ts).
        ...(options.apiKey ? { apiKey: options.apiKey, tls: options.tls ?? true } : {}),
        connectTimeout: options.connectTimeoutMs ?? 5_000,
      });
    } catch (err) {
      throw new SystemError('TEMPORAL_UNAVAILABLE', `cannot reach Temporal at ${options.address}: ${(err as Error).message}`);
    }
    const client = new Client({
      connection,
      namespace: options.namespace,
      ...codecDataConverter(options.codec),
      ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    });
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
    await this.call(sessionId, this.rpcTimeoutMs, () => this.client.workflow.start(SESSION_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'FAIL' }));
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
      return await this.update(sessionId, start, messageId);
    } catch (err) {
      if (isStepwiseError(err) && (err.code === 'SESSION_EXISTS' || err.code === 'SESSION_ENDED')) {
        const earlier = await this.history(sessionId).then(
          (h) => h.turns.find((t) => t.messageId === messageId),
          () => undefined,
        );
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

  async send(sessionId: string, message: UserMessage, options?: { updateId?: string }): Promise<TurnResult> {
    try {
      return await this.update(sessionId, () =>
        this.handle(sessionId).startUpdate(sendMessage, {
          args: [message],
          updateId: options?.updateId ?? message.messageId,
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        }),
        message.messageId,
      );
    } catch (err) {
      // A retried message whose turn ended the session: answer with the first result, like a live session does.
      if (isStepwiseError(err) && err.code === 'SESSION_ENDED') {
        const earlier = await this.history(sessionId).then(
          (h) => h.turns.find((t) => t.messageId === message.messageId),
          () => undefined,
        );
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  async updateInfo(sessionId: string, patch: SessionInfoPatch): Promise<SessionView> {
    return this.control(sessionId, () => this.handle(sessionId).executeUpdate(updateSessionInfo, { args: [patch] }));
  }

  /**
   * Queues a message (signal). A signal cannot be refused by the workflow, so the session's state is asked first:
   * an ended or ending session answers SESSION_ENDED instead of a 202 for a message nobody will read. (A post racing
   * an end within that query's round trip is dropped by the workflow, with a warning in the worker log.)
   */
  async post(sessionId: string, message: UserMessage): Promise<void> {
    const view = await this.state(sessionId);
    if (view.status !== 'active' || view.ending) throw new CallerError('SESSION_ENDED', `session ${sessionId} has ended`);
    await this.call(sessionId, this.rpcTimeoutMs, () => this.handle(sessionId).signal(postMessage, message));
  }

  state(sessionId: string): Promise<SessionView> {
    return this.query(sessionId, () => this.handle(sessionId).query(getState));
  }

  turnResult(sessionId: string, messageId: string): Promise<TurnLookup> {
    return this.query(sessionId, () => this.handle(sessionId).query(getTurnResult, messageId));
  }

  history(sessionId: string): Promise<SessionHistory> {
    return this.query(sessionId, () => this.handle(sessionId).query(getHistory));
  }

  events(sessionId: string, fromSeq: number): Promise<EventsPage> {
    return this.query(sessionId, () => this.handle(sessionId).query(getEvents, fromSeq));
  }

  async end(sessionId: string): Promise<SessionView> {
    try {
      return await this.control(sessionId, () => this.handle(sessionId).executeUpdate(endSessionUpdate));
    } catch (err) {
      // Already closed: queries still work on closed workflows, so report its final state (idempotent end).
      if (isStepwiseError(err) && err.code === 'SESSION_ENDED') return this.state(sessionId);
      throw err;
    }
  }

  /**
   * The `decideApproval` update (validator errors: APPROVAL_NOT_FOUND, APPROVAL_ALREADY_DECIDED, SESSION_ENDED), sent
   * at once as a control update: it never waits behind the session's messages (see {@link TemporalSessions.control}).
   * A run about to continue as new refuses it and it is retried into the next run. A closed workflow answers
   * SESSION_ENDED.
   */
  async decideApproval(sessionId: string, request: ApprovalRequest): Promise<ApprovalReply> {
    return this.control(sessionId, () => this.handle(sessionId).executeUpdate(decideApproval, { args: [request] }));
  }

  /** The `rewind` update, as a control update (docs/time-travel.md; errors in `SessionBackend.rewind`). */
  async rewind(sessionId: string, toTurn: number): Promise<RewindReply> {
    return this.control(sessionId, () => this.handle(sessionId).executeUpdate(rewind, { args: [{ toTurn }] }));
  }

  /** The `getTurnState` query (answers on closed workflows too, within the namespace's retention). */
  turnState(sessionId: string, turn: number): Promise<TurnStateLookup> {
    return this.query(sessionId, () => this.handle(sessionId).query(getTurnState, turn));
  }

  /** Starts a fork (a new session workflow with `fork` input; see `forkStartOptions`). @throws SESSION_EXISTS. */
  async startFork(agent: AgentSnapshot, sessionId: string, info: SessionInfo, fork: { state: string; answered: Array<[string, number]> }): Promise<void> {
    const options = forkStartOptions(await this.startOptions(agent, sessionId, { info }), fork);
    await this.call(sessionId, this.rpcTimeoutMs, () => this.client.workflow.start(SESSION_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'FAIL' }));
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

  private handle(sessionId: string) {
    return this.client.workflow.getHandle(sessionWorkflowId(sessionId));
  }

  /**
   * Runs a message update (`sendMessage`, `openSession`) in arrival order. The session's {@link UpdateGate} lane
   * bounds the message updates in flight (8 by default, under Temporal's cap of 10 per workflow, so control updates
   * always find room); inside it, messages are sent one at a time and each waits until the workflow has *accepted* it
   * (its handler ran and queued the message) before the next is sent, so the workflow receives them, and runs their
   * turns, in the order the API got them. RESOURCE_EXHAUSTED (other API processes filled the server's cap) and
   * SESSION_CONTINUING (the run is about to continue as new; the message keeps its place in the lane) are retried
   * with backoff ({@link retryDelayMs}) until the turn deadline, which also bounds the wait in the lane.
   *
   * @throws TurnPendingError when the message was accepted and its turn outlasted the deadline (HTTP 202); RATE_LIMITED
   *   (retryable, HTTP 429) when it was never sent: no slot before the deadline, or too little time left to send it
   *   ({@link sendMarginMs}); TEMPORAL_UNAVAILABLE (503) only when Temporal itself did not answer in that time.
   */
  private async update<T>(sessionId: string, start: () => Promise<WorkflowUpdateHandle<T>>, messageId: string): Promise<T> {
    const deadline = Date.now() + this.turnTimeoutMs;
    let accepted = false;
    try {
      return await this.admitAndWait(sessionId, start, deadline, (yes) => (accepted = yes));
    } catch (err) {
      // Accepted, then out of time: the turn goes on in the workflow (or Temporal blinked); the caller fetches it later.
      if (accepted && isStepwiseError(err) && err.code === 'TEMPORAL_UNAVAILABLE') throw new TurnPendingError(sessionId, messageId);
      throw err;
    }
  }

  private admitAndWait<T>(sessionId: string, start: () => Promise<WorkflowUpdateHandle<T>>, deadline: number, onAccepted: (yes: boolean) => void): Promise<T> {
    return this.call(sessionId, this.turnTimeoutMs, () =>
      this.gate.run(
        sessionId,
        async () => {
          for (let attempt = 0; ; attempt++) {
            const handle = await this.admission.run(
              sessionId,
              () => {
                // Too little time left to send it and see it accepted: refuse it as never sent (429), never a 503.
                if (deadline - Date.now() < this.sendMarginMs) throw new GateFullError(`no time left to send a message to session ${sessionId}`);
                return withRetries(start, deadline);
              },
              deadline,
            );
            onAccepted(true);
            try {
              return await handle.result();
            } catch (err) {
              // A validator's refusal comes back from `result()` (the handle holds the rejected outcome). A
              // SESSION_CONTINUING refusal is sent again, with backoff, keeping this message's place in the lane.
              if (!isContinuing(err)) throw err;
              onAccepted(false);
              const delayMs = retryDelayMs(attempt, 20);
              if (Date.now() + delayMs >= deadline - this.sendMarginMs) throw new GateFullError(`session ${sessionId} is still continuing as new`);
              await new Promise((r) => setTimeout(r, delayMs));
            }
          }
        },
        // A message still waiting for a slot at the deadline was never sent: 429, retry later with the same id.
        deadline,
      ),
    );
  }

  /**
   * Runs a control update (`decideApproval`, `endSession`, `updateSessionInfo`) at once, outside the message lane:
   * it must answer whatever the backlog of messages (which cannot move while a turn waits for an approval). Its
   * deadline is the turn timeout (`endSession` waits for the session to end; the others answer within a workflow
   * task). RESOURCE_EXHAUSTED and SESSION_CONTINUING are retried with backoff like messages.
   */
  private control<T>(sessionId: string, execute: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.turnTimeoutMs;
    return this.call(sessionId, this.turnTimeoutMs, () => withRetries(execute, deadline));
  }

  /**
   * Runs a query (read-only, so safe to repeat) within the RPC timeout, in up to two attempts: a query that reaches a
   * session just as its workflow closes can hang until its deadline on the dev server (seen in
   * `test/integration/burst.int.test.ts`: a result read right after `DELETE`, 2 of 6 runs under load); the second
   * attempt finds the closed workflow and answers. A first attempt gets a third of the timeout (at most 3 s). A run
   * just started by continue-as-new refuses queries until its first workflow task ("Workflow task is not scheduled
   * yet", seen in test/integration/durability.int.test.ts under load): retried with backoff inside each attempt.
   */
  private async query<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.rpcTimeoutMs;
    const patient = () => untilRunStarted(fn, deadline);
    try {
      return await this.call(sessionId, Math.min(3_000, this.rpcTimeoutMs / 3), patient);
    } catch (err) {
      if (!(isStepwiseError(err) && err.code === 'TEMPORAL_UNAVAILABLE') || deadline - Date.now() < 100) throw err;
      return this.call(sessionId, deadline - Date.now(), patient);
    }
  }

  /** Runs one client call under a deadline and maps its errors. */
  private async call<T>(sessionId: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.client.connection.withDeadline(Date.now() + timeoutMs, fn);
    } catch (err) {
      throw mapTemporalError(err, sessionId);
    }
  }
}
