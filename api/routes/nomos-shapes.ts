/**
 * NOMOS server API shapes (the `nomos` Python package's FastAPI server and its `nomos-sdk` TypeScript client:
 * `SessionResponse`, `ChatRequest`, `ChatResponse`, `Decision`, history `Event`), and the mapping of Stepwise turn
 * results onto them. Read from NOMOS's source (`nomos/api/app.py`, `nomos/models/agent.py`,
 * `support/ts-sdk/src/index.ts`); nothing is copied.
 */
import { z } from 'zod';
import type { SessionEvent, TurnResult } from '../../src/engine/types.js';
import { MAX_MESSAGE_CHARS } from '../../workflows/shared.js';

/**
 * A NOMOS decision as its server returns it: `action` RESPOND or END (Stepwise answers a turn with its final
 * decision), `response` the reply (or the structured answer of an `answer_model` step), `reasoning` the model's notes.
 */
export const NomosDecision = z.object({
  reasoning: z.array(z.string()),
  action: z.enum(['RESPOND', 'END']),
  response: z.unknown(),
  suggestions: z.array(z.string()).nullable(),
  step_id: z.string().nullable(),
  tool_call: z.null(),
});
export type NomosDecision = z.infer<typeof NomosDecision>;

/** `POST /session` and `POST /session/{id}/message` reply. */
export const NomosSessionResponse = z.object({
  session_id: z.string(),
  message: z.union([NomosDecision, z.object({ status: z.string() })]),
});

/** `POST /session/{id}/message` body (the SDK sends `{content}`; NOMOS's `Message` also has `role`). */
export const NomosMessageBody = z.object({
  content: z.string().trim().min(1).max(MAX_MESSAGE_CHARS),
  role: z.string().optional(),
});

/** One history item: a NOMOS `Event` (`type` is `user`, the agent's name for its replies, `tool` or `end`). */
export const NomosEvent = z.object({
  timestamp: z.string(),
  type: z.string(),
  content: z.string(),
  decision: NomosDecision.nullable(),
});
export type NomosEvent = z.infer<typeof NomosEvent>;

/** `GET /session/{id}/history` reply. */
export const NomosHistoryResponse = z.object({ session_id: z.string(), history: z.array(NomosEvent) });

/**
 * One item of NOMOS history or flow memory as a client sends it back (NOMOS `history_to_types`, nomos/models/agent.py):
 * an `Event` (`{type, content, timestamp?, decision?}`), a `Message` (`{role, content}`), a `Summary`
 * (`{summary: string[]}`; a plain string is accepted too) or a `StepIdentifier` (`{step_id}`).
 */
export const NomosHistoryItem = z.union(
  [
    z.object({ type: z.string(), content: z.string(), timestamp: z.string().nullable().optional(), decision: z.unknown().optional() }),
    z.object({ role: z.string(), content: z.string() }),
    z.object({ summary: z.union([z.array(z.string()), z.string()]) }),
    z.object({ step_id: z.string() }),
  ],
  { error: 'a history item is an event {type, content}, a message {role, content}, a summary {summary} or a step {step_id}' },
);
export type NomosHistoryItem = z.infer<typeof NomosHistoryItem>;

/**
 * NOMOS `FlowState` as a client sends it back: the flow the session is in. For a session Stepwise does not have,
 * `flow_memory_context` seeds the flow memory; `flow_context` (NOMOS's bookkeeping) is accepted and not used.
 */
export const NomosFlowState = z.object({
  flow_id: z.string().min(1),
  flow_context: z.object({ flow_id: z.string() }).catchall(z.unknown()),
  flow_memory_context: z.array(NomosHistoryItem),
});

/** The state fields of `session_data` (top level, or under NOMOS's legacy `state` key). */
const NomosStateFields = z.object({
  current_step_id: z.string().min(1).nullable().optional(),
  history: z.array(NomosHistoryItem).optional(),
  flow_state: NomosFlowState.extend({
    flow_context: NomosFlowState.shape.flow_context.optional(),
    flow_memory_context: z.array(NomosHistoryItem).optional(),
  })
    .nullable()
    .optional(),
});

