/**
 * Session seeds: a new session that starts from state a client held, instead of from the agent's start step with
 * empty memory (NOMOS's stateless `POST /chat`, whose client sends back `session_data` — current step, history, flow
 * state — with every input). The seed is part of the session workflow's *input* for new sessions only; the engine
 * applies it once, in {@link seededState}, and the session then lives on like any other.
 *
 * Versioned like other long-lived data (it stays in the workflow's first history event): loading is parse -> version
 * check -> schema parse ({@link loadSessionSeed}).
 * - 1: first release — step, session memory (summaries, items), optional active flow with its memory
 *   (fixture: test/fixtures/seed/v1-session-seed.json).
 *
 * Pure.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import type { AgentSnapshot, MemoryWindowConfig } from '../config/agent.js';
import { initialState } from './engine.js';
import { addSummary, emptyMemory, remember } from './memory.js';
import { jsonBytes, StateVersionError } from './state.js';
import { ENGINE_SEMANTICS, type MemoryState, MemoryRole, type SessionState } from './types.js';

/** Current seed version. */
export const SESSION_SEED_VERSION = 1;

/** One remembered item of a seed: who said it (`user`, `assistant`, `tool`, `note`) and what. */
export const SeedItem = lazySchema(() => z.object({ role: MemoryRole, text: z.string() }));
export type SeedItem = z.infer<typeof SeedItem>;

/** A seeded memory: summaries and items, oldest first. */
export const SeedMemory = lazySchema(() => z.object({ summaries: z.array(z.string()), items: z.array(SeedItem) }));
export type SeedMemory = z.infer<typeof SeedMemory>;

/**
 * State a new session starts from: the current step, the session memory, and the active flow with its flow memory
 * (absent: no flow is active; a flow the step enters is then entered before the first decision, as in any session).
 * Apply {@link boundSeed} before a seed goes into workflow input: it keeps what the session's memory limits keep.
 */
export const SessionSeed = lazySchema(() => z.object({
  schemaVersion: z.literal(SESSION_SEED_VERSION),
  stepId: z.string().min(1),
  memory: SeedMemory,
  flow: z.object({ flowId: z.string().min(1), memory: SeedMemory }).optional(),
}));
export type SessionSeed = z.infer<typeof SessionSeed>;

/**
 * Reads a seed of any known version. @throws StateVersionError (not retryable) for a missing, unknown or future
 * `schemaVersion` or a body that fails the schema (the message names the first failing paths).
 */
export function loadSessionSeed(raw: unknown): SessionSeed {
  const version = z.object({ schemaVersion: z.number().int() }).safeParse(raw);
  if (!version.success) throw new StateVersionError('session seed has no numeric schemaVersion');
  const v = version.data.schemaVersion;
  if (v !== SESSION_SEED_VERSION) {
    throw new StateVersionError(`session seed has schemaVersion ${v}; this worker understands ${SESSION_SEED_VERSION}`);
  }
  const parsed = SessionSeed.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new StateVersionError(`session seed is invalid: ${where}`);
  }
  return parsed.data;
}

/** A problem of a seed against its agent: what is wrong, and where (`stepId` or `flow.flowId`). */
export interface SeedProblem {
  path: 'stepId' | 'flow.flowId';
  message: string;
}

/** What makes `seed` unusable for `agent` (an unknown step or flow); empty when it is fine. */
export function seedProblems(agent: AgentSnapshot, seed: SessionSeed): SeedProblem[] {
  const problems: SeedProblem[] = [];
  if (!agent.steps.some((s) => s.id === seed.stepId)) {
    problems.push({ path: 'stepId', message: `unknown step "${seed.stepId}" (agent ${agent.name} has: ${agent.steps.map((s) => s.id).join(', ')})` });
  }
  if (seed.flow && !agent.flows.some((f) => f.id === seed.flow!.flowId)) {
    const known = agent.flows.map((f) => f.id);
    problems.push({ path: 'flow.flowId', message: `unknown flow "${seed.flow.flowId}" (agent ${agent.name} has: ${known.length ? known.join(', ') : 'no flows'})` });
  }
  return problems;
}

