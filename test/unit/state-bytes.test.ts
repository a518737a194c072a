/**
 * Carried state is bounded in bytes, not only in count: big fields of kept events and results are clipped after their
 * turn (the turn's own result stays whole), memory is capped in bytes, and the whole state stays within
 * MAX_STATE_BYTES however big the tool outputs are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTurn } from '../../src/engine/driver.js';
import { endSession, initialState } from '../../src/engine/engine.js';
import { emptyMemory, remember, utf8Bytes } from '../../src/engine/memory.js';
import { boundStateBytes, clipEvent, clipText, clipValue, jsonBytes, loadSessionState } from '../../src/engine/state.js';
import {
  ClippedValue,
  MAX_ITEM_CHARS,
  MAX_KEPT_EVENTS,
  MAX_KEPT_FIELD_BYTES,
  MAX_MEMORY_BYTES,
  MAX_STATE_BYTES,
  type MemoryItem,
  type SessionEvent,
  type SessionState,
} from '../../src/engine/types.js';
import { step, testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

/** One step with one tool, `big`, no flows. */
const agent = testAgent({
  flows: [],
  steps: [step('greet', { tools: ['big'] })],
  tools: [{ name: 'big', description: 'A big output', parameters: { type: 'object', properties: {} } }],
});

/** Per turn: call `big` once, then reply `ok <i>`. */
const bigScript = (turns: number) =>
  Array.from({ length: turns }, (_, i) => [
    { action: 'TOOL_CALL', tool_calls: [{ tool: 'big', arguments: {} }] },
    { action: 'RESPOND', response: `ok ${i}` },
  ]).flat();

const stateBytes = (s: SessionState) => utf8Bytes(JSON.stringify(s));
const toolResults = (events: SessionEvent[]) => events.flatMap((e) => (e.type === 'tool_result' ? [e.result] : []));

describe('clipping fields kept in state', () => {
  it('keeps small values as they are (the same object), and clipping is idempotent', () => {
    const small = { a: 1, b: 'two' };
    expect(clipValue(small)).toBe(small);
    expect(clipText('hello')).toBe('hello');
    const clipped = clipValue('z'.repeat(50_000));
    expect(clipValue(clipped)).toBe(clipped);
    const text = clipText('z'.repeat(50_000));
    expect(clipText(text)).toBe(text);
  });

  it('replaces a big non-text value by a ClippedValue with its JSON size and a preview', () => {
    const value = { rows: Array.from({ length: 5_000 }, (_, i) => ({ i, name: `row ${i}` })) };
    const clipped = ClippedValue.parse(clipValue(value));
    expect(clipped.bytes).toBe(Buffer.byteLength(JSON.stringify(value)));
    expect(clipped.preview.startsWith('{"rows":[{"i":0,"name":"row 0"}')).toBe(true);
    expect(clipped.preview.endsWith('…')).toBe(true);
    expect(jsonBytes(clipped)).toBeLessThanOrEqual(MAX_KEPT_FIELD_BYTES);
  });

  it('cuts big text to fit the budget in UTF-8 bytes, ending in a marker with the original size', () => {
    for (const unit of ['a', 'é', '€', '😀', '\u0001']) {
      const text = unit.repeat(20_000);
      const out = clipText(text);
      expect(Buffer.byteLength(JSON.stringify(out)), JSON.stringify(unit)).toBeLessThanOrEqual(MAX_KEPT_FIELD_BYTES);
      expect(Buffer.byteLength(JSON.stringify(out))).toBeGreaterThan(MAX_KEPT_FIELD_BYTES / 2);
      expect(out.endsWith(`… [clipped: ${Buffer.byteLength(JSON.stringify(text))} bytes]`)).toBe(true);
      expect(text.startsWith(out.slice(0, 100))).toBe(true);
    }
  });

  it('utf8Bytes agrees with Buffer.byteLength', () => {
    for (const text of ['', 'plain', 'café', '€uro', '😀 emoji', 'mixed ✓ 漢字 😀 x']) {
      expect(utf8Bytes(text)).toBe(Buffer.byteLength(text));
    }
  });

  it('clips the free-size fields of every event type and keeps ids, types and order fields', () => {
    const big = 'q'.repeat(20_000);
    const base = { seq: 1, turn: 1, at: 'T' };
    const decision = clipEvent({ ...base, type: 'decision', iteration: 1, decision: { action: 'RESPOND', response: big } });
    expect(decision).toMatchObject({ type: 'decision', iteration: 1, decision: { action: 'RESPOND', response: { clipped: true, bytes: 20_002 } } });
    expect(clipEvent({ ...base, type: 'tool_call', callId: 't1.1', tool: 'x', arguments: { big } })).toMatchObject({
      callId: 't1.1',
      arguments: { clipped: true },
    });
    expect(clipEvent({ ...base, type: 'reply', text: big, answer: { big }, fallback: false })).toMatchObject({
      text: expect.stringMatching(/… \[clipped: 20002 bytes\]$/),
      answer: { clipped: true },
    });
    expect(clipEvent({ ...base, type: 'user_message', messageId: 'm1', text: big })).toMatchObject({ messageId: 'm1', text: expect.stringContaining('[clipped') });
    expect(clipEvent({ ...base, type: 'tool_error', callId: 'c', tool: 'x', message: big })).toMatchObject({ message: expect.stringContaining('[clipped') });
    const small: SessionEvent = { ...base, type: 'step_change', from: 'a', to: 'b' };
    expect(clipEvent(small)).toBe(small);
  });
});