/**
 * NOMOS `State` (`session_data`): the client holds it and sends it back with the next `/chat`. For a session
 * Stepwise has, the durable session's state wins and the other fields are informational; for one it does not have
 * (or no `session_id`), a new session is seeded from them (`./nomos-seed.ts`). `session_id` may be any string (NOMOS
 * ids are free-form): one that is not a valid Stepwise session id gets a new id. As in NOMOS's
 * `get_session_from_dict`, a non-empty `state` object (its legacy form) is read instead of the top-level fields.
 */
export const NomosSessionData = NomosStateFields.extend({
  session_id: z.string().min(1).max(1_000).optional(),
  state: NomosStateFields.nullable().optional(),
});
export type NomosSessionData = z.infer<typeof NomosSessionData>;

/** `POST /chat` body. Without `session_data` a new session starts (an opening turn when `user_input` is absent too). */
export const NomosChatRequest = z.object({
  user_input: z.string().trim().min(1).max(MAX_MESSAGE_CHARS).nullable().optional(),
  session_data: NomosSessionData.nullable().optional(),
});

/**
 * One item of `session_data.history` / `flow_memory_context` in a reply, as NOMOS's own state holds them: an event
 * without its decision, a step marker, or a summary (`./nomos-memory.ts`).
 */
export const NomosStateItem = z.union([
  z.object({ timestamp: z.string(), type: z.string(), content: z.string() }),
  z.object({ step_id: z.string() }),
  z.object({ summary: z.array(z.string()) }),
]);

/** NOMOS `FlowContext` (nomos/models/flow.py) in replies: `previous_context` is not sent (null), `metadata` empty. */
export const NomosFlowContextReply = z.object({
  flow_id: z.string(),
  entry_step: z.string(),
  previous_context: z.null(),
  metadata: z.record(z.string(), z.unknown()),
});

/** `POST /chat` reply. `tool_output` is NOMOS's `Optional[str]`. */
export const NomosChatResponse = z.object({
  response: NomosDecision,
  tool_output: z.string().nullable(),
  session_data: z.object({
    session_id: z.string(),
    current_step_id: z.string(),
    history: z.array(NomosStateItem),
    flow_state: z
      .object({ flow_id: z.string(), flow_context: NomosFlowContextReply, flow_memory_context: z.array(NomosStateItem) })
      .nullable(),
  }),
});

/** `POST /auth/token` reply (OAuth2-style bearer token). */
export const NomosTokenResponse = z.object({ access_token: z.string(), token_type: z.literal('bearer') });

/** The turn's final decision in NOMOS's shape. */
export function decisionOf(turn: TurnResult): NomosDecision {
  const decisions = turn.events.filter((e): e is Extract<SessionEvent, { type: 'decision' }> => e.type === 'decision');
  const last = decisions[decisions.length - 1]?.decision;
  const reasoning = Array.isArray(last?.reasoning) ? last.reasoning.filter((r): r is string => typeof r === 'string') : [];
  const suggestions = (turn as { suggestions?: unknown }).suggestions;
  return {
    reasoning,
    action: turn.ended ? 'END' : 'RESPOND',
    response: turn.answer !== undefined ? turn.answer : turn.reply,
    suggestions: Array.isArray(suggestions) ? suggestions.filter((s): s is string => typeof s === 'string') : null,
    step_id: null,
    tool_call: null,
  };
}

/**
 * The output of the turn's last successful tool call as NOMOS's `tool_output` (`Optional[str]`): a string result as
 * it is, any other result JSON-encoded; `null` when the turn called no tool.
 */
export function toolOutputOf(turn: TurnResult): string | null {
  const results = turn.events.filter((e) => e.type === 'tool_result');
  const last = results[results.length - 1];
  if (last?.type !== 'tool_result') return null;
  return typeof last.result === 'string' ? last.result : (JSON.stringify(last.result) ?? 'null');
}
