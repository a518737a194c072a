/**
 * The engine's turn loop: asks for decisions, applies them (reply, tool calls, step moves, END), plays flow
 * transitions (summaries) and finishes the turn. Entry points are in ./engine.ts; approvals in ./approval.ts.
 *
 * Pure: no I/O, no clock, no randomness.
 */
import { type AgentSnapshot, flowEnteredAt, getLlm, getStep } from '../config/agent.js';
import { requestApprovals } from './approval.js';
import { decisionJsonSchema } from './decision.js';
import { addSummary, clip, emptyMemory, summaryInput } from './memory.js';
import { buildPrompt } from './prompt.js';
import { decisionContext } from './ranking.js';
import { boundStateBytes, clipTurnResult } from './state.js';
import {
  activeFlow,
  decisionLimit,
  emit,
  flowTransitions,
  iterationRules,
  mustRespond,
  nomos,
  rememberItem,
  requireTurn,
  trimEvents,
  withTurn,
} from './turn-state.js';
import {
  type EngineStep,
  MAX_RECENT_RESULTS,
  type MemoryItem,
  type MemoryState,
  type SessionState,
  type ToolCallRequest,
  type ToolCallResult,
  type TurnResult,
  type TurnState,
} from './types.js';
import { validateDecision } from './validate.js';

/** Reply given when a turn cannot produce one (too many invalid decisions, model unreachable). */
export const FALLBACK_REPLY = "Sorry, I couldn't complete that just now. Could you please try again?";

/** Longest summary asked of the summariser, in characters. */
export const SUMMARY_MAX_CHARS = 2_000;

/**
 * The next command of a running turn: a fallback reply past the decision limit ({@link decisionLimit}), pending NOMOS
 * flow transitions, a `rank` when the decision needs embeddings ranking first (./ranking.ts), else a `decide` with the
 * prompt built from the current step, memory window and examples.
 */
export function nextDecision(agent: AgentSnapshot, state: SessionState, now: string): EngineStep {
  const turn = requireTurn(state);
  if (turn.iterations >= decisionLimit(agent, state, getStep(agent, state.stepId))) {
    return finish(agent, state, { reply: FALLBACK_REPLY, fallback: true }, now);
  }
  if (nomos(state) && !turn.flowsChecked) {
    const pending = flowTransitions(agent, state);
    const s = withTurn(state, { flowsChecked: true, pending });
    if (pending.length > 0) return nextPending(agent, s, now);
    state = s;
  }
  const step = getStep(agent, state.stepId);
  const context = decisionContext(agent, state, step);
  if ('rank' in context) return { state, command: { type: 'rank', request: context.rank } };
  const { window, examples } = context;
  const forceRespond = mustRespond(agent, state, turn.iterations + 1, step);
  const semantics = state.semantics;
  const retryTool = forceRespond ? undefined : turn.retryTool;
  const messages = buildPrompt({
    agent,
    step,
    flowId: state.flow?.flowId,
    window,
    forceRespond,
    lastError: turn.lastError,
    ...(turn.opening ? { opening: true } : {}),
    ...(semantics ? { semantics, examples } : {}),
    ...(retryTool ? { retryTool } : {}),
  });
  const request = {
    sessionId: state.sessionId,
    agentName: agent.name,
    stepId: step.id,
    llm: getLlm(agent, step.llm),
    messages,
    schema: decisionJsonSchema(agent, step, { forceRespond, semantics, ...(retryTool ? { onlyTool: retryTool } : {}) }),
    decisionIndex: state.counters.decisions,
    forceRespond,
  };
  const s = withTurn(
    { ...state, counters: { ...state.counters, decisions: state.counters.decisions + 1 } },
    {
      iterations: turn.iterations + 1,
      ...(nomos(state) ? { flowsChecked: false } : {}),
      // Scores serve one decision (the next one ranks its own candidates); a fallback lasts for the turn.
      ...(turn.ranking && 'scores' in turn.ranking ? { ranking: undefined } : {}),
    },
  );
  return { state: s, command: { type: 'decide', request } };
}

