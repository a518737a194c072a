/**
 * Boundary objects of the conversation engine: session state (carried across continue-as-new), events, the
 * commands the engine asks its host to run and the inputs that answer them, and the activity payloads.
 *
 * Everything here crosses Temporal, so it is plain JSON (no Map/Set/Date/classes) with one zod schema per object.
 * Pure: no Node imports.
 */
import { z } from 'zod';
import { JsonSchema, LlmConfig } from '../config/agent.js';

/** ISO-8601 timestamp string, always passed in by the host (the engine never reads a clock). */
export const Timestamp = z.string();

// ---------------------------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------------------------

export const MEMORY_ROLES = ['user', 'assistant', 'tool', 'note'] as const;
export const MemoryRole = z.enum(MEMORY_ROLES);

/** One remembered item: a user message, a reply, a tool result or an engine note. `text` is bounded (4 KiB). */
export const MemoryItem = z.object({ seq: z.number().int(), turn: z.number().int(), role: MemoryRole, text: z.string() });
export type MemoryItem = z.infer<typeof MemoryItem>;

/** Session or flow memory: newest summaries (≤ 5) and items (≤ the window's `maxItems`). */
export const MemoryState = z.object({ summaries: z.array(z.string()), items: z.array(MemoryItem) });
export type MemoryState = z.infer<typeof MemoryState>;

export const ActiveFlow = z.object({ flowId: z.string(), enteredAtTurn: z.number().int(), memory: MemoryState });
export type ActiveFlow = z.infer<typeof ActiveFlow>;

// ---------------------------------------------------------------------------------------------------------------
// Approvals
// ---------------------------------------------------------------------------------------------------------------

export const APPROVAL_DECISIONS = ['approve', 'deny'] as const;
/** A human's answer to a tool call that needs approval. */
export const ApprovalDecision = z.enum(APPROVAL_DECISIONS);
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * A tool call waiting for a human decision (SessionView and TurnResult `pendingApprovals`). `timeoutAt` is set when
 * the tool's approval policy has a timeout; then the call is decided by its `on_timeout` (default deny).
 */
export const PendingApproval = z.object({
  callId: z.string(),
  tool: z.string(),
  arguments: z.unknown(),
  requestedAt: Timestamp,
  timeoutAt: Timestamp.optional(),
});
export type PendingApproval = z.infer<typeof PendingApproval>;

// ---------------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------------

const base = { seq: z.number().int(), turn: z.number().int(), at: Timestamp };