describe('memory is bounded in bytes', () => {
  it('drops the oldest items beyond MAX_MEMORY_BYTES of item text, always keeping the newest', () => {
    let m = emptyMemory();
    const item = (seq: number, text: string): MemoryItem => ({ seq, turn: seq, role: 'tool', text });
    for (let i = 0; i < 1_000; i++) m = remember(m, item(i, '€'.repeat(10_000)), 5_000);
    expect(m.items.every((i) => i.text.length <= MAX_ITEM_CHARS)).toBe(true);
    const bytes = m.items.reduce((n, i) => n + utf8Bytes(i.text), 0);
    expect(bytes).toBeLessThanOrEqual(MAX_MEMORY_BYTES);
    expect(bytes).toBeGreaterThan(MAX_MEMORY_BYTES - 3 * MAX_ITEM_CHARS);
    expect(m.items.at(-1)?.seq).toBe(999);
    expect(m.items.map((i) => i.seq)).toEqual(Array.from({ length: m.items.length }, (_, i) => 1_000 - m.items.length + i));
  });

  it('clips the user message a flow starts with in the flow memory', async () => {
    const flowAgent = testAgent();
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, { action: 'RESPOND', response: 'ok' }]);
    const long = 'latte '.repeat(10_000);
    const { state, result } = await runTurn(flowAgent, initialState(flowAgent, 's', 'T'), { messageId: 'm1', text: long }, exec);
    expect(result.events.find((e) => e.type === 'user_message')).toMatchObject({ text: long });
    expect(state.flow?.memory.items.every((i) => i.text.length <= MAX_ITEM_CHARS)).toBe(true);
    expect(state.events.find((e) => e.type === 'user_message')).toMatchObject({ text: expect.stringContaining('[clipped: 60002 bytes]') });
  });
});