/** Records an invalid decision and re-asks, or ends the turn with the fallback reply after `max_errors` in a row. */
export function decisionError(agent: AgentSnapshot, state: SessionState, message: string, now: string): EngineStep {
  const turn = requireTurn(state);
  let s = emit(state, { type: 'decision_error', iteration: turn.iterations, message }, now);
  const errors = turn.consecutiveErrors + 1;
  s = withTurn(s, { consecutiveErrors: errors, lastError: message });
  if (errors >= agent.maxErrors) {
    if (iterationRules(s)) return errorLimit(agent, s, errors, message, now);
    s = emit(s, { type: 'turn_failed', message: `${errors} consecutive invalid decisions; last: ${message}` }, now);
    return finish(agent, s, { reply: FALLBACK_REPLY, fallback: true }, now);
  }
  return nextDecision(agent, s, now);
}

/**
 * Semantics ≥ 3: `max_errors` errors in a row (invalid decisions and failed tool calls, as NOMOS counts them): where
 * NOMOS raises, the turn ends with the fallback reply and a `turn_failed` saying the error limit was reached; the
 * session stays active.
 */
function errorLimit(agent: AgentSnapshot, state: SessionState, errors: number, last: string, now: string): EngineStep {
  const message = `error limit reached (max_errors ${agent.maxErrors}): ${errors} errors in a row; last: ${last}`;
  const s = emit(state, { type: 'turn_failed', message }, now);
  return finish(agent, s, { reply: FALLBACK_REPLY, fallback: true }, now);
}

/**
 * Records a tool round's results and asks for the next decision. Semantics ≥ 3 (NOMOS `Session.next`, nomos/core.py):
 * each failed call counts toward `max_errors` (a round without failures resets the count), reaching it ends the turn
 * ({@link errorLimit}), and after invalid arguments the next decisions may call only that tool until one is valid.
 */
export function afterToolResults(agent: AgentSnapshot, state: SessionState, results: ToolCallResult[], now: string): EngineStep {
  const s = recordToolResults(agent, state, results, now);
  if (!iterationRules(s)) return nextDecision(agent, s, now);
  const failed = results.filter((r) => !r.ok);
  const errors = failed.length === 0 ? 0 : requireTurn(s).consecutiveErrors + failed.length;
  const invalid = failed.find((r) => r.invalidArguments);
  const counted = withTurn(s, { consecutiveErrors: errors, ...(invalid ? { retryTool: invalid.tool } : {}) });
  const last = failed.at(-1);
  if (last && !last.ok && errors >= agent.maxErrors) return errorLimit(agent, counted, errors, `${last.tool}: ${last.error}`, now);
  return nextDecision(agent, counted, now);
}

