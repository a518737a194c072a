/**
 * The conversation engine: a pure state machine `(state, input) -> { state, command }`.
 *
 * A host (the session workflow, `stepwise chat`, the benchmark) calls {@link startTurn} with a user message, runs the
 * returned command (ask the model, run tools, summarise), and feeds the outcome back with {@link advance} until the
 * command is `finish`. No I/O, no clock, no randomness: timestamps arrive in inputs, ids derive from counters, so
 * replaying the same inputs yields the same states (Temporal replay depends on it).
 *
 * Turn semantics follow DESIGN.md "One turn": at most `max_iter` decisions (the last one may only RESPOND),
 * `max_errors` consecutive invalid decisions give a graceful fallback reply, and a turn never throws for model or
 * tool misbehaviour. Flow, `auto_flow`, `quick_suggestions` and example rules depend on the session's
 * `semantics` version (`ENGINE_SEMANTICS` in ./types.ts), fixed when the session starts.
 *
 * State stays bounded in bytes, not only in count: a finished turn's `finish` command carries its full result, while
 * state keeps the result and its events with big fields clipped, all within `MAX_STATE_BYTES` (./state.ts).
 */
import {
  type AgentSnapshot,
  DEFAULT_EXAMPLES,
  approvalPolicy,
  flowEnteredAt,
  getLlm,
  getStep,
} from '../config/agent.js';
import { decisionJsonSchema } from './decision.js';
import { validateDecision } from './validate.js';

export { validateDecision };
import { addSummary, clip, emptyMemory, extractiveSummary, memoryWindow, summaryInput } from './memory.js';
import { selectExamples } from './examples.js';
import { buildPrompt } from './prompt.js';
import {
  activeFlow,
  currentMemory,
  emit,
  flowTransitions,
  memoryConfig,
  mustRespond,
  nomos,
  rememberItem,
  requireTurn,
  trimEvents,
  withTurn,
} from './turn-state.js';
import { boundStateBytes, clipTurnResult } from './state.js';
import {
  type ApprovalDecided,
  type ApprovalWait,
  type EngineInput,
  type PendingApproval,
  type EngineStep,
  ENGINE_SEMANTICS,
  MAX_RECENT_RESULTS,
  type MemoryItem,
  type MemoryState,
  SESSION_STATE_VERSION,
  type SessionState,
  type ToolCallRequest,
  type ToolCallResult,
  type TurnResult,
  type TurnState,
} from './types.js';

/** Reply given when a turn cannot produce one (too many invalid decisions, model unreachable). */
export const FALLBACK_REPLY = "Sorry, I couldn't complete that just now. Could you please try again?";

/** Longest summary asked of the summariser, in characters. */
export const SUMMARY_MAX_CHARS = 2_000;

/**
 * Creates the state of a new session positioned at the agent's start step. `semantics` (default: the current
 * {@link ENGINE_SEMANTICS}) fixes the session's engine behaviour for its life; hosts replaying sessions recorded
 * before a version existed pass the old one (the workflow decides with `patched()`). With semantics 1 the session
 * starts inside the start step's flow; from 2 on that flow is entered before the first decision (NOMOS), with a
 * `flow_enter` event.
 */
export function initialState(agent: AgentSnapshot, sessionId: string, now: string, semantics = ENGINE_SEMANTICS): SessionState {
  const flow = semantics >= 2 ? undefined : flowEnteredAt(agent, agent.startStepId);
  return {
    schemaVersion: SESSION_STATE_VERSION,
    // Absent for semantics 1, so such states are byte-for-byte what older workers produced.
    ...(semantics >= 2 ? { semantics } : {}),
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
  message: { messageId: string; text: string; now: string; opening?: boolean },
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
    s = emit(s, { type: 'user_message', messageId: message.messageId, text: message.text }, message.now);
    s = rememberItem(agent, s, 'user', message.text);
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
      return nextDecision(agent, recordToolResults(agent, s, input.results, input.now), input.now);
    case 'approvalDecided':
      return applyApproval(agent, s, input, input.now);
    case 'summarized':
    case 'summarizeFailed': {
      const pending = turn.pending[0];
      if (!pending) throw new Error('no summary was asked for');
      const source = pending.kind === 'enter' ? s.memory : (s.flow?.memory ?? emptyMemory());
      const summary = input.type === 'summarized' ? input.summary : extractiveSummary(source, SUMMARY_MAX_CHARS);
      return applyPending(agent, s, summary, input.now);
    }
  }
}

