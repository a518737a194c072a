/** Session events (everything that happened, numbered by `seq`) and the result of a turn. */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { FileRefs } from '../files.js';
import { TokenUsage } from '../usage.js';
import { ApprovalDecision, PendingApproval, Timestamp } from './common.js';


const base = { seq: z.number().int(), turn: z.number().int(), at: Timestamp };

/** Everything that happened in a session, one object per event, `seq` increasing by one across the whole session. */
export const SessionEvent = lazySchema(() => z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('turn_started'), messageId: z.string() }),
  z.object({
    ...base, type: z.literal('user_message'), messageId: z.string(), text: z.string(),
    /** The message's attachments (references only); absent when it had none. */
    files: FileRefs.optional(),
  }),
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
]));
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
export const TurnResult = lazySchema(() => z.object({
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
  /** Tokens (and cost, with a price table) of the turn's provider calls; sessions since the `token-usage` patch. */
  usage: TokenUsage.optional(),
}));
export type TurnResult = z.infer<typeof TurnResult>;
