/**
 * NOMOS client-held state (`session_data` of `POST /chat`) as a Stepwise session seed (`src/engine/seed.ts`), for a
 * session Stepwise does not have. Mapping, read from NOMOS's source (`Agent.get_session_from_dict` and
 * `Session.to_dict` in nomos/core.py, `history_to_types` and `State` in nomos/models/agent.py,
 * `StateMachine.load_state` in nomos/state_machine.py):
 *
 * - `state` (NOMOS's legacy form), when a non-empty object, is read instead of the top-level fields below.
 * - `current_step_id` → the session's step (absent or null: the agent's start step). Unknown → 400.
 * - `history` (NOMOS session memory) → session memory; `flow_state.flow_memory_context` → the active flow's memory.
 *   Per item: an event's `type` / a message's `role` `user` → user message; `tool` → tool result (NOMOS's text, e.g.
 *   `Tool x executed successfully with args {...}.\nResults: ...`, kept verbatim); `error` and `fallback` → engine
 *   notes; `end` → dropped (a marker, not something said); any other type is the agent's reply (NOMOS types replies
 *   with the agent's name). Summaries (`{summary: [...]}`, NOMOS's markdown list joined as `- item` lines) → the
 *   memory's summaries. Step identifiers → dropped (Stepwise keeps the step, not a trail of them). Empty texts → dropped.
 * - `flow_state.flow_id` → the active flow (unknown → 400); `flow_context` is not used (NOMOS's own bookkeeping).
 * Bounded with `boundSeed`: the newest items within the memory's `maxItems` and byte budget, each clipped to 4,000
 * characters, the newest 5 summaries, the whole seed within `MAX_SEED_BYTES` (512 KiB) of JSON.
 */
import type { AgentSnapshot } from '../../src/config/agent.js';
import { boundSeed, type SeedItem, type SeedMemory, SESSION_SEED_VERSION, type SessionSeed, seedProblems } from '../../src/engine/seed.js';
import { CallerError } from '../../src/errors.js';
import type { NomosHistoryItem, NomosSessionData } from './nomos-shapes.js';

/** A NOMOS event type / message role as a Stepwise memory item, or `undefined` for items that are not seeded. */
function seedItem(kind: string, content: string): SeedItem | undefined {
  if (!content.trim() || kind === 'end') return undefined;
  if (kind === 'user' || kind === 'tool') return { role: kind, text: content };
  if (kind === 'error' || kind === 'fallback') return { role: 'note', text: `${kind}: ${content}` };
  return { role: 'assistant', text: content };
}

/** NOMOS memory context (history or flow memory) as a seeded memory, in the client's order. */
function seedMemoryOf(context: NomosHistoryItem[] = []): SeedMemory {
  const memory: SeedMemory = { summaries: [], items: [] };
  for (const entry of context) {
    if ('summary' in entry) {
      const text = typeof entry.summary === 'string' ? entry.summary : entry.summary.filter((s) => s.trim()).map((s) => `- ${s}`).join('\n');
      if (text.trim()) memory.summaries.push(text);
    } else if ('content' in entry) {
      const item = seedItem('type' in entry ? entry.type : entry.role, entry.content);
      if (item) memory.items.push(item);
    }
  }
  return memory;
}

/**
 * The seed of a new session of `agent` from a NOMOS client's `session_data`, bounded (see the module comment).
 * @throws CallerError INVALID_REQUEST (400) for an unknown step or flow, naming it, with `details.issues` paths in
 *   the request (`body.session_data.current_step_id`, `body.session_data.flow_state.flow_id`). Not retryable.
 */
export function seedFromNomos(agent: AgentSnapshot, sessionData: NomosSessionData): SessionSeed {
  // NOMOS reads a non-empty legacy `state` object instead of the top-level fields.
  const data = sessionData.state && Object.keys(sessionData.state).length > 0 ? sessionData.state : sessionData;
  const flow = data.flow_state;
  const seed: SessionSeed = {
    schemaVersion: SESSION_SEED_VERSION,
    stepId: data.current_step_id ?? agent.startStepId,
    memory: seedMemoryOf(data.history),
    ...(flow ? { flow: { flowId: flow.flow_id, memory: seedMemoryOf(flow.flow_memory_context) } } : {}),
  };
  const problems = seedProblems(agent, seed);
  if (problems.length > 0) {
    const issues = problems.map((p) => ({
      path: p.path === 'stepId' ? 'body.session_data.current_step_id' : 'body.session_data.flow_state.flow_id',
      message: p.message,
    }));
    throw new CallerError('INVALID_REQUEST', `session_data does not fit agent ${agent.name}: ${problems.map((p) => p.message).join('; ')}`, { issues });
  }
  return boundSeed(agent, seed);
}
