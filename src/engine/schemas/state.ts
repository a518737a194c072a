/**
 * Session state: everything the engine knows about a session, carried across continue-as-new, with its version, its
 * engine-semantics version and its size limits.
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { ActiveFlow, ApprovalDecision, MemoryState, PendingApproval, Timestamp } from './common.js';
import { SessionEvent, TurnResult } from './events.js';


/** Approval policy of one waiting call: when it times out and what the timeout decides. */
export const OnTimeout = lazySchema(() => z.enum(['deny', 'allow']));
export type OnTimeout = z.infer<typeof OnTimeout>;

/**
 * A turn paused for approval. All calls of the decision wait together (`calls`, in decision order): the approved and
 * the ones needing no approval run together once every approval is decided; denied ones become tool errors.
 */
export const ApprovalWait = lazySchema(() => z.object({
  calls: z.array(z.object({ callId: z.string(), tool: z.string(), arguments: z.record(z.string(), z.unknown()) })),
  /** Calls still waiting, with the policy applied when their timeout fires. */
  pending: z.array(PendingApproval.extend({ onTimeout: OnTimeout })),
  /** Call ids decided so far and how (denied ones carry their tool error text). */
  decided: z.array(z.object({ callId: z.string(), decision: ApprovalDecision, error: z.string().optional() })),
}));
export type ApprovalWait = z.infer<typeof ApprovalWait>;

/** Per-turn scratch state; `null` between turns. */
export const TurnState = lazySchema(() => z.object({
  number: z.number().int(),
  messageId: z.string(),
  userText: z.string(),
  /** Decisions asked for in this turn (bounded by `max_iter`). */
  iterations: z.number().int(),
  consecutiveErrors: z.number().int(),
  /** The last decision error, shown to the model when it is re-asked. */
  lastError: z.string().optional(),
  /** Index in the session's event log of this turn's first event. */
  firstEventSeq: z.number().int(),
  /** Flow transitions waiting for their summaries, applied in order. */
  pending: z.array(
    z.object({ kind: z.enum(['enter', 'exit']), flowId: z.string(), triggerText: z.string().optional() }),
  ),
  /** Set when the turn ends once `pending` is done (END inside a flow). */
  endAfterPending: z.object({ reply: z.string() }).optional(),
  /** An opening turn: the agent speaks first, with no user message (`POST /sessions` with `initiate`). */
  opening: z.boolean().optional(),
  /** Semantics ≥ 2: flow transitions of the current step were already applied before the next decision. */
  flowsChecked: z.boolean().optional(),
  /**
   * Semantics ≥ 3: a call of this tool had invalid arguments, so the decisions until the next valid one may call only
   * this tool (NOMOS retries the same tool).
   */
  retryTool: z.string().optional(),
  /** Set while the turn waits for approval of some of its last decision's tool calls (state version 2). */
  approval: ApprovalWait.optional(),
  /**
   * Embeddings ranking for the next decision: the `rank` command's scores (one per candidate, until that decision is
   * asked for), or `fallback` after ranking failed (BM25 for the rest of the turn). Only in `embeddings` sessions.
   */
  ranking: z.union([z.object({ scores: z.array(z.number()) }), z.object({ fallback: z.literal(true) })]).optional(),
}));
export type TurnState = z.infer<typeof TurnState>;

/** Current carried-state version (2: turns may carry an {@link ApprovalWait}); see `loadSessionState`. */
export const SESSION_STATE_VERSION = 2;

/**
 * Engine behaviour version a session was started with, kept for its whole life (continue-as-new carries it) so a
 * replayed or continued old session keeps the behaviour it was recorded with:
 * - 1 (or absent): first release — a flow is exited on MOVE *away from* one of its exit steps; END inside a flow
 *   summarises the flow; `auto_flow`, `quick_suggestions` and example selection have no effect.
 * - 2: NOMOS semantics — before every decision the current step's flow transitions apply (enter the first flow
 *   listing the step in `enters` if no flow is active, then exit the active flow if it lists the step in `exits`),
 *   so a flow is exited on *arriving* at an exit step; END inside a flow drops it without a summary; `auto_flow`
 *   steps may only MOVE, TOOL_CALL or END; `quick_suggestions` steps may RESPOND with `suggestions`; examples are
 *   chosen by similarity to the user's message (`max_examples`, `threshold`, `visibility`).
 * - 3: NOMOS iteration rules (`Session.next`, nomos/core.py) on top of 2 — `max_iter` free decisions, then one more
 *   that may only RESPOND (2 forces RESPOND at decision `max_iter`); failed tool calls count toward `max_errors`
 *   (ending the turn with the fallback reply and a `turn_failed` "error limit reached"); after invalid tool
 *   arguments the retry may call only that tool; a failed flow summary is recorded as `summary_failed`.
 */
export const ENGINE_SEMANTICS = 3;

export const SessionStatus = lazySchema(() => z.enum(['active', 'ended']));
export type SessionStatus = z.infer<typeof SessionStatus>;