/**
 * The command a turn paused for approval waits on, for a host that resumes it (a workflow run continued as new).
 *
 * @throws Error if no turn is waiting for approval (host bug).
 */
export function resumeTurn(state: SessionState): EngineStep {
  if (!state.turn?.approval) throw new Error('no turn is waiting for approval');
  return awaitApproval(state);
}

/** Calls waiting for approval (oldest first); empty when none. */
export function pendingApprovals(state: SessionState): PendingApproval[] {
  return (state.turn?.approval?.pending ?? []).map(({ onTimeout: _, ...p }) => p);
}

/**
 * Where call `callId` stands for a decision: `pending` (waiting), `decided` (decided in this turn, or seen decided in
 * the kept events), or `unknown` (no such call waits: hosts answer APPROVAL_NOT_FOUND).
 */
export function approvalStatus(state: SessionState, callId: string): 'pending' | 'decided' | 'unknown' {
  const wait = state.turn?.approval;
  if (wait?.pending.some((p) => p.callId === callId)) return 'pending';
  if (wait?.decided.some((d) => d.callId === callId)) return 'decided';
  return state.events.some((e) => e.type === 'approval_decided' && e.callId === callId) ? 'decided' : 'unknown';
}

/**
 * Why a human decision on `callId` must be refused (`queued`: a decision for it is already waiting to be applied),
 * as the error code and message hosts answer with; undefined when the call waits for one.
 */
export function approvalRefusal(
  state: SessionState,
  callId: string,
  queued: boolean,
): { code: 'APPROVAL_ALREADY_DECIDED' | 'APPROVAL_NOT_FOUND'; message: string } | undefined {
  const status = queued ? 'decided' : approvalStatus(state, callId);
  if (status === 'decided') return { code: 'APPROVAL_ALREADY_DECIDED', message: `tool call ${callId} was already decided` };
  if (status === 'unknown') return { code: 'APPROVAL_NOT_FOUND', message: `no tool call ${callId} is waiting for approval in session ${state.sessionId}` };
  return undefined;
}

