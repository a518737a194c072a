/**
 * Session seeds (src/engine/seed.ts): a new session starting from client-held state — versioned loading, checks
 * against the agent, bounding to what memory keeps, the seeded state, a first turn on it, and the JSON round trip of
 * the workflow input that carries a seed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY } from '../../src/config/agent.js';
import { runTurn } from '../../src/engine/driver.js';
import { boundSeed, loadSessionSeed, MAX_SEED_BYTES, SESSION_SEED_VERSION, type SessionSeed, SessionSeed as SessionSeedSchema, seededState, seedProblems } from '../../src/engine/seed.js';
import { jsonBytes, StateVersionError } from '../../src/engine/state.js';
import { ENGINE_SEMANTICS, MAX_ITEM_CHARS, SessionState } from '../../src/engine/types.js';
import { SessionWorkflowInput } from '../../workflows/shared.js';
import { flow, testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

const NOW = '2026-01-01T00:00:00.000Z';

const SEED: SessionSeed = {
  schemaVersion: SESSION_SEED_VERSION,
  stepId: 'order',
  memory: { summaries: ['- Ada likes oat milk'], items: [{ role: 'user', text: 'hi' }, { role: 'assistant', text: 'hello' }] },
  flow: { flowId: 'ordering', memory: { summaries: [], items: [{ role: 'user', text: 'two lattes' }, { role: 'tool', text: 'add_item -> ok' }] } },
};

describe('session seeds', () => {
  it('load by version: the current one parses, others and broken bodies fail with StateVersionError', () => {
    expect(loadSessionSeed(JSON.parse(JSON.stringify(SEED)))).toEqual(SEED);
    expect(() => loadSessionSeed({ ...SEED, schemaVersion: 2 })).toThrow(/schemaVersion 2/);
    expect(() => loadSessionSeed({ stepId: 'order' })).toThrow(StateVersionError);
    expect(() => loadSessionSeed({ ...SEED, memory: { items: [{ role: 'robot', text: 'x' }] } })).toThrow(/session seed is invalid: memory/);
  });

  it('loads the committed fixture of every released seed version (test/fixtures/seed/)', () => {
    const v1 = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'seed', 'v1-session-seed.json'), 'utf8'));
    const seed = loadSessionSeed(v1);
    expect(seed).toMatchObject({ schemaVersion: 1, stepId: 'order', flow: { flowId: 'ordering' } });
    expect(seededState(testAgent(), 's', NOW, seed)).toMatchObject({ stepId: 'order', flow: { flowId: 'ordering' }, counters: { items: 5 } });
  });

  it('names an unknown step or flow', () => {
    const agent = testAgent();
    expect(seedProblems(agent, SEED)).toEqual([]);
    expect(seedProblems(agent, { ...SEED, stepId: 'pay', flow: { flowId: 'billing', memory: { summaries: [], items: [] } } })).toEqual([
      { path: 'stepId', message: 'unknown step "pay" (agent test-agent has: greet, order, checkout, done)' },
      { path: 'flow.flowId', message: 'unknown flow "billing" (agent test-agent has: ordering)' },
    ]);
    expect(() => seededState(agent, 's', NOW, { ...SEED, stepId: 'pay' })).toThrow(/unknown step "pay"/);
  });

  it('builds the state of a new session at the seeded step, with its memories and active flow', () => {
    const state = seededState(testAgent(), 's1', NOW, SEED);
    expect(SessionState.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
    expect(state).toMatchObject({
      semantics: ENGINE_SEMANTICS,
      sessionId: 's1',
      stepId: 'order',
      status: 'active',
      turn: null,
      events: [],
      memory: { summaries: ['- Ada likes oat milk'], items: [{ seq: 0, turn: 0, role: 'user', text: 'hi' }, { seq: 1, turn: 0, role: 'assistant', text: 'hello' }] },
      flow: { flowId: 'ordering', enteredAtTurn: 0, memory: { summaries: [], items: [{ seq: 2, role: 'user' }, { seq: 3, role: 'tool' }] } },
    });
    expect(state.counters).toEqual({ turns: 0, decisions: 0, events: 0, items: 4, toolCalls: 0 });
    expect(seededState(testAgent(), 's1', NOW, { ...SEED, flow: undefined }).flow).toBeNull();
  });

  it('keeps what memory keeps: newest items within maxItems (per memory), clipped texts, newest 5 summaries', () => {
    const agent = testAgent({ memory: { ...DEFAULT_MEMORY, maxItems: 3 }, flows: [flow('ordering', ['order'], ['checkout'], { memory: { ...DEFAULT_MEMORY, maxItems: 1 } })] });
    const items = Array.from({ length: 10 }, (_, i) => ({ role: 'user' as const, text: i === 9 ? 'z'.repeat(10_000) : `m${i}` }));
    const big: SessionSeed = {
      ...SEED,
      memory: { summaries: Array.from({ length: 8 }, (_, i) => `s${i}`), items },
      flow: { flowId: 'ordering', memory: { summaries: [], items } },
    };
    const bounded = boundSeed(agent, big);
    expect(bounded.memory.summaries).toEqual(['s3', 's4', 's5', 's6', 's7']);
    expect(bounded.memory.items.map((i) => i.text.slice(0, 3))).toEqual(['m7', 'm8', 'zzz']);
    expect(bounded.memory.items[2].text).toHaveLength(MAX_ITEM_CHARS);
    expect(bounded.flow!.memory.items).toHaveLength(1);
    // Bounding is what the state keeps anyway: the state of the bounded seed equals the state of the whole one.
    const whole = seededState(agent, 's', NOW, big);
    expect(whole.memory.items.map((i) => i.text)).toEqual(bounded.memory.items.map((i) => i.text));
    expect(whole.flow!.memory.items.map((i) => i.text)).toEqual(bounded.flow!.memory.items.map((i) => i.text));
  });

  it('keeps the whole seed within MAX_SEED_BYTES of JSON, dropping the oldest items, even for texts that grow when escaped', () => {
    const agent = testAgent();
    // Control characters take 6 bytes each in JSON (`\u0001`): 256 KiB of text would be 1.5 MiB of JSON.
    const items = Array.from({ length: 200 }, (_, i) => ({ role: 'user' as const, text: `${i}:${'\u0001'.repeat(3_990)}` }));
    const bounded = boundSeed(agent, { ...SEED, memory: { summaries: [], items }, flow: undefined });
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(MAX_SEED_BYTES);
    expect(jsonBytes(bounded)).toBeGreaterThan(MAX_SEED_BYTES - 30_000);
    expect(bounded.memory.items.at(-1)!.text.startsWith('199:')).toBe(true);
    const first = Number(bounded.memory.items[0]!.text.split(':')[0]);
    expect(bounded.memory.items.map((i) => Number(i.text.split(':')[0]))).toEqual(Array.from({ length: 200 - first }, (_, i) => first + i));
    expect(seededState(agent, 's', NOW, { ...SEED, memory: { summaries: [], items }, flow: undefined }).memory.items).toHaveLength(bounded.memory.items.length);
  });

  it('a first turn on a seeded state sees the seeded flow memory and continues its counters', async () => {
    const agent = testAgent();
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'Two lattes and a muffin.' }]);
    const { state, result } = await runTurn(agent, seededState(agent, 's', NOW, SEED), { messageId: 'm1', text: 'and a muffin' }, exec);
    expect(result).toMatchObject({ turn: 1, stepId: 'order', flowId: 'ordering', reply: 'Two lattes and a muffin.' });
    expect(exec.decideRequests[0].messages.slice(1).map((m) => m.content)).toEqual(['two lattes', '[tool] add_item -> ok', 'and a muffin']);
    expect(state.flow!.memory.items.map((i) => i.seq)).toEqual([2, 3, 4, 5]);
  });

  it('rides in the workflow input and survives JSON', () => {
    const input = { sessionId: 's', agent: testAgent(), firstMessage: true, seed: SEED };
    const parsed = SessionWorkflowInput.parse(input);
    expect(SessionWorkflowInput.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
    expect(SessionSeedSchema.safeParse({ ...SEED, stepId: '' }).success).toBe(false);
  });
});