/**
 * Everything the engine knows about a session. Bounded independently of conversation length, in count and in bytes:
 * memories are capped ({@link MAX_MEMORY_BYTES}), `events` keeps only the newest {@link MAX_KEPT_EVENTS},
 * `recentResults` the newest {@link MAX_RECENT_RESULTS}, large fields of both are clipped to
 * {@link MAX_KEPT_FIELD_BYTES} (see {@link ClippedValue}), and the whole state stays within {@link MAX_STATE_BYTES}.
 */
export const SessionState = lazySchema(() => z.object({
  schemaVersion: z.literal(SESSION_STATE_VERSION),
  /** {@link ENGINE_SEMANTICS} version of this session; absent = 1. */
  semantics: z.number().int().min(1).max(ENGINE_SEMANTICS).optional(),
  /**
   * Set when the session started with an agent that has an embeddings model, on a host that ranks with embeddings
   * (workflow: since the `embedding-retrieval` patch): memory with `retriever.method: embedding` and dynamic examples
   * are ranked by cosine similarity (`rank` command) instead of BM25. Absent: BM25 for the session's whole life, so
   * older sessions replay unchanged.
   */
  embeddings: z.literal(true).optional(),
  sessionId: z.string(),
  agentName: z.string(),
  stepId: z.string(),
  status: SessionStatus,
  flow: ActiveFlow.nullable(),
  memory: MemoryState,
  counters: z.object({
    turns: z.number().int(),
    /** Decisions asked for across the whole session: the scripted model's position. */
    decisions: z.number().int(),
    /** Events emitted across the whole session: the next event's `seq`. */
    events: z.number().int(),
    items: z.number().int(),
    toolCalls: z.number().int(),
  }),
  turn: TurnState.nullable(),
  /** Newest events (for `getEvents`), oldest first; after their turn, big fields clipped (see {@link ClippedValue}). */
  events: z.array(SessionEvent),
  /**
   * Results of the newest turns by message id, so a repeated message id returns the same result; big fields clipped
   * like `events` (the full result went to the caller and the archive).
   */
  recentResults: z.array(TurnResult),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}));
export type SessionState = z.infer<typeof SessionState>;

/** Events kept in session state (older ones live in the archive). */
export const MAX_KEPT_EVENTS = 500;
/** Turn results kept for de-duplicating repeated message ids. */
export const MAX_RECENT_RESULTS = 20;
/** Summaries kept per memory. */
export const MAX_SUMMARIES = 5;
/** Characters kept of one memory item, summary, or tool result text. */
export const MAX_ITEM_CHARS = 4_000;

// Byte bounds of carried state. Temporal refuses a payload over 2 MiB (the server's default `limit.blobSize.error`,
// https://docs.temporal.io/workflows#limits), and the continue-as-new input, every activity input and every query
// result is one payload; the workflow task that continues as new may also carry the last update's result, all in
// one gRPC message of at most 4 MiB. Bytes are UTF-8 bytes of the value's JSON.

/**
 * Whole session state, JSON, at most 1 MiB: half the 2 MiB payload limit, leaving the other half of the continue-as-new
 * input to the pinned agent config, queued messages and unarchived writes, and room in the 4 MiB workflow task
 * completion for a last turn result of up to 2 MiB. Enforced after every turn by `boundStateBytes` (src/engine/state.ts).
 */
export const MAX_STATE_BYTES = 1024 * 1024;
/** One field of an event or turn result kept in state (after its turn), JSON, at most 8 KiB; the caller gets it whole. */
export const MAX_KEPT_FIELD_BYTES = 8 * 1024;
/** Characters of a clipped non-text value kept as {@link ClippedValue} `preview`. */
export const KEPT_PREVIEW_CHARS = 1_000;
/**
 * Item text of one memory (the session's, or the active flow's), UTF-8, at most 256 KiB, oldest items dropped first
 * (on top of the window's `maxItems`): both memories together stay at half of {@link MAX_STATE_BYTES}.
 */
export const MAX_MEMORY_BYTES = 256 * 1024;

/**
 * What replaces a non-text field (`tool_result.result`, `tool_call.arguments`, `reply.answer`, a `decision` entry,
 * a turn result's `answer`) over {@link MAX_KEPT_FIELD_BYTES} in kept state: `bytes` is the original's JSON size in
 * UTF-8 bytes, `preview` its first {@link KEPT_PREVIEW_CHARS} characters (the string itself, or the JSON text), ending
 * in `…`. A text field (`text`, `message`, `summary`, `reply`) over the budget is cut to fit instead, ending in
 * `… [clipped: <bytes> bytes]`. The full values are in the turn's result and in the archive.
 */
export const ClippedValue = lazySchema(() => z.object({ clipped: z.literal(true), bytes: z.number().int(), preview: z.string() }));
export type ClippedValue = z.infer<typeof ClippedValue>;