/** Everything that happened in a session, one object per event, `seq` increasing by one across the whole session. */
export const SessionEvent = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('turn_started'), messageId: z.string() }),
  z.object({ ...base, type: z.literal('user_message'), messageId: z.string(), text: z.string() }),
  z.object({ ...base, type: z.literal('decision'), iteration: z.number().int(), decision: z.record(z.string(), z.unknown()) }),
  z.object({ ...base, type: z.literal('decision_error'), iteration: z.number().int(), message: z.string() }),
  z.object({ ...base, type: z.literal('tool_call'), callId: z.string(), tool: z.string(), arguments: z.unknown() }),
  z.object({ ...base, type: z.literal('tool_result'), callId: z.string(), tool: z.string(), result: z.unknown() }),
  z.object({ ...base, type: z.literal('tool_error'), callId: z.string(), tool: z.string(), message: z.string() }),
  z.object({ ...base, type: z.literal('approval_requested'), callId: z.string(), tool: z.string(), arguments: z.unknown(), timeoutAt: Timestamp.optional() }),
  z.object({
    ...base,
    type: z.literal('approval_decided'),
    callId: z.string(),
    tool: z.string(),
    decision: ApprovalDecision,
    approver: z.string().optional(),
    reason: z.string().optional(),
    /** True when nobody decided before the approval's timeout and its `on_timeout` policy decided. */
    timedOut: z.boolean(),
  }),
  z.object({ ...base, type: z.literal('step_change'), from: z.string(), to: z.string() }),
  z.object({ ...base, type: z.literal('flow_enter'), flowId: z.string(), summary: z.string() }),
  z.object({ ...base, type: z.literal('flow_exit'), flowId: z.string(), summary: z.string() }),
  z.object({
    ...base,
    type: z.literal('reply'),
    text: z.string(),
    answer: z.unknown().optional(),
    fallback: z.boolean(),
    /** Quick replies offered to the user (`quick_suggestions` steps, semantics ≥ 2). */
    suggestions: z.array(z.string()).optional(),
  }),
  z.object({ ...base, type: z.literal('turn_failed'), message: z.string() }),
  /**
   * Ranking by embeddings failed for this turn (no embeddings endpoint, bad key, a 4xx, retries exhausted): memory
   * retrieval and example selection used BM25 instead. `message` says why (never a key).
   */
  z.object({ ...base, type: z.literal('retrieval_fallback'), message: z.string() }),
  /**
   * A flow-memory summary failed (the `summarize` activity's retries exhausted, or a host without a summariser): the
   * flow was entered or exited with an extractive summary instead (the following `flow_enter` / `flow_exit` carries
   * it). `message` says why (never a key). Semantics ≥ 3.
   */
  z.object({
    ...base,
    type: z.literal('summary_failed'),
    flowId: z.string(),
    purpose: z.enum(['flow_enter', 'flow_exit']),
    message: z.string(),
  }),
  z.object({ ...base, type: z.literal('session_ended'), reason: z.enum(['end_action', 'idle_timeout', 'end_session']) }),
  /**
   * The session went back to its state after turn `toTurn` (rewind, docs/time-travel.md): turns `toTurn+1..fromTurn`
   * are kept in the archive as branch `branch`. `seq` continues the session's sequence, so live streams see it.
   */
  z.object({ ...base, type: z.literal('rewound'), toTurn: z.number().int(), fromTurn: z.number().int(), branch: z.string() }),
]);
export type SessionEvent = z.infer<typeof SessionEvent>;
export type SessionEventType = SessionEvent['type'];

/** Distributes `Omit` over a union (plain `Omit` would collapse it). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the engine stamps `seq`, `turn` and `at`. */
export type NewEvent = DistributiveOmit<SessionEvent, 'seq' | 'turn' | 'at'>;

// ---------------------------------------------------------------------------------------------------------------
// Turn result
// ---------------------------------------------------------------------------------------------------------------

/** What `sendMessage` returns: the reply, the structured answer if any, where the session now is, and the events. */
export const TurnResult = z.object({
  messageId: z.string(),
  turn: z.number().int(),
  reply: z.string(),
  answer: z.unknown().optional(),
  /** Quick replies the model offered with a RESPOND in a `quick_suggestions` step (NOMOS `suggestions`). */
  suggestions: z.array(z.string()).optional(),
  stepId: z.string(),
  flowId: z.string().optional(),
  ended: z.boolean(),
  events: z.array(SessionEvent),
  /**
   * Set on the early result of a turn that paused for approval: the calls waiting for a decision. `reply` then says
   * approval is pending; the turn's final result follows (events, `GET /sessions/:id/messages/:messageId`).
   */
  pendingApprovals: z.array(PendingApproval).optional(),
});
export type TurnResult = z.infer<typeof TurnResult>;

// ---------------------------------------------------------------------------------------------------------------
// Session state
// ---------------------------------------------------------------------------------------------------------------

/** Approval policy of one waiting call: when it times out and what the timeout decides. */
export const OnTimeout = z.enum(['deny', 'allow']);
export type OnTimeout = z.infer<typeof OnTimeout>;

/**
 * A turn paused for approval. All calls of the decision wait together (`calls`, in decision order): the approved and
 * the ones needing no approval run together once every approval is decided; denied ones become tool errors.
 */