describe('whole state within MAX_STATE_BYTES', () => {
  it('100 turns with a 1 MB tool output: every result whole, kept state clipped, bounded and loadable', async () => {
    const big = 'x'.repeat(1_000_000);
    const exec = scriptedExecutors(bigScript(100), { big: () => big });
    let state = initialState(agent, 's-big', '2026-01-01T00:00:00.000Z');
    let largest = 0;
    for (let i = 0; i < 100; i++) {
      const out = await runTurn(agent, state, { messageId: `m${i}`, text: `message ${i}` }, exec);
      state = out.state;
      expect(out.result).toMatchObject({ messageId: `m${i}`, turn: i + 1, reply: `ok ${i}` });
      expect(toolResults(out.result.events)).toEqual([big]); // the caller gets the full output
      const bytes = stateBytes(state);
      largest = Math.max(largest, bytes);
      expect(JSON.stringify(state).length).toBeLessThanOrEqual(MAX_STATE_BYTES);
      expect(bytes).toBeLessThanOrEqual(MAX_STATE_BYTES);
      const marker = { clipped: true, bytes: 1_000_002, preview: expect.stringMatching(/^x{999}…$/) };
      expect(toolResults(state.events).at(-1)).toEqual(marker);
      expect(toolResults(state.recentResults.at(-1)!.events)).toEqual([marker]);
      expect(state.recentResults.at(-1)?.reply).toBe(`ok ${i}`);
      if (i % 10 === 9) expect(loadSessionState(JSON.parse(JSON.stringify(state)))).toEqual(state);
    }
    expect(state.counters).toMatchObject({ turns: 100, toolCalls: 100, events: 700 });
    expect(state.events).toHaveLength(MAX_KEPT_EVENTS);
    console.log(`1 MB tool outputs, 100 turns: largest carried state ${largest} bytes (budget ${MAX_STATE_BYTES})`);
  });

  it('drops whole earlier turns, oldest first, when fields under the field budget add up over the state budget', async () => {
    const chunk = 'y'.repeat(MAX_KEPT_FIELD_BYTES - 100); // kept whole, in events and in results
    const exec = scriptedExecutors(bigScript(120), { big: () => chunk });
    let state = initialState(agent, 's-many', 'T');
    for (let i = 0; i < 120; i++) {
      const out = await runTurn(agent, state, { messageId: `m${i}`, text: `message ${i}` }, exec);
      state = out.state;
      expect(stateBytes(state)).toBeLessThanOrEqual(MAX_STATE_BYTES);
    }
    expect(toolResults(state.events).at(-1)).toBe(chunk);
    // Contiguous newest turns, from a turn's first event to the last event; results of the newest turns.
    expect(state.events[0].type).toBe('turn_started');
    expect(state.events.at(-1)?.seq).toBe(state.counters.events - 1);
    expect(state.events.map((e) => e.seq)).toEqual(state.events.map((_, i) => state.events[0].seq + i));
    expect(state.events.length).toBeLessThan(MAX_KEPT_EVENTS); // bytes, not count, bounded it
    expect(state.recentResults.at(-1)?.turn).toBe(120);
    expect(state.recentResults.map((r) => r.turn)).toEqual(state.recentResults.map((_, i) => 121 - state.recentResults.length + i));
    expect(state.counters.turns).toBe(120);
    expect(loadSessionState(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('boundStateBytes returns fitting state as is; over budget it drops earlier turns, then the newest, then memory items', () => {
    const fresh = initialState(agent, 's', 'T');
    expect(boundStateBytes(fresh)).toBe(fresh);
    // A state carried by an older worker: nothing clipped, memory unbounded in bytes.
    const ev = (seq: number, turn: number, result: unknown): SessionEvent => ({ seq, turn, at: 'T', type: 'tool_result', callId: `c${seq}`, tool: 'big', result });
    const item = (seq: number): MemoryItem => ({ seq, turn: seq, role: 'tool', text: 'm'.repeat(4_000) });
    const state: SessionState = {
      ...fresh,
      counters: { ...fresh.counters, turns: 3, events: 3 },
      memory: { summaries: ['keep me'], items: Array.from({ length: 100 }, (_, i) => item(i)) },
      events: [ev(0, 1, 'a'.repeat(300_000)), ev(1, 2, 'b'.repeat(300_000)), ev(2, 3, 'c'.repeat(300_000))],
    };
    const bounded = boundStateBytes(state, 300_000);
    expect(stateBytes(bounded)).toBeLessThanOrEqual(300_000);
    expect(bounded.events).toEqual([]);
    expect(bounded.memory.summaries).toEqual(['keep me']);
    expect(bounded.memory.items.at(-1)?.seq).toBe(99);
    expect(bounded.memory.items.length).toBeLessThan(100);
    expect(bounded.counters).toEqual(state.counters);

    const lighter = boundStateBytes({ ...state, memory: emptyMemory() }, 700_000);
    expect(lighter.events.map((e) => e.turn)).toEqual([2, 3]); // turn 1 went first
    expect(stateBytes(lighter)).toBeLessThanOrEqual(700_000);
  });

  it('endSession keeps the state bounded', () => {
    const state = initialState(agent, 's', 'T');
    const huge = { ...state, events: [{ seq: 0, turn: 0, at: 'T', type: 'tool_result', callId: 'c', tool: 'big', result: 'z'.repeat(2_000_000) } as SessionEvent], counters: { ...state.counters, events: 1 } };
    const ended = endSession(huge, 'end_session', 'T2');
    expect(stateBytes(ended)).toBeLessThanOrEqual(MAX_STATE_BYTES);
    expect(ended.events.at(-1)).toMatchObject({ type: 'session_ended' });
  });
});

describe('carried state fixtures still load and stay bounded', () => {
  it('v1 fixture loads, resumes, and its state round-trips JSON', async () => {
    const raw = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'state', 'v1-session-state.json'), 'utf8'));
    const state = loadSessionState(raw);
    const exec = scriptedExecutors([], {});
    exec.decide = async () => ({ type: 'decided', decision: { action: 'RESPOND', response: 'resumed' } });
    const out = await runTurn(testAgent(), state, { messageId: 'm3', text: 'and a muffin' }, exec);
    expect(out.result).toMatchObject({ reply: 'resumed', turn: 3 });
    expect(loadSessionState(JSON.parse(JSON.stringify(out.state)))).toEqual(out.state);
    expect(out.state.recentResults.slice(0, -1)).toEqual(state.recentResults); // nothing clipped or dropped: it fits
  });
});