/** Validates a raw decision against the current step and applies it (RESPOND, TOOL_CALL, MOVE, END). */
export function applyDecision(agent: AgentSnapshot, state: SessionState, raw: unknown, now: string): EngineStep {
  const turn = requireTurn(state);
  const forceRespond = mustRespond(agent, state, turn.iterations, getStep(agent, state.stepId));
  const retryTool = forceRespond ? undefined : turn.retryTool;
  const checked = validateDecision(agent, state.stepId, raw, forceRespond, state.semantics, retryTool);
  if (!checked.ok) return decisionError(agent, state, checked.message, now);
  const d = checked.decision;
  let s = emit(state, { type: 'decision', iteration: turn.iterations, decision: d as Record<string, unknown> }, now);
  // Semantics ≥ 3: a tool call's errors count once its results are in (afterToolResults), so TOOL_CALL keeps the count.
  const keepCount = iterationRules(s) && d.action === 'TOOL_CALL';
  s = withTurn(s, {
    consecutiveErrors: keepCount ? turn.consecutiveErrors : 0,
    lastError: undefined,
    ...(turn.retryTool ? { retryTool: undefined } : {}),
  });

  switch (d.action) {
    case 'RESPOND': {
      const reply = d.response ?? (d.answer !== undefined ? JSON.stringify(d.answer) : '');
      return finish(agent, s, { reply, answer: d.answer, suggestions: d.suggestions, fallback: false }, now);
    }
    case 'TOOL_CALL': {
      const calls: ToolCallRequest[] = d.tool_calls.map((c, i) => ({
        sessionId: s.sessionId,
        agentName: agent.name,
        stepId: s.stepId,
        callId: `t${turn.number}.${s.counters.toolCalls + i + 1}`,
        tool: c.tool,
        arguments: c.arguments,
      }));
      s = { ...s, counters: { ...s.counters, toolCalls: s.counters.toolCalls + calls.length } };
      for (const c of calls) s = emit(s, { type: 'tool_call', callId: c.callId, tool: c.tool, arguments: c.arguments }, now);
      return requestApprovals(agent, s, calls, now) ?? { state: s, command: { type: 'runTools', calls } };
    }
    case 'MOVE':
      return move(agent, s, d.step_id, now);
    case 'END': {
      const reply = d.response ?? '';
      if (s.flow && nomos(s)) {
        // NOMOS cleans the flow up on END: no summary, no flow exit.
        return finish(agent, { ...s, flow: null }, { reply, fallback: false, end: true }, now);
      }
      if (s.flow) {
        s = withTurn(s, { pending: [{ kind: 'exit', flowId: s.flow.flowId }], endAfterPending: { reply } });
        return nextPending(agent, s, now);
      }
      return finish(agent, s, { reply, fallback: false, end: true }, now);
    }
  }
}

/**
 * Changes step. Semantics ≥ 2: flows change before the next decision ({@link flowTransitions}). Semantics 1: queues
 * flow exit/entry summaries here (exit on leaving an exit step).
 */
function move(agent: AgentSnapshot, state: SessionState, target: string, now: string): EngineStep {
  const turn = requireTurn(state);
  const from = state.stepId;
  let s = emit({ ...state, stepId: target }, { type: 'step_change', from, to: target }, now);
  if (nomos(s)) return nextDecision(agent, s, now);
  const pending: TurnState['pending'] = [];
  const current = activeFlow(agent, state);
  const entering = flowEnteredAt(agent, target);
  // Leaving: MOVE away from one of the active flow's exit steps, or into another flow's entry.
  const leaving = current && (current.exits.includes(from) || (entering && entering.id !== current.id));
  if (current && leaving) pending.push({ kind: 'exit', flowId: current.id });
  if (entering && (!current || leaving)) pending.push({ kind: 'enter', flowId: entering.id, triggerText: turn.userText });
  s = withTurn(s, { pending });
  return pending.length > 0 ? nextPending(agent, s, now) : nextDecision(agent, s, now);
}

function nextPending(agent: AgentSnapshot, state: SessionState, now: string): EngineStep {
  const turn = requireTurn(state);
  const pending = turn.pending[0];
  if (!pending) {
    if (turn.endAfterPending) {
      const s = withTurn(state, { endAfterPending: undefined });
      return finish(agent, s, { reply: turn.endAfterPending.reply, fallback: false, end: true }, now);
    }
    return nextDecision(agent, state, now);
  }
  const flow = agent.flows.find((f) => f.id === pending.flowId)!;
  const source = pending.kind === 'enter' ? state.memory : (state.flow?.memory ?? emptyMemory());
  const llmName = flow.memoryLlm;
  return {
    state,
    command: {
      type: 'summarize',
      request: {
        sessionId: state.sessionId,
        llm: getLlm(agent, llmName),
        purpose: pending.kind === 'enter' ? 'flow_enter' : 'flow_exit',
        flowId: flow.id,
        previousSummaries: source.summaries.slice(-2),
        items: summaryInput(source.items),
        maxChars: SUMMARY_MAX_CHARS,
      },
    },
  };
}

