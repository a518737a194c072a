import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY } from '../../src/config/agent.js';
import { runTurn } from '../../src/engine/driver.js';
import { initialState } from '../../src/engine/engine.js';
import { addSummary, emptyMemory, memoryWindow, remember, retrieve } from '../../src/engine/memory.js';
import { loadSessionState, StateVersionError } from '../../src/engine/state.js';
import { MAX_SUMMARIES, type MemoryItem, SessionState } from '../../src/engine/types.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

const item = (seq: number, text: string, role: MemoryItem['role'] = 'user'): MemoryItem => ({ seq, turn: seq, role, text });

describe('memory window', () => {
  it('keeps at most maxItems items and MAX_SUMMARIES summaries', () => {
    let m = emptyMemory();
    for (let i = 0; i < 50; i++) m = remember(m, item(i, `message ${i}`), 20);
    for (let i = 0; i < 9; i++) m = addSummary(m, `summary ${i}`);
    expect(m.items).toHaveLength(20);
    expect(m.items[0].seq).toBe(30);
    expect(m.summaries).toHaveLength(MAX_SUMMARIES);
    expect(m.summaries.at(-1)).toBe('summary 8');
  });

  it('shows the newest items within the item and character budgets, oldest first', () => {
    let m = emptyMemory();
    for (let i = 0; i < 30; i++) m = remember(m, item(i, 'x'.repeat(100)), 200);
    const byCount = memoryWindow(m, { ...DEFAULT_MEMORY, recentItems: 5, retrieveK: 0 }, '');
    expect(byCount.recent.map((i) => i.seq)).toEqual([25, 26, 27, 28, 29]);
    const byChars = memoryWindow(m, { ...DEFAULT_MEMORY, recentItems: 50, recentChars: 350, retrieveK: 0 }, '');
    expect(byChars.recent.map((i) => i.seq)).toEqual([27, 28, 29]);
  });

  it('always shows the newest item even if it alone exceeds the character budget', () => {
    const m = remember(emptyMemory(), item(0, 'y'.repeat(3000)), 10);
    expect(memoryWindow(m, { ...DEFAULT_MEMORY, recentChars: 200 }, '').recent).toHaveLength(1);
  });

  it('BM25 retrieval picks the relevant older item, not the newest ones', () => {
    const older = [
      item(0, 'I would like to know the store opening hours'),
      item(1, 'My loyalty card number is 55501 and my name is Dana'),
      item(2, 'Do you sell croissants or other pastries?'),
      item(3, 'The weather is nice today'),
    ];
    expect(retrieve(older, 'what was my loyalty card number?', 1).map((i) => i.seq)).toEqual([1]);
    expect(retrieve(older, 'pastries', 2).map((i) => i.seq)).toEqual([2]);
    expect(retrieve(older, '', 2)).toEqual([]);
    expect(retrieve(older, 'zebra', 2)).toEqual([]);
  });

  it('the window retrieves only from items outside the recent window', () => {
    let m = emptyMemory();
    m = remember(m, item(0, 'my loyalty card number is 55501'), 100);
    for (let i = 1; i <= 20; i++) m = remember(m, item(i, `chatter ${i}`), 100);
    const w = memoryWindow(m, { ...DEFAULT_MEMORY, recentItems: 5, retrieveK: 2 }, 'loyalty card');
    expect(w.retrieved.map((i) => i.seq)).toEqual([0]);
    expect(w.recent.map((i) => i.seq)).toEqual([16, 17, 18, 19, 20]);
  });

  it('the prompt stays bounded as the conversation grows', async () => {
    const agent = testAgent({ flows: [] });
    const script = Array.from({ length: 300 }, (_, i) => ({ action: 'RESPOND', response: `reply ${i} ${'z'.repeat(200)}` }));
    const exec = scriptedExecutors(script);
    let state = initialState(agent, 's', 'T');
    for (let i = 0; i < 300; i++) {
      ({ state } = await runTurn(agent, state, { messageId: `m${i}`, text: `message ${i} ${'w'.repeat(200)}` }, exec));
    }
    const sizes = exec.decideRequests.map((r) => JSON.stringify(r).length);
    expect(Math.max(...sizes.slice(200))).toBeLessThanOrEqual(Math.max(...sizes.slice(0, 100)) * 1.2);
    expect(JSON.stringify(state).length).toBeLessThan(600_000);
    expect(state.memory.items.length).toBe(agent.memory.maxItems);
  });
});

describe('session state (continue-as-new payload)', () => {
  it('round-trips through JSON with its schema version', async () => {
    const agent = testAgent();
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, { action: 'RESPOND', response: 'ok' }]);
    const { state } = await runTurn(agent, initialState(agent, 's', 'T'), { messageId: 'm', text: 'order' }, exec);
    const copy = loadSessionState(JSON.parse(JSON.stringify(state)));
    expect(copy).toEqual(SessionState.parse(state));
    expect(copy.schemaVersion).toBe(2);
    expect(copy.flow?.flowId).toBe('ordering');
  });

  it('rejects state without a version, with an unknown version, or from a newer worker, with clear errors', () => {
    const state = initialState(testAgent(), 's', 'T');
    expect(() => loadSessionState({ ...state, schemaVersion: undefined })).toThrow(/no numeric schemaVersion/);
    expect(() => loadSessionState({ ...state, schemaVersion: 0 })).toThrow(/unknown schemaVersion 0/);
    expect(() => loadSessionState({ ...state, schemaVersion: 3 })).toThrow(/newer than this worker understands/);
    expect(() => loadSessionState({ ...state, stepId: 42 })).toThrow(StateVersionError);
  });
});

describe('carried state fixtures (one per released schema version)', () => {
  it('v1 fixture still loads and resumes', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const raw = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'state', 'v1-session-state.json'), 'utf8'));
    const state = loadSessionState(raw);
    expect(raw.schemaVersion).toBe(1);
    expect(state).toMatchObject({ schemaVersion: 2, stepId: 'order', flow: { flowId: 'ordering' } }); // read as version 2
    const agent = testAgent();
    const exec = scriptedExecutors([], {});
    exec.decide = async () => ({ type: 'decided', decision: { action: 'RESPOND', response: 'resumed' } });
    const { result } = await runTurn(agent, state, { messageId: 'm3', text: 'and a muffin' }, exec);
    expect(result).toMatchObject({ reply: 'resumed', turn: 3, stepId: 'order', flowId: 'ordering' });
  });
});