/**
 * The memory a seed becomes under `config`: summaries through `addSummary` (newest MAX_SUMMARIES kept, each
 * clipped to MAX_ITEM_CHARS), items through `remember` (each clipped to MAX_ITEM_CHARS; the oldest dropped beyond
 * `config.maxItems` items or MAX_MEMORY_BYTES of text) — exactly what a live session keeps. Items are numbered from
 * `firstSeq`, all in turn 0 (before the session's first turn).
 */
function seedMemory(seed: SeedMemory, config: MemoryWindowConfig, firstSeq: number): MemoryState {
  let memory = emptyMemory();
  for (const summary of seed.summaries) memory = addSummary(memory, summary);
  seed.items.forEach((item, i) => {
    memory = remember(memory, { seq: firstSeq + i, turn: 0, role: item.role, text: item.text }, config.maxItems);
  });
  return memory;
}

/** Memory window settings of the seed's flow (the agent's when it names none or an unknown one). */
function flowConfig(agent: AgentSnapshot, seed: SessionSeed): MemoryWindowConfig {
  return agent.flows.find((f) => f.id === seed.flow?.flowId)?.memory ?? agent.memory;
}

/**
 * Largest bounded seed, in UTF-8 bytes of its JSON: 512 KiB, half of MAX_STATE_BYTES (the state it becomes must fit
 * there with room for turns), so the workflow input that carries it with the agent config stays well under Temporal's
 * 2 MiB payload limit (https://docs.temporal.io/workflows#limits) even for texts that grow when escaped in JSON.
 */
export const MAX_SEED_BYTES = 512 * 1024;

/**
 * `seed` cut to what a session of `agent` keeps (see {@link seededState}): the newest summaries and items within the
 * memory limits, texts clipped; then, while its JSON is over {@link MAX_SEED_BYTES}, the oldest items dropped (session
 * memory first). Hosts apply it before the seed enters workflow input, so that input stays bounded whatever the
 * client sent.
 */
export function boundSeed(agent: AgentSnapshot, seed: SessionSeed): SessionSeed {
  const keep = (memory: MemoryState): SeedMemory => ({ summaries: memory.summaries, items: memory.items.map(({ role, text }) => ({ role, text })) });
  const out: SessionSeed = {
    ...seed,
    memory: keep(seedMemory(seed.memory, agent.memory, 0)),
    ...(seed.flow ? { flow: { flowId: seed.flow.flowId, memory: keep(seedMemory(seed.flow.memory, flowConfig(agent, seed), 0)) } } : {}),
  };
  let bytes = jsonBytes(out);
  for (const memory of [out.memory, out.flow?.memory]) {
    while (memory && memory.items.length > 0 && bytes > MAX_SEED_BYTES) bytes -= jsonBytes(memory.items.shift()) + 1; // + its comma
  }
  return out;
}

/**
 * The state of a new session started from `seed`: {@link initialState} (engine `semantics`, default the current
 * {@link ENGINE_SEMANTICS}; `embeddings` as there) placed at the seed's step, with its session memory and, when given, its active flow
 * (entered at turn 0) and flow memory, bounded by {@link boundSeed} (items numbered from 0 in that order, all in turn
 * 0). No events: the seed is in the workflow input.
 *
 * @throws Error naming the problem when the seed does not fit the agent ({@link seedProblems}; hosts check first and
 *   refuse such seeds, so this is a host bug, not retryable).
 */
export function seededState(
  agent: AgentSnapshot,
  sessionId: string,
  now: string,
  seed: SessionSeed,
  semantics = ENGINE_SEMANTICS,
  embeddings = true,
): SessionState {
  const problems = seedProblems(agent, seed);
  if (problems.length > 0) throw new Error(`session seed does not fit agent ${agent.name}: ${problems.map((p) => p.message).join('; ')}`);
  const bounded = boundSeed(agent, seed);
  const base = initialState(agent, sessionId, now, semantics, embeddings);
  const memory = seedMemory(bounded.memory, agent.memory, 0);
  const flowItemsFrom = bounded.memory.items.length;
  const flow = bounded.flow ? { flowId: bounded.flow.flowId, enteredAtTurn: 0, memory: seedMemory(bounded.flow.memory, flowConfig(agent, seed), flowItemsFrom) } : null;
  return {
    ...base,
    stepId: seed.stepId,
    memory,
    flow,
    counters: { ...base.counters, items: flowItemsFrom + (bounded.flow?.memory.items.length ?? 0) },
  };
}
