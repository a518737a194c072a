/**
 * The conversation engine: a pure state machine `(state, input) -> { state, command }`.
 *
 * A host (the session workflow, `stepwise chat`, the benchmark) calls {@link startTurn} with a user message, runs the
 * returned command (ask the model, run tools, summarise), and feeds the outcome back with {@link advance} until the
 * command is `finish`. No I/O, no clock, no randomness: timestamps arrive in inputs, ids derive from counters, so
 * replaying the same inputs yields the same states (Temporal replay depends on it).
 *
 * Turn semantics follow DESIGN.md "One turn": a bounded number of decisions (semantics ≥ 3: `max_iter` free ones and
 * one forced RESPOND; before: `max_iter`, the last forced), `max_errors` errors in a row (invalid decisions; from
 * semantics 3 also failed tool calls) give a graceful fallback reply, and a turn never throws for model or tool
 * misbehaviour. Flow, `auto_flow`, `quick_suggestions` and example rules depend on the session's
 * `semantics` version (`ENGINE_SEMANTICS` in ./types.ts), fixed when the session starts.
 *
 * This module holds the entry points; the turn loop is in ./turn.ts, tool-call approvals in ./approval.ts.
 *
 * State stays bounded in bytes, not only in count: a finished turn's `finish` command carries its full result, while
 * state keeps the result and its events with big fields clipped, all within `MAX_STATE_BYTES` (./state.ts).
 */
import { type AgentSnapshot, flowEnteredAt } from '../config/agent.js';
import { embeddingsLlm } from '../config/embeddings.js';
import { applyApproval } from './approval.js';
import type { FileRef } from './files.js';
import { emptyMemory, extractiveSummary } from './memory.js';
import { boundStateBytes } from './state.js';
import {
  afterToolResults,
  applyDecision,
  applyPending,
  decisionError,
  FALLBACK_REPLY,
  finish,
  nextDecision,
  recordToolResults,
  SUMMARY_MAX_CHARS,
} from './turn.js';
import { emit, iterationRules, rememberItem, requireTurn, trimEvents, withTurn } from './turn-state.js';
import { type EngineInput, type EngineStep, ENGINE_SEMANTICS, SESSION_STATE_VERSION, type SessionState, type TurnResult } from './types.js';
import { validateDecision } from './validate.js';

export { approvalRefusal, approvalStatus, humanDecision, pendingApprovals, resumeTurn } from './approval.js';
export { FALLBACK_REPLY, SUMMARY_MAX_CHARS } from './turn.js';
export { validateDecision };

/**
 * Creates the state of a new session positioned at the agent's start step. `semantics` (default: the current
 * {@link ENGINE_SEMANTICS}) fixes the session's engine behaviour for its life; hosts replaying sessions recorded
 * before a version existed pass the old one (the workflow decides with `patched()`). With semantics 1 the session
 * starts inside the start step's flow; from 2 on that flow is entered before the first decision (NOMOS), with a
 * `flow_enter` event. `embeddings` (default true; the workflow passes its `embedding-retrieval` patch) lets a session
 * whose agent has an embeddings model rank memory and examples with it (`SessionState.embeddings`).
 */