/** A human's decision as the engine takes it (optional fields only when given). */
export function humanDecision(d: { callId: string; decision: ApprovalDecided['decision']; reason?: string; approver?: string }): ApprovalDecided {
  return {
    callId: d.callId,
    decision: d.decision,
    ...(d.reason !== undefined ? { reason: d.reason } : {}),
    ...(d.approver !== undefined ? { approver: d.approver } : {}),
    timedOut: false,
  };
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

function nextDecision(agent: AgentSnapshot, state: SessionState, now: string): EngineStep {
  const turn = requireTurn(state);
  if (turn.iterations >= agent.maxIter) {
    return finish(agent, state, { reply: FALLBACK_REPLY, fallback: true }, now);
  }
  if (nomos(state) && !turn.flowsChecked) {
    const pending = flowTransitions(agent, state);
    const s = withTurn(state, { flowsChecked: true, pending });
    if (pending.length > 0) return nextPending(agent, s, now);
    state = s;
  }
  const step = getStep(agent, state.stepId);
  const forceRespond = mustRespond(agent, state, turn.iterations + 1, step);
  const semantics = state.semantics;
  const window = memoryWindow(currentMemory(state), memoryConfig(agent, state), turn.userText);
  const examples = nomos(state)
    ? selectExamples(step.examples, turn.userText, {
        maxExamples: agent.maxExamples ?? DEFAULT_EXAMPLES.maxExamples,
        threshold: agent.exampleThreshold ?? DEFAULT_EXAMPLES.threshold,
      })
    : undefined;
  const messages = buildPrompt({
    agent,
    step,
    flowId: state.flow?.flowId,
    window,
    forceRespond,
    lastError: turn.lastError,
    ...(turn.opening ? { opening: true } : {}),
    ...(semantics ? { semantics, examples } : {}),
  });
  const request = {
    sessionId: state.sessionId,
    agentName: agent.name,
    stepId: step.id,
    llm: getLlm(agent, step.llm),
    messages,
    schema: decisionJsonSchema(agent, step, { forceRespond, semantics }),
    decisionIndex: state.counters.decisions,
    forceRespond,
  };
  const s = withTurn(
    { ...state, counters: { ...state.counters, decisions: state.counters.decisions + 1 } },
    { iterations: turn.iterations + 1, ...(nomos(state) ? { flowsChecked: false } : {}) },
  );
  return { state: s, command: { type: 'decide', request } };
}

function decisionError(agent: AgentSnapshot, state: SessionState, message: string, now: string): EngineStep {
  const turn = requireTurn(state);
  let s = emit(state, { type: 'decision_error', iteration: turn.iterations, message }, now);
  const errors = turn.consecutiveErrors + 1;
  s = withTurn(s, { consecutiveErrors: errors, lastError: message });
  if (errors >= agent.maxErrors) {
    s = emit(s, { type: 'turn_failed', message: `${errors} consecutive invalid decisions; last: ${message}` }, now);
    return finish(agent, s, { reply: FALLBACK_REPLY, fallback: true }, now);
  }
  return nextDecision(agent, s, now);
}

function applyDecision(agent: AgentSnapshot, state: SessionState, raw: unknown, now: string): EngineStep {
  const turn = requireTurn(state);
  const forceRespond = mustRespond(agent, state, turn.iterations, getStep(agent, state.stepId));
  const checked = validateDecision(agent, state.stepId, raw, forceRespond, state.semantics);
  if (!checked.ok) return decisionError(agent, state, checked.message, now);
  const d = checked.decision;
  let s = emit(state, { type: 'decision', iteration: turn.iterations, decision: d as Record<string, unknown> }, now);
  s = withTurn(s, { consecutiveErrors: 0, lastError: undefined });

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

function applyPending(agent: AgentSnapshot, state: SessionState, summary: string, now: string): EngineStep {
  const turn = requireTurn(state);
  const [pending, ...rest] = turn.pending;
  const text = clip(summary, SUMMARY_MAX_CHARS);
  let s = state;
  if (pending.kind === 'exit') {
    s = { ...s, flow: null, memory: addSummary(s.memory, `[flow ${pending.flowId}] ${text}`) };
    s = emit(s, { type: 'flow_exit', flowId: pending.flowId, summary: text }, now);
  } else {
    const trigger: MemoryItem = { seq: s.counters.items, turn: turn.number, role: 'user', text: clip(pending.triggerText ?? '') };
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

// ---------------------------------------------------------------------------------------------------------------
// Approval: a decision's calls wait together until every call needing approval is decided.

/** Pauses the turn when some of `calls` need approval (emitting `approval_requested` for each); else undefined. */
function requestApprovals(agent: AgentSnapshot, state: SessionState, calls: ToolCallRequest[], now: string): EngineStep | undefined {
  const pending: ApprovalWait['pending'] = calls.flatMap((c) => {
    const policy = approvalPolicy(agent, c.stepId, c.tool);
    if (!policy) return [];
    const timeoutAt = policy.timeoutMs !== undefined ? new Date(Date.parse(now) + policy.timeoutMs).toISOString() : undefined;
    return [{ callId: c.callId, tool: c.tool, arguments: c.arguments, requestedAt: now, ...(timeoutAt ? { timeoutAt } : {}), onTimeout: policy.onTimeout }];
  });
  if (pending.length === 0) return undefined;
  let s = state;
  for (const p of pending) {
    s = emit(s, { type: 'approval_requested', callId: p.callId, tool: p.tool, arguments: p.arguments, ...(p.timeoutAt ? { timeoutAt: p.timeoutAt } : {}) }, now);
  }
  const approval: ApprovalWait = { calls: calls.map((c) => ({ callId: c.callId, tool: c.tool, arguments: c.arguments })), pending, decided: [] };
  return awaitApproval(withTurn(s, { approval }));
}

/** The `awaitApproval` command of a paused turn, with the early result its caller gets. */
function awaitApproval(state: SessionState): EngineStep {
  const turn = requireTurn(state);
  const waiting = pendingApprovals(state);
  const names = waiting.map((p) => `${p.tool} (call ${p.callId})`).join(', ');
  const result: TurnResult = {
    messageId: turn.messageId,
    turn: turn.number,
    reply: `Waiting for approval to run ${names}; the reply follows once it is decided.`,
    stepId: state.stepId,
    ...(state.flow ? { flowId: state.flow.flowId } : {}),
    ended: false,
    events: state.events.filter((e) => e.seq >= turn.firstEventSeq),
    pendingApprovals: waiting,
  };
  return { state, command: { type: 'awaitApproval', approvals: turn.approval!.pending, result } };
}

/** The tool error a denied call reports to the model. */
function deniedMessage(tool: string, d: ApprovalDecided): string {
  if (d.timedOut) return `call to ${tool} was not approved in time (denied by its approval timeout)`;
  return `call to ${tool} was denied by ${d.approver ? `approver ${d.approver}` : 'a human approver'}${d.reason ? `: ${d.reason}` : ''}`;
}

function applyApproval(agent: AgentSnapshot, state: SessionState, d: ApprovalDecided, now: string): EngineStep {
  const wait = requireTurn(state).approval;
  const p = wait?.pending.find((x) => x.callId === d.callId);
  if (!wait || !p) throw new Error(`call ${d.callId} is not waiting for approval`);
  let s = emit(
    state,
    {
      type: 'approval_decided',
      callId: d.callId,
      tool: p.tool,
      decision: d.decision,
      ...(d.approver !== undefined ? { approver: d.approver } : {}),
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
      timedOut: d.timedOut,
    },
    now,
  );
  const decided = [...wait.decided, { callId: d.callId, decision: d.decision, ...(d.decision === 'deny' ? { error: deniedMessage(p.tool, d) } : {}) }];
  const pending = wait.pending.filter((x) => x.callId !== d.callId);
  if (pending.length > 0) return awaitApproval(withTurn(s, { approval: { ...wait, pending, decided } }));

  // All decided: denied calls become tool errors now, the others run together.
  const denied = new Map(decided.flatMap((x) => (x.decision === 'deny' ? [[x.callId, x.error ?? 'denied'] as const] : [])));
  s = withTurn(s, { approval: undefined });
  s = recordToolResults(
    agent,
    s,
    wait.calls.flatMap((c) => (denied.has(c.callId) ? [{ callId: c.callId, tool: c.tool, ok: false as const, error: denied.get(c.callId)! }] : [])),
    now,
  );
  const calls: ToolCallRequest[] = wait.calls
    .filter((c) => !denied.has(c.callId))
    .map((c) => ({ sessionId: s.sessionId, agentName: agent.name, stepId: s.stepId, ...c }));
  return calls.length > 0 ? { state: s, command: { type: 'runTools', calls } } : nextDecision(agent, s, now);
}

/** Records tool results and errors as events and memory items. */
function recordToolResults(
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

function finish(
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