export const ApprovalWait = z.object({
  calls: z.array(z.object({ callId: z.string(), tool: z.string(), arguments: z.record(z.string(), z.unknown()) })),
  /** Calls still waiting, with the policy applied when their timeout fires. */
  pending: z.array(PendingApproval.extend({ onTimeout: OnTimeout })),
  /** Call ids decided so far and how (denied ones carry their tool error text). */
  decided: z.array(z.object({ callId: z.string(), decision: ApprovalDecision, error: z.string().optional() })),
});
export type ApprovalWait = z.infer<typeof ApprovalWait>;

/** Per-turn scratch state; `null` between turns. */
export const TurnState = z.object({
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
});
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

export const SessionStatus = z.enum(['active', 'ended']);
export type SessionStatus = z.infer<typeof SessionStatus>;

/**
 * Everything the engine knows about a session. Bounded independently of conversation length, in count and in bytes:
 * memories are capped ({@link MAX_MEMORY_BYTES}), `events` keeps only the newest {@link MAX_KEPT_EVENTS},
 * `recentResults` the newest {@link MAX_RECENT_RESULTS}, large fields of both are clipped to
 * {@link MAX_KEPT_FIELD_BYTES} (see {@link ClippedValue}), and the whole state stays within {@link MAX_STATE_BYTES}.
 */
export const SessionState = z.object({
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
});
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
export const ClippedValue = z.object({ clipped: z.literal(true), bytes: z.number().int(), preview: z.string() });
export type ClippedValue = z.infer<typeof ClippedValue>;

// ---------------------------------------------------------------------------------------------------------------
// Activity payloads
// ---------------------------------------------------------------------------------------------------------------

export const ChatMessage = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Input of the `decide` activity: a bounded prompt and the step's decision schema. */
export const DecideRequest = z.object({
  sessionId: z.string(),
  agentName: z.string(),
  stepId: z.string(),
  llm: LlmConfig,
  messages: z.array(ChatMessage),
  schema: JsonSchema,
  /** Decisions already asked for in this session: the scripted model's position in its script. */
  decisionIndex: z.number().int().min(0),
  forceRespond: z.boolean(),
});
export type DecideRequest = z.infer<typeof DecideRequest>;

/** Output of `decide`: the parsed (not yet validated) decision JSON. */
export const DecideResult = z.object({
  decision: z.unknown(),
  model: z.string().optional(),
  usage: z.object({ inputTokens: z.number().optional(), outputTokens: z.number().optional() }).optional(),
});
export type DecideResult = z.infer<typeof DecideResult>;

/** Input of `runTool`: one call. */
export const ToolCallRequest = z.object({
  sessionId: z.string(),
  agentName: z.string(),
  stepId: z.string(),
  callId: z.string(),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});
export type ToolCallRequest = z.infer<typeof ToolCallRequest>;

/** Output of `runTool`: a result, or an error the model sees (bad arguments, a throwing tool). */
export const ToolCallResult = z.discriminatedUnion('ok', [
  z.object({ callId: z.string(), tool: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    callId: z.string(),
    tool: z.string(),
    ok: z.literal(false),
    error: z.string(),
    /** The arguments failed the tool's schema (`execute` never ran). Absent in results recorded before it existed. */
    invalidArguments: z.literal(true).optional(),
  }),
]);
export type ToolCallResult = z.infer<typeof ToolCallResult>;

/** Input of `summarize`: bounded items and the previous summary. Output: one summary string. */
export const SummarizeRequest = z.object({
  sessionId: z.string(),
  llm: LlmConfig,
  purpose: z.enum(['flow_enter', 'flow_exit']),
  flowId: z.string(),
  previousSummaries: z.array(z.string()),
  items: z.array(MemoryItem),
  /** Longest summary wanted, in characters. */
  maxChars: z.number().int().positive(),
});
export type SummarizeRequest = z.infer<typeof SummarizeRequest>;

