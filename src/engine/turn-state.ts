/**
 * Small transitions of session state shared by the engine's turn logic (./engine.ts): the running turn, events,
 * memory placement, the session's semantics version, and the NOMOS flow transitions at a step.
 *
 * Pure.
 */
import { type AgentSnapshot, type Flow, type MemoryWindowConfig, type Step, flowEnteredAt } from '../config/agent.js';
import { remember } from './memory.js';
import type { FileRef } from './files.js';
import {
  MAX_KEPT_EVENTS,
  type MemoryItem,
  type MemoryState,
  type NewEvent,
  type SessionEvent,
  type SessionState,
  type TurnState,
} from './types.js';

/** The running turn. @throws Error (a programming error, not retryable) when no turn is running. */
export function requireTurn(state: SessionState): TurnState {
  if (!state.turn) throw new Error('no turn is running');
  return state.turn;
}

/** `state` with the running turn's fields in `patch` replaced. @throws Error when no turn is running. */
export function withTurn(state: SessionState, patch: Partial<TurnState>): SessionState {
  return { ...state, turn: { ...requireTurn(state), ...patch } };
}

/** Appends `event` with the next `seq`, the current turn number and timestamp `now` (ISO-8601). */
export function emit(state: SessionState, event: NewEvent, now: string): SessionState {
  const full = { ...event, seq: state.counters.events, turn: state.counters.turns, at: now } as SessionEvent;
  return { ...state, events: [...state.events, full], counters: { ...state.counters, events: state.counters.events + 1 } };
}

/** Keeps only the newest {@link MAX_KEPT_EVENTS} events (older ones live in the archive and history). */
export function trimEvents(state: SessionState): SessionState {
  return state.events.length > MAX_KEPT_EVENTS ? { ...state, events: state.events.slice(-MAX_KEPT_EVENTS) } : state;
}

/** The active flow's config, or undefined outside a flow. */
export function activeFlow(agent: AgentSnapshot, state: SessionState): Flow | undefined {
  return state.flow ? agent.flows.find((f) => f.id === state.flow!.flowId) : undefined;
}

/** Memory window settings in force: the active flow's, else the agent's. */
export function memoryConfig(agent: AgentSnapshot, state: SessionState): MemoryWindowConfig {
  return activeFlow(agent, state)?.memory ?? agent.memory;
}

/** Adds an item (with a user message's `files`, when it has any) to the current memory: the active flow's, else the session's. */
export function rememberItem(agent: AgentSnapshot, state: SessionState, role: MemoryItem['role'], text: string, files?: FileRef[]): SessionState {
  const item: MemoryItem = { seq: state.counters.items, turn: state.counters.turns, role, text, ...(files?.length ? { files } : {}) };
  const counters = { ...state.counters, items: state.counters.items + 1 };
  const max = memoryConfig(agent, state).maxItems;
  if (state.flow) {
    return { ...state, counters, flow: { ...state.flow, memory: remember(state.flow.memory, item, max) } };
  }
  return { ...state, counters, memory: remember(state.memory, item, max) };
}

/** NOMOS rules (semantics ≥ 2) apply to this session. */
export function nomos(state: SessionState): boolean {
  return (state.semantics ?? 1) >= 2;
}

/** NOMOS iteration rules (semantics ≥ 3: `max_iter`, `max_errors`, tool retries, recorded summary failures). */
export function iterationRules(state: SessionState): boolean {
  return (state.semantics ?? 1) >= 3;
}

/**
 * Most decisions a turn asks for at `step`. Semantics ≥ 3 (NOMOS `Session.next`, nomos/core.py): `max_iter` free
 * decisions, then one that may only RESPOND, so `max_iter + 1`. Before: `max_iter`, the last one forced. NOMOS
 * `auto_flow` steps are never forced to RESPOND: the turn ends with the fallback reply after `max_iter`.
 */
export function decisionLimit(agent: AgentSnapshot, state: SessionState, step: Step): number {
  const autoFlow = nomos(state) && step.autoFlow;
  return iterationRules(state) && !autoFlow ? agent.maxIter + 1 : agent.maxIter;
}

/** Whether decision number `iterations` (1-based) of the turn may only RESPOND: the last of {@link decisionLimit}. */
export function mustRespond(agent: AgentSnapshot, state: SessionState, iterations: number, step: Step): boolean {
  return iterations === decisionLimit(agent, state, step) && !(nomos(state) && step.autoFlow);
}

/** The memory the model sees now: the active flow's, else the session's. */
export function currentMemory(state: SessionState): MemoryState {
  return state.flow ? state.flow.memory : state.memory;
}

/**
 * Flow transitions at the current step before a decision, as NOMOS applies them before each of its decisions
 * (`StateMachine.handle_flow_transitions`, nomos/state_machine.py): with no active flow, enter the first flow (config
 * order) listing the step in `enters`; then, if the active flow lists the step in `exits`, exit it. A step that is
 * both an entry and an exit of one flow enters and exits it at once; arriving at a step that exits the active flow
 * and enters another only exits (the other is entered before the next decision at that step).
 */
export function flowTransitions(agent: AgentSnapshot, state: SessionState): TurnState['pending'] {
  const pending: TurnState['pending'] = [];
  let active = state.flow?.flowId;
  const entering = active ? undefined : flowEnteredAt(agent, state.stepId);
  if (entering) {
    pending.push({ kind: 'enter', flowId: entering.id, triggerText: requireTurn(state).userText });
    active = entering.id;
  }
  const flow = agent.flows.find((f) => f.id === active);
  if (flow && flow.exits.includes(state.stepId)) pending.push({ kind: 'exit', flowId: flow.id });
  return pending;
}
