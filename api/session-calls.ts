/**
 * How the API talks to one session workflow: the per-session message lane for message updates, control updates sent
 * at once, patient queries, and one deadline and error mapping around every client call. Used by
 * {@link TemporalSessions} (./temporal-sessions.ts).
 */
import { type Client, type WorkflowUpdateHandle, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { isStepwiseError } from '../src/errors.js';
import { TurnPendingError } from './sessions.js';
import { isDeadlineExceeded, isResourceExhausted, mapTemporalError } from './temporal-errors.js';
import { GateFullError, UpdateGate } from './update-gate.js';
import { isSendAgain, MIN_SEND_MS, retryDelayMs, untilRunStarted, withRetries } from './update-retries.js';

/** Options of {@link SessionCalls}; see `TemporalSessionsOptions` for their defaults. */
export interface SessionCallsOptions {
  client: Client;
  /** Longest wait for a turn result (and for a control update), in ms. */
  turnTimeoutMs: number;
  /** Deadline of queries, signals and starts, in ms. */
  rpcTimeoutMs: number;
  /** Message updates in flight per session from this process (default 8, see {@link UpdateGate}). */
  maxInFlightUpdatesPerSession?: number;
}

/**
 * Time a control update with a fallback gets before the fallback runs, in ms: it answers within one workflow task
 * (milliseconds) unless the server turns it away (in-flight cap) or the worker is down or stalled.
 */
export const CONTROL_ATTEMPT_MS = 3_000;

/** The call disciplines of the Temporal session backend. */
export class SessionCalls {
  private readonly client: Client;
  private readonly turnTimeoutMs: number;
  private readonly rpcTimeoutMs: number;
  private readonly gate: UpdateGate;
  /** One update being admitted per session at a time (see {@link SessionCalls.message}). */
  private readonly admission: UpdateGate;
  /** {@link MIN_SEND_MS}, or a tenth of a shorter turn wait. */
  private readonly sendMarginMs: number;
  /** Told of every call that may have made a session produce events (see {@link SessionCalls.onActivity}). */
  private readonly activity = new Set<(sessionId: string) => void>();

  constructor(options: SessionCallsOptions) {
    this.client = options.client;
    this.turnTimeoutMs = options.turnTimeoutMs;
    this.rpcTimeoutMs = options.rpcTimeoutMs;
    this.gate = new UpdateGate({ limit: options.maxInFlightUpdatesPerSession });
    this.admission = new UpdateGate({ limit: 1 });
    this.sendMarginMs = Math.min(MIN_SEND_MS, this.turnTimeoutMs / 10);
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
   *   ({@link sendMarginMs}); TEMPORAL_UNAVAILABLE (503) only when Temporal itself did not answer in that time;
   *   what `known` throws.
   *
   * `known` (asked only when the lane is full as the message arrives, while it waits there) answers for a message the
   * workflow already has, or undefined: answered, the message leaves the line. Messages queued behind a turn that
   * waits for approval fill the lane, and a retry of that very turn's message (its first answer lost) would otherwise
   * wait behind them, never answered (found by the chaos suite).
   */
  async message<T>(
    sessionId: string,
    start: () => Promise<WorkflowUpdateHandle<T>>,
    messageId: string,
    known?: () => Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + this.turnTimeoutMs;
    let accepted = false;
    // Asked only when the lane is full as this message arrives (it then waits behind messages in flight).
    const ask = known !== undefined && this.gate.full(sessionId);
    const leave = new AbortController();
    // Joins the lane now, before any await, so messages keep their arrival order.
    const viaLane = this.admitAndWait(sessionId, start, deadline, (yes) => (accepted = yes), leave.signal).catch((err: unknown) => {
      // Accepted, then out of time: the turn goes on in the workflow (or Temporal blinked); the caller fetches it later.
      if (accepted && isStepwiseError(err) && err.code === 'TEMPORAL_UNAVAILABLE') throw new TurnPendingError(sessionId, messageId);
      throw err;
    });
    if (!ask) return viaLane;
    // Known to the workflow already (sent before: a retry, or the same id twice): its answer comes from there, and the
    // message leaves the line; unknown, it keeps its place.
    const fromWorkflow = known().then((answer) => answer ?? new Promise<never>(() => {}));
    try {
      return await Promise.race([viaLane, fromWorkflow]);
    } finally {
      leave.abort(new GateFullError(`message ${messageId} of session ${sessionId} was answered from the workflow`));
      viaLane.catch(() => {}); // left the line (or lost the race): its outcome is the same answer, or none
      fromWorkflow.catch(() => {});
    }
  }

  /**
   * Calls `listener(sessionId)` each time a call this process sent may have made the session produce events: a
   * message update accepted by the workflow (its turn starts), and again when it settles (a result, or the turn's
   * failure: its events are then in the workflow); a control update answered ({@link control}); a call told with
   * {@link notifyActivity}. Returns the unsubscribe function. A listener must not throw (one that does is ignored).
   */
  onActivity(listener: (sessionId: string) => void): () => void {
    this.activity.add(listener);
    return () => this.activity.delete(listener);
  }

  /** Tells the {@link onActivity} listeners that `sessionId` may have new events (e.g. a message was posted). */
  notifyActivity(sessionId: string): void {
    for (const listener of this.activity) {
      try {
        listener(sessionId);
      } catch {
        // A listener's failure is its own (the event streams' wake-up is best effort: they poll anyway).
      }
    }
  }

  private admitAndWait<T>(
    sessionId: string,
    start: () => Promise<WorkflowUpdateHandle<T>>,
    deadline: number,
    onAccepted: (yes: boolean) => void,
    leave?: AbortSignal,
  ): Promise<T> {
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
            this.notifyActivity(sessionId);
            try {
              const result = await handle.result();
              this.notifyActivity(sessionId);
              return result;
            } catch (err) {
              // A validator's refusal comes back from `result()` (the handle holds the rejected outcome). A
              // SESSION_CONTINUING refusal, or the server's rejection of an update a worker dropped unanswered, is sent
              // again, with backoff, keeping this message's place in the lane.
              if (!isSendAgain(err)) {
                this.notifyActivity(sessionId);
                throw err;
              }
              onAccepted(false);
              const delayMs = retryDelayMs(attempt, 20);
              if (Date.now() + delayMs >= deadline - this.sendMarginMs) throw new GateFullError(`session ${sessionId} is still continuing as new (or a worker keeps dropping the update)`);
              await new Promise((r) => setTimeout(r, delayMs));
            }
          }
        },
        // A message still waiting for a slot at the deadline was never sent: 429, retry later with the same id.
        deadline,
        leave,
      ),
    );
  }

  /**
   * Runs a control update (`decideApproval`, `endSession`, `updateSessionInfo`) at once, outside the message lane:
   * it must answer whatever the backlog of messages (which cannot move while a turn waits for an approval). Its
   * deadline is the turn timeout (`endSession` waits for the session to end; the others answer within a workflow
   * task). RESOURCE_EXHAUSTED and SESSION_CONTINUING are retried with backoff like messages.
   *
   * With `noRoom`, the update gets {@link CONTROL_ATTEMPT_MS} (the client retries RESOURCE_EXHAUSTED itself, for
   * ~30 s); turned away by Temporal's cap on in-flight updates, or unanswered in that time, `noRoom` runs instead with
   * the deadline (epoch ms): e.g. the decision as a signal (./approval-signal.ts), since the updates filling the cap
   * may be waiting for this very call.
   */
  async control<T>(sessionId: string, execute: () => Promise<T>, noRoom?: (deadline: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.turnTimeoutMs;
    const attempt = noRoom
      ? () =>
          this.client.connection.withDeadline(Date.now() + CONTROL_ATTEMPT_MS, execute).catch((err: unknown) => {
            // The client retries RESOURCE_EXHAUSTED itself, so a full cap usually ends as the attempt's deadline.
            if (isResourceExhausted(err) || isDeadlineExceeded(err) || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return noRoom(deadline);
            throw err;
          })
      : execute;
    const answer = await this.call(sessionId, this.turnTimeoutMs, () => withRetries(attempt, deadline));
    this.notifyActivity(sessionId);
    return answer;
  }

  /**
   * Runs a query (read-only, so safe to repeat) within the RPC timeout, in up to two attempts: a query that reaches a
   * session just as its workflow closes can hang until its deadline on the dev server (seen in
   * `test/integration/burst.int.test.ts`: a result read right after `DELETE`, 2 of 6 runs under load); the second
   * attempt finds the closed workflow and answers. A first attempt gets a third of the timeout (at most 3 s). A run
   * just started by continue-as-new refuses queries until its first workflow task ("Workflow task is not scheduled
   * yet", seen in test/integration/durability.int.test.ts under load): retried with backoff inside each attempt.
   */
  async query<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
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
  async call<T>(sessionId: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.client.connection.withDeadline(Date.now() + timeoutMs, fn);
    } catch (err) {
      throw mapTemporalError(err, sessionId);
    }
  }
}