/** Candidates one `rank` asks about at most: 64 (48 older memory items, the newest, then 16 dynamic examples). */
export const MAX_RANK_CANDIDATES = 64;
/** Older memory items ranked at most (the newest ones; older still are not retrievable by embeddings). */
export const MAX_RANK_MEMORY_ITEMS = 48;
/** Dynamic examples ranked at most (the first in config order). */
export const MAX_RANK_EXAMPLES = 16;
/**
 * Characters of the query and of each candidate sent to be embedded: 1,000 (~250 tokens; far below any embeddings
 * model's input limit, e.g. 8,191 tokens for OpenAI's). So one `rank` input stays under ~70 KB of history.
 */
export const RANK_TEXT_CHARS = 1_000;

/**
 * Input of `rank`: similarity of each candidate text to the query, by the embeddings model `llm` (`llm.model` is the
 * embeddings model's name). Texts are clipped to {@link RANK_TEXT_CHARS}, at most {@link MAX_RANK_CANDIDATES}.
 */
export const RankRequest = z.object({
  sessionId: z.string(),
  llm: LlmConfig,
  query: z.string().max(RANK_TEXT_CHARS),
  candidates: z.array(z.string().max(RANK_TEXT_CHARS)).min(1).max(MAX_RANK_CANDIDATES),
});
export type RankRequest = z.infer<typeof RankRequest>;

/** Output of `rank`: cosine similarity (-1..1) of each candidate to the query, in candidate order. No vectors. */
export const RankResult = z.object({ scores: z.array(z.number()), model: z.string().optional() });
export type RankResult = z.infer<typeof RankResult>;

// ---------------------------------------------------------------------------------------------------------------
// Engine commands and inputs
// ---------------------------------------------------------------------------------------------------------------

/** What the engine asks its host to do next. */
export type EngineCommand =
  | { type: 'decide'; request: DecideRequest }
  | { type: 'runTools'; calls: ToolCallRequest[] }
  | { type: 'summarize'; request: SummarizeRequest }
  /** Rank candidates by embeddings before the next decision (sessions with `embeddings` only). */
  | { type: 'rank'; request: RankRequest }
  /**
   * Wait for a human decision on one of `approvals` (the undecided calls; arm a durable timer for each `timeoutAt`).
   * `result` is what the turn's caller gets meanwhile: a reply saying approval is pending, with `pendingApprovals`.
   */
  | { type: 'awaitApproval'; approvals: ApprovalWait['pending']; result: TurnResult }
  | { type: 'finish'; result: TurnResult };

/** A decision on a waiting call: by a human (`approver`, `reason`), or by its timeout policy (`timedOut`). */
export const ApprovalDecided = z.object({
  callId: z.string(),
  decision: ApprovalDecision,
  approver: z.string().optional(),
  reason: z.string().optional(),
  timedOut: z.boolean(),
});
export type ApprovalDecided = z.infer<typeof ApprovalDecided>;

/** The host's answer to the last command; `now` is the host's clock (ISO-8601). */
export type EngineInput =
  | { type: 'decided'; decision: unknown; now: string }
  /** The model's output was unusable (not JSON, refused): re-asked like an invalid decision. */
  | { type: 'decisionInvalid'; message: string; now: string }
  /** The model could not be reached or refused the request for good: the turn ends with a fallback reply. */
  | { type: 'decideFailed'; message: string; now: string }
  | { type: 'toolResults'; results: ToolCallResult[]; now: string }
  | { type: 'summarized'; summary: string; now: string }
  | { type: 'summarizeFailed'; message: string; now: string }
  /** Scores of the `rank` command's candidates, in order. */
  | { type: 'ranked'; scores: number[]; now: string }
  /** Ranking failed for good: BM25 for the rest of the turn (a `retrieval_fallback` event says why). */
  | { type: 'rankFailed'; message: string; now: string }
  | ({ type: 'approvalDecided'; now: string } & ApprovalDecided);

/** One engine transition. */
export interface EngineStep {
  state: SessionState;
  command: EngineCommand;
}