/** Applies the summary of the first pending flow transition (enter or exit) and moves on to the next one. */
export function applyPending(agent: AgentSnapshot, state: SessionState, summary: string, now: string): EngineStep {
  const turn = requireTurn(state);
  const [pending, ...rest] = turn.pending;
  const text = clip(summary, SUMMARY_MAX_CHARS);
  let s = state;
  if (pending.kind === 'exit') {
    s = { ...s, flow: null, memory: addSummary(s.memory, `[flow ${pending.flowId}] ${text}`) };
    s = emit(s, { type: 'flow_exit', flowId: pending.flowId, summary: text }, now);
  } else {
    // The triggering message keeps its attachments: the flow's first decisions must still see the image it brought.
    const files = s.memory.items.find((i) => i.turn === turn.number && i.role === 'user')?.files;
    const trigger: MemoryItem = { seq: s.counters.items, turn: turn.number, role: 'user', text: clip(pending.triggerText ?? ''), ...(files ? { files } : {}) };
    const memory: MemoryState = { summaries: text ? [text] : [], items: pending.triggerText ? [trigger] : [] };
    s = {
      ...s,
      flow: { flowId: pending.flowId, enteredAtTurn: turn.number, memory },
      counters: { ...s.counters, items: s.counters.items + (pending.triggerText ? 1 : 0) },
    };
    s = emit(s, { type: 'flow_enter', flowId: pending.flowId, summary: text }, now);
  }
  return nextPending(agent, withTurn(s, { pending: rest }), now);
}

/** Records tool results and errors as events and memory items. */
export function recordToolResults(
  agent: AgentSnapshot,
  state: SessionState,
  results: ToolCallResult[],
  now: string,
): SessionState {
  let s = state;
  for (const r of results) {
    if (r.ok) {
      const text = clip(typeof r.result === 'string' ? r.result : (JSON.stringify(r.result) ?? 'null'));
      s = emit(s, { type: 'tool_result', callId: r.callId, tool: r.tool, result: r.result }, now);
      s = rememberItem(agent, s, 'tool', `${r.tool} -> ${text}`);
    } else {
      s = emit(s, { type: 'tool_error', callId: r.callId, tool: r.tool, message: r.error }, now);
      s = rememberItem(agent, s, 'tool', `${r.tool} failed: ${clip(r.error)}`);
    }
  }
  return s;
}

/** Ends the turn: the reply (and END) as events, the full result in the `finish` command, clipped in state. */
export function finish(
  agent: AgentSnapshot,
  state: SessionState,
  out: { reply: string; answer?: unknown; suggestions?: string[]; fallback: boolean; end?: boolean },
  now: string,
): EngineStep {
  const turn = requireTurn(state);
  const suggestions = out.suggestions ? { suggestions: out.suggestions } : {};
  let s = emit(state, { type: 'reply', text: out.reply, answer: out.answer, fallback: out.fallback, ...suggestions }, now);
  if (out.reply) s = rememberItem(agent, s, 'assistant', out.reply);
  if (out.end) {
    s = emit({ ...s, status: 'ended' }, { type: 'session_ended', reason: 'end_action' }, now);
  }
  // This turn's events are the tail of the log.
  const first = s.events.findIndex((e) => e.seq >= turn.firstEventSeq);
  const events = first < 0 ? [] : s.events.slice(first);
  const result: TurnResult = {
    messageId: turn.messageId,
    turn: turn.number,
    reply: out.reply,
    ...(out.answer !== undefined ? { answer: out.answer } : {}),
    ...suggestions,
    stepId: s.stepId,
    ...(s.flow ? { flowId: s.flow.flowId } : {}),
    ended: s.status === 'ended',
    events,
  };
  // The caller (and the archive) gets the full result; state keeps it clipped, within the whole-state byte budget.
  const kept = clipTurnResult(result);
  s = {
    ...s,
    turn: null,
    events: [...s.events.slice(0, first < 0 ? s.events.length : first), ...kept.events],
    recentResults: [...s.recentResults, kept].slice(-MAX_RECENT_RESULTS),
  };
  s = boundStateBytes(trimEvents(s));
  return { state: s, command: { type: 'finish', result } };
}
