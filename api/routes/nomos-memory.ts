/**
 * Stepwise turns as NOMOS memory: the session memory (`session_data.history`, and the events of
 * `GET /session/{id}/history`) and the open flow's memory (`session_data.flow_state.flow_memory_context`), in NOMOS's
 * item shapes and order (`Event`, `StepIdentifier`, `Summary` of nomos/models/agent.py; `FlowContext` of
 * nomos/models/flow.py). Pure: reads turn events only.
 *
 * Walking the events in order, each item goes to the open flow's memory when a flow is open, else to session memory:
 * - `user_message` → `{type: "user"}`; a reply (not a fallback) → an event typed with the agent's name (NOMOS types
 *   replies so); a tool result → `{type: "tool"}` worded as NOMOS words it
 *   (`Tool x executed successfully with args {...}.\nResults: ...`, arguments and non-string results as JSON);
 * - `step_change` → a `{step_id}` marker (NOMOS records the step it moved to);
 * - `flow_enter` → a new flow memory: the summary of the preceding context (`{summary: [...]}`) and the message that
 *   triggered the entry, as Stepwise's engine seeds it (`applyPending` in src/engine/turn.ts);
 * - `flow_exit` → the flow's summary joins session memory as `{summary: [...]}`; the flow memory is gone;
 * - END (`session_ended`, `end_action`) → `{type: "end"}` in session memory; an open flow is dropped (NOMOS cleans
 *   it up without a summary).
 * Errors, fallbacks and decisions are not memory items here. Summary text is split into NOMOS's list: one item per
 * line, a leading `- ` removed, empty lines dropped.
 */
import type { TurnResult } from '../../src/engine/types.js';
import { decisionOf, type NomosDecision } from './nomos-shapes.js';

/** An event item (`Event`); `decision` is set on replies and END, for the history route only. */
export interface NomosMemoryEvent {
  timestamp: string;
  type: string;
  content: string;
  decision: NomosDecision | null;
}
/** One NOMOS memory item: an event, a step marker (`StepIdentifier`) or a summary (`Summary`). */
export type NomosMemoryItem = NomosMemoryEvent | { step_id: string } | { summary: string[] };

/** NOMOS session memory and the open flow (with the step it was entered at, NOMOS `FlowContext.entry_step`). */
export interface NomosMemory {
  session: NomosMemoryItem[];
  flow: { flowId: string; entryStep: string; items: NomosMemoryItem[] } | null;
}

/** The tool event text NOMOS writes (`Tool x executed successfully with args {...}.\nResults: ...`). */
export function nomosToolText(tool: string, args: unknown, result: unknown): string {
  const results = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
  return `Tool ${tool} executed successfully with args ${JSON.stringify(args ?? {})}.\nResults: ${results}`;
}

/** A summary's text as NOMOS's `Summary.summary` list (one item per non-empty line, leading `- ` removed). */
export function summaryItems(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/^\s*-\s+/, '').trim())
    .filter(Boolean);
}

/**
 * NOMOS memory of a session from its turns, oldest first (see the module comment). `startStepId` is the step before
 * the first turn (the agent's start step). `current` (where the session is now: the newest turn's result or the live
 * state, when known) decides the open flow: its `flowId` wins over what the turns say, since turns may be only the
 * newest ones a run still holds.
 */
export function nomosMemoryOf(
  agentName: string,
  startStepId: string,
  turns: TurnResult[],
  current?: { stepId: string; flowId?: string },
): NomosMemory {
  const session: NomosMemoryItem[] = [];
  let flow: NomosMemory['flow'] = null;
  let step = startStepId;
  const args = new Map<string, unknown>();
  for (const turn of turns) {
    let lastUser: NomosMemoryEvent | undefined;
    for (const e of turn.events) {
      const into = flow ? flow.items : session;
      if (e.type === 'user_message') {
        lastUser = { timestamp: e.at, type: 'user', content: e.text, decision: null };
        into.push(lastUser);
      } else if (e.type === 'tool_call') args.set(e.callId, e.arguments);
      else if (e.type === 'tool_result') {
        into.push({ timestamp: e.at, type: 'tool', content: nomosToolText(e.tool, args.get(e.callId), e.result), decision: null });
      } else if (e.type === 'reply' && !e.fallback && e.text) {
        into.push({ timestamp: e.at, type: agentName, content: e.text, decision: decisionOf(turn) });
      } else if (e.type === 'step_change') {
        step = e.to;
        into.push({ step_id: e.to });
      } else if (e.type === 'flow_enter') {
        const items: NomosMemoryItem[] = [];
        const summary = summaryItems(e.summary);
        if (summary.length > 0) items.push({ summary });
        if (lastUser) items.push({ ...lastUser });
        flow = { flowId: e.flowId, entryStep: step, items };
      } else if (e.type === 'flow_exit') {
        flow = null;
        const summary = summaryItems(e.summary);
        if (summary.length > 0) session.push({ summary });
      } else if (e.type === 'session_ended' && e.reason === 'end_action') {
        flow = null;
        session.push({ timestamp: e.at, type: 'end', content: 'Session ended.', decision: decisionOf(turn) });
      }
    }
  }
  if (current) {
    if (!current.flowId) flow = null;
    else if (flow?.flowId !== current.flowId) flow = { flowId: current.flowId, entryStep: current.stepId, items: [] };
  }
  return { session, flow };
}

/** Events of a memory (summaries and step markers left out), decisions kept: `GET /session/{id}/history`. */
export function eventsOf(items: NomosMemoryItem[]): NomosMemoryEvent[] {
  return items.filter((i): i is NomosMemoryEvent => 'type' in i);
}

/**
 * Items as `session_data` carries them: decisions stripped (NOMOS's client serialises state with a JSON encoder
 * that knows only datetimes; a decision's `Action` enum would break its next `/chat`).
 */
export function stateItemsOf(items: NomosMemoryItem[]): Array<Omit<NomosMemoryEvent, 'decision'> | { step_id: string } | { summary: string[] }> {
  return items.map((i) => ('type' in i ? { timestamp: i.timestamp, type: i.type, content: i.content } : i));
}
