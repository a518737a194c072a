/**
 * Whether a session takes a new message: the one set of rules the session workflow's `sendMessage` validator and the
 * in-process backend (`cli/local-sessions.ts`) both apply, so the two cannot drift. Pure (no I/O; Temporal's
 * `ApplicationFailure` data class only).
 */
import { ApplicationFailure } from '@temporalio/common';
import { FIRST_MESSAGE_ID, QUEUE_FULL, SESSION_CONTINUING, UserMessage } from './shared.js';

/** What a session knows when a message arrives. */
export interface AdmissionContext {
  sessionId: string;
  /** The session is ended, or an end request waits. */
  ended: boolean;
  /** The message id is already held: its result, queued, or its turn running (a retry waits for that). */
  known: boolean;
  /** Turn that answered this id long ago (remembered id, full result no longer held), if any. */
  answeredTurn: number | undefined;
  /** The session was started with its first message (`POST /sessions` with `message`). */
  startedWithFirstMessage: boolean;
  /** The run is about to continue as new (the workflow only; the in-process backend never is). */
  draining: boolean;
  /** The queue has room for this message (see `MAX_QUEUED_MESSAGE_BYTES`). */
  hasRoom: boolean;
}

/**
 * Why a message is refused: `type` is the failure type (a Stepwise error code, `SESSION_CONTINUING` or
 * `QUEUE_FULL`), `retryable` whether the same message may be sent again later, `details` for the caller.
 */
export interface Refusal {
  type: 'INVALID_REQUEST' | 'SESSION_ENDED' | 'MESSAGE_ALREADY_ANSWERED' | 'SESSION_EXISTS' | typeof SESSION_CONTINUING | typeof QUEUE_FULL;
  message: string;
  retryable: boolean;
  details?: { turn: number };
}

/**
 * The refusal of `message` by a session in `ctx`, or undefined when it is taken. Checked in this order: invalid
 * message, ended session, answered long ago, a `:first` message the session was not started with (somebody else's
 * create request), continuing as new, queue full. A known id passes the last two (it already has its place).
 */
export function refuseMessage(message: unknown, ctx: AdmissionContext): Refusal | undefined {
  const parsed = UserMessage.safeParse(message);
  if (!parsed.success) return { type: 'INVALID_REQUEST', message: parsed.error.issues.map((i) => i.message).join('; '), retryable: false };
  const id = parsed.data.messageId;
  if (ctx.ended) return { type: 'SESSION_ENDED', message: `session ${ctx.sessionId} has ended`, retryable: false };
  if (ctx.answeredTurn !== undefined) {
    return {
      type: 'MESSAGE_ALREADY_ANSWERED',
      message: `message ${id} was answered in turn ${ctx.answeredTurn}; its result is in the archive`,
      retryable: false,
      details: { turn: ctx.answeredTurn },
    };
  }
  if (id === FIRST_MESSAGE_ID && !ctx.startedWithFirstMessage && !ctx.known) {
    return { type: 'SESSION_EXISTS', message: `session ${ctx.sessionId} already exists`, retryable: false };
  }
  if (ctx.known) return undefined;
  if (ctx.draining) return { type: SESSION_CONTINUING, message: `session ${ctx.sessionId} is continuing as new; send again`, retryable: true };
  if (!ctx.hasRoom) return { type: QUEUE_FULL, message: `session ${ctx.sessionId} has too many messages waiting; send again later`, retryable: true };
  return undefined;
}

/** A refusal as the update validator throws it: `ApplicationFailure` typed `refusal.type`, with `details: [details]`. */
export function refusalFailure(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: refusal.type,
    message: refusal.message,
    nonRetryable: !refusal.retryable,
    ...(refusal.details ? { details: [refusal.details] } : {}),
  });
}