export function initialState(
  agent: AgentSnapshot,
  sessionId: string,
  now: string,
  semantics = ENGINE_SEMANTICS,
  embeddings = true,
): SessionState {
  const flow = semantics >= 2 ? undefined : flowEnteredAt(agent, agent.startStepId);
  return {
    schemaVersion: SESSION_STATE_VERSION,
    // Absent for semantics 1, so such states are byte-for-byte what older workers produced.
    ...(semantics >= 2 ? { semantics } : {}),
    ...(embeddings && embeddingsLlm(agent) ? { embeddings: true as const } : {}),
    sessionId,
    agentName: agent.name,
    stepId: agent.startStepId,
    status: 'active',
    flow: flow ? { flowId: flow.id, enteredAtTurn: 0, memory: emptyMemory() } : null,
    memory: emptyMemory(),
    counters: { turns: 0, decisions: 0, events: 0, items: 0, toolCalls: 0 },
    turn: null,
    events: [],
    recentResults: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** The earlier result for `messageId`, if that message was already processed (and still remembered). */
export function findResult(state: SessionState, messageId: string): TurnResult | undefined {
  return state.recentResults.find((r) => r.messageId === messageId);
}

/**
 * Starts a turn for a user message, or, with `opening`, a turn with no user message in which the agent speaks first
 * (`text` is ignored: no `user_message` event, nothing remembered; the prompt asks the model to open the
 * conversation).
 *
 * @throws Error if a turn is already running or the session has ended (host bugs: the workflow serialises turns and
 *   rejects messages to ended sessions in its update validator).
 */
export function startTurn(
  agent: AgentSnapshot,
  state: SessionState,
  message: { messageId: string; text: string; now: string; opening?: boolean; files?: FileRef[] },
): EngineStep {
  if (state.turn) throw new Error(`turn ${state.turn.number} is still running`);
  if (state.status !== 'active') throw new Error('session has ended');
  const number = state.counters.turns + 1;
  let s: SessionState = {
    ...state,
    counters: { ...state.counters, turns: number },
    updatedAt: message.now,
    turn: {
      number,
      messageId: message.messageId,
      userText: message.opening ? '' : message.text,
      iterations: 0,
      consecutiveErrors: 0,
      firstEventSeq: state.counters.events,
      pending: [],
      ...(message.opening ? { opening: true } : {}),
    },
  };
  s = emit(s, { type: 'turn_started', messageId: message.messageId }, message.now);
  if (!message.opening) {
    // Attachments travel as references (./files.ts); an empty list is left out, so older histories replay byte-equal.
    const files = message.files?.length ? { files: message.files } : {};
    s = emit(s, { type: 'user_message', messageId: message.messageId, text: message.text, ...files }, message.now);
    s = rememberItem(agent, s, 'user', message.text, files.files);
  }
  return nextDecision(agent, s, message.now);
}

/**
 * Applies the outcome of the last command and returns the next one.
 *
 * @throws Error if no turn is running or the input does not answer the last command (host bugs).
 */
export function advance(agent: AgentSnapshot, state: SessionState, input: EngineInput): EngineStep {
  const turn = requireTurn(state);
  const s = { ...state, updatedAt: input.now };
  switch (input.type) {
    case 'decided':
      return applyDecision(agent, s, input.decision, input.now);
    case 'decisionInvalid':
      return decisionError(agent, s, input.message, input.now);
    case 'decideFailed': {
      const failed = emit(s, { type: 'turn_failed', message: input.message }, input.now);
      return finish(agent, failed, { reply: FALLBACK_REPLY, fallback: true }, input.now);
    }
    case 'toolResults':
      return afterToolResults(agent, s, input.results, input.now);
    case 'approvalDecided': {
      const out = applyApproval(agent, s, input, input.now);
      if ('waiting' in out) return out.waiting;
      const recorded = recordToolResults(agent, out.state, out.denied, input.now);
      return out.run.length > 0 ? { state: recorded, command: { type: 'runTools', calls: out.run } } : nextDecision(agent, recorded, input.now);
    }
    case 'ranked':
      return nextDecision(agent, withTurn(s, { ranking: { scores: input.scores } }), input.now);
    case 'rankFailed': {
      const fallback = emit(s, { type: 'retrieval_fallback', message: input.message }, input.now);
      return nextDecision(agent, withTurn(fallback, { ranking: { fallback: true } }), input.now);
    }
    case 'summarized':
    case 'summarizeFailed': {
      const pending = turn.pending[0];
      if (!pending) throw new Error('no summary was asked for');
      const source = pending.kind === 'enter' ? s.memory : (s.flow?.memory ?? emptyMemory());
      if (input.type === 'summarized') return applyPending(agent, s, input.summary, input.now);
      // The flow changes anyway, on an extractive summary; semantics ≥ 3 records why.
      const purpose = pending.kind === 'enter' ? 'flow_enter' : 'flow_exit';
      const failed = iterationRules(s)
        ? emit(s, { type: 'summary_failed', flowId: pending.flowId, purpose, message: input.message }, input.now)
        : s;
      return applyPending(agent, failed, extractiveSummary(source, SUMMARY_MAX_CHARS), input.now);
    }
  }
}

/**
 * Ends the session outside a turn (idle timeout, `endSession`), or while a turn waits for approval (that turn is
 * abandoned: no reply, its calls never run). Records `session_ended`. Flow memory is dropped, not summarised (no
 * model call outside a turn).
 */
export function endSession(
  state: SessionState,
  reason: 'idle_timeout' | 'end_session',
  now: string,
): SessionState {
  if (state.status === 'ended') return state;
  const s: SessionState = { ...state, status: 'ended', updatedAt: now, ...(state.turn?.approval ? { turn: null } : {}) };
  return boundStateBytes(trimEvents(emit(s, { type: 'session_ended', reason }, now)));
}
