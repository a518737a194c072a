/**
 * Follows one turn of a session to its end (or its next approval wait) and writes it as UI message stream chunks
 * (`./ui-message-chunks.ts`): the turn's events as they happen (the `getEvents` query, `backend.events`, every
 * `pollMs`), then the turn's result — from the call that started it (`kick`: `send` / `startWithMessage`), or from
 * `backend.turnResult` when the turn was already running (a retried POST, a resumed stream, the rest of a turn after
 * an approval). The result's events are the record: whatever polling missed is sent from them, in `seq` order, once.
 *
 * HTTP-free: it writes to a {@link ChunkSink}; the route owns the response. Never throws: a failure becomes an
 * `error` chunk and `finish`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SessionEvent, TurnResult } from '../../src/engine/types.js';
import { isStepwiseError } from '../../src/errors.js';
import type { SessionView } from '../../workflows/shared.js';
import { type SessionBackend, TurnPendingError } from '../sessions.js';
import { metadataOf, type StepwiseMessageMetadata, type UiChunk, UiTurnMapper } from './ui-message-chunks.js';

/** Where the follower writes. */
export interface ChunkSink {
  write(chunks: UiChunk[]): void;
  /** Resolves when the client can take more (backpressure). */
  drained(): Promise<void>;
  /** True once nobody reads any more: the follower stops. */
  readonly closed: boolean;
}

export interface FollowTurnOptions {
  backend: SessionBackend;
  sessionId: string;
  /** The turn's message id (Stepwise's, the user message's). */
  messageId: string;
  /** The turn's number when known (else learnt from its `turn_started` event, or its result). */
  turn?: number;
  /** Where to start reading live events: at or before the turn's first event. Default 0. */
  fromSeq?: number;
  /** Events with `seq <= afterSeq` are on the client already (the rest of a turn after an approval). Default -1. */
  afterSeq?: number;
  /** Approval requests the client just answered (their `approval_decided` events may not be visible yet). */
  decided?: readonly string[];
  /** The call that runs the turn; its result (final, or early when the turn pauses for approval) ends the stream. */
  kick?: Promise<TurnResult>;
  /** Interval between two polls of the running turn, in ms. */
  pollMs: number;
}

/** What ended the follow. */
type Outcome = { where?: StepwiseMessageMetadata; paused: boolean; failure?: string };

/** Human-readable text of a failure, for `error` chunks (a StepwiseError's message; else a generic one). */
function failureText(err: unknown): string {
  if (isStepwiseError(err)) return `${err.code}: ${err.message}`;
  return 'the turn could not be followed (internal error)';
}

/**
 * Writes the whole turn to `sink`: `start`, its chunks, `finish`. Resolves when done or when the sink closed.
 * Never throws.
 */
export async function followTurn(sink: ChunkSink, options: FollowTurnOptions): Promise<void> {
  const { backend, sessionId, messageId, pollMs } = options;
  const mapper = new UiTurnMapper(messageId);
  let turn = options.turn;
  let lastSeq = options.afterSeq ?? -1;
  let cursor = options.fromSeq ?? 0;
  /** Approval requests of this turn not yet decided (seen at any seq: the client may hold the request already). */
  const waiting = new Set<string>();
  const decided = new Set(options.decided ?? []);

  const take = (events: readonly SessionEvent[]) => {
    for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
      if (turn === undefined && e.type === 'turn_started' && e.messageId === messageId) turn = e.turn;
      if (e.turn !== turn) continue;
      if (e.type === 'approval_requested' && !decided.has(e.callId)) waiting.add(e.callId);
      if (e.type === 'approval_decided') waiting.delete(e.callId);
      if (e.seq <= lastSeq) continue;
      lastSeq = e.seq;
      const chunks = mapper.event(e);
      if (chunks.length > 0) sink.write(chunks);
    }
  };
  /** The end of a turn whose result is known: what polling missed, the reply if no event carried it. */
  const ended = (result: TurnResult): Outcome => {
    turn ??= result.turn;
    take(result.events);
    if (!result.pendingApprovals && !mapper.sentText && result.reply && !result.events.some((e) => e.type === 'reply')) sink.write(mapper.text(result.reply));
    return { where: metadataOf(result), paused: result.pendingApprovals !== undefined };
  };
  const pausedAt = (view: SessionView): Outcome => ({ where: metadataOf({ stepId: view.stepId, flowId: view.flowId, ended: view.status !== 'active' }), paused: true });

  let kicked: { result: TurnResult } | { error: unknown } | undefined;
  let pending = options.kick !== undefined;
  const settled = options.kick?.then(
    (result) => (kicked = { result }),
    (error: unknown) => (kicked = { error }),
  );

  sink.write(mapper.start());
  const follow = async (): Promise<Outcome> => {
    for (;;) {
      if (kicked && 'result' in kicked) return ended(kicked.result);
      if (kicked && 'error' in kicked) {
        if (!(kicked.error instanceof TurnPendingError)) return { paused: false, failure: failureText(kicked.error) };
        kicked = undefined; // accepted but still running: follow it through turnResult
        pending = false;
      }
      try {
        const page = await backend.events(sessionId, cursor);
        take(page.events);
        cursor = Math.max(cursor, page.nextSeq);
        if (!pending) {
          const lookup = await backend.turnResult(sessionId, messageId);
          if (lookup.status === 'done') return ended(lookup.result);
          if (lookup.status === 'refused') return { paused: false, failure: `${lookup.refusal.code}: ${lookup.refusal.message}` };
          if (lookup.status === 'unknown' || lookup.status === 'answered') {
            return { paused: false, failure: `message ${messageId} has no turn to follow in session ${sessionId} (${lookup.status})` };
          }
          if (lookup.status === 'running' && waiting.size > 0) {
            const view = await backend.state(sessionId);
            if (view.pendingApprovals.some((p) => waiting.has(p.callId))) return pausedAt(view);
          }
        }
      } catch (err) {
        // A session that vanished or ended is final, unless the kick is still starting it (update-with-start in
        // flight); anything else (Temporal briefly away) is polled again.
        const gone = isStepwiseError(err) && (err.code === 'SESSION_NOT_FOUND' || err.code === 'SESSION_ENDED');
        if (gone && !pending) return { paused: false, failure: failureText(err) };
      }
      if (sink.closed) return { paused: false };
      await sink.drained();
      await Promise.race([sleep(pollMs), ...(settled && pending ? [settled] : [])]);
    }
  };

  let outcome: Outcome;
  try {
    outcome = await follow();
  } catch (err) {
    outcome = { paused: false, failure: failureText(err) };
  }
  if (!sink.closed) sink.write(mapper.finish(outcome.where, outcome.paused, outcome.failure));
}
