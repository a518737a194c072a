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
 * NOMOS `FlowState`: the flow the session is in. In replies the context list is empty (Stepwise keeps flow memory in
 * the durable session); sent back for a session Stepwise does not have, `flow_memory_context` seeds the flow memory.
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

/** `POST /chat` reply. */
export const NomosChatResponse = z.object({
  response: NomosDecision,
  tool_output: z.unknown(),
  session_data: z.object({
    session_id: z.string(),
    current_step_id: z.string(),
    history: z.array(NomosEvent),
    flow_state: NomosFlowState.nullable(),
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

/** The output of the turn's last successful tool call (NOMOS `tool_output`), or `null`. */
export function toolOutputOf(turn: TurnResult): unknown {
  const results = turn.events.filter((e) => e.type === 'tool_result');
  const last = results[results.length - 1];
  return last?.type === 'tool_result' ? last.result : null;
}

/**
 * Turns as NOMOS history events, oldest first: the user's messages (`user`), tool results (`tool`), replies (typed
 * with the agent's name, as NOMOS does) and an END (`end`). Errors and fallbacks are left out, as NOMOS's history
 * route leaves them out.
 */
export function historyOf(agentName: string, turns: TurnResult[]): NomosEvent[] {
  const out: NomosEvent[] = [];
  for (const turn of turns) {
    for (const e of turn.events) {
      if (e.type === 'user_message') out.push({ timestamp: e.at, type: 'user', content: e.text, decision: null });
      else if (e.type === 'tool_result') {
        const result = typeof e.result === 'string' ? e.result : (JSON.stringify(e.result) ?? 'null');
        out.push({ timestamp: e.at, type: 'tool', content: `Tool ${e.tool} executed.\nResults: ${result}`, decision: null });
      } else if (e.type === 'reply' && !e.fallback && e.text) {
        out.push({ timestamp: e.at, type: agentName, content: e.text, decision: decisionOf(turn) });
      } else if (e.type === 'session_ended' && e.reason === 'end_action') {
        out.push({ timestamp: e.at, type: 'end', content: 'Session ended.', decision: decisionOf(turn) });
      }
    }
  }
  return out;
}
