/**
 * Engine semantics 3 (NOMOS iteration rules, `Session.next` in nomos/core.py): `max_iter` free decisions and then one
 * forced RESPOND; tool errors count toward `max_errors`; a retry after invalid tool arguments may only call that
 * tool; a failed flow-memory summary is recorded (`summary_failed`). Each rule is also checked to be absent with
 * semantics 2, which running sessions keep.
 */
import { describe, expect, it } from 'vitest';
import { runTurn } from '../../src/engine/driver.js';
import { FALLBACK_REPLY, initialState } from '../../src/engine/engine.js';
import type { SessionState } from '../../src/engine/types.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

type Agent = ReturnType<typeof testAgent>;
type Exec = ReturnType<typeof scriptedExecutors>;

const fresh = (a: Agent, semantics: number): SessionState => initialState(a, 's1', '2026-01-01T00:00:00.000Z', semantics);
const turn = (a: Agent, state: SessionState, text: string, exec: Exec) => runTurn(a, state, { messageId: `m-${state.counters.turns + 1}`, text }, exec);

const toOrder = { action: 'MOVE', step_id: 'order' };
const getCart = { action: 'TOOL_CALL', tool_calls: [{ tool: 'get_cart', arguments: {} }] };
const invalidArgs = () => Object.assign(new Error('invalid arguments for add_item: item: expected string'), { invalidArguments: true });

describe('max_iter (semantics 3): max_iter free decisions, then one forced RESPOND', () => {
  it('with max_iter 5 the model may call tools 5 times; the 6th decision may only RESPOND', async () => {
    const a = testAgent({ flows: [], maxIter: 5, startStepId: 'order' });
    const exec = scriptedExecutors([getCart, getCart, getCart, getCart, getCart, { action: 'RESPOND', response: 'Your cart.' }], {
      get_cart: () => [],
    });
    const { result } = await turn(a, fresh(a, 3), 'cart?', exec);
    expect(result.reply).toBe('Your cart.');
    expect(exec.toolRequests).toHaveLength(5);
    expect(exec.decideRequests.map((r) => r.forceRespond)).toEqual([false, false, false, false, false, true]);
    expect(JSON.stringify(exec.decideRequests[5].schema)).not.toContain('TOOL_CALL');
  });

  it('a forced decision that does not RESPOND ends the turn with the fallback reply after max_iter + 1 decisions', async () => {
    const a = testAgent({ flows: [], maxIter: 3 });
    const exec = scriptedExecutors([toOrder, getCart, getCart, getCart], { get_cart: () => [] });
    const { result } = await turn(a, fresh(a, 3), 'cart?', exec);
    expect(exec.decideRequests).toHaveLength(4);
    expect(result.reply).toBe(FALLBACK_REPLY);
  });

  it('semantics 2 keeps the old limit: the max_iter-th decision is the forced one', async () => {
    const a = testAgent({ flows: [], maxIter: 5, startStepId: 'order' });
    const exec = scriptedExecutors([getCart, getCart, getCart, getCart, { action: 'RESPOND', response: 'Your cart.' }], {
      get_cart: () => [],
    });
    const { result } = await turn(a, fresh(a, 2), 'cart?', exec);
    expect(result.reply).toBe('Your cart.');
    expect(exec.toolRequests).toHaveLength(4);
    expect(exec.decideRequests.map((r) => r.forceRespond)).toEqual([false, false, false, false, true]);
  });
});

describe('max_errors (semantics 3): tool errors count', () => {
  const failing = { get_cart: () => { throw new Error('cart service down'); } };

  it('max_errors failed tool calls end the turn with the fallback reply and an error-limit event', async () => {
    const a = testAgent({ flows: [], maxErrors: 2 });
    const exec = scriptedExecutors([toOrder, getCart, getCart, { action: 'RESPOND', response: 'never' }], failing);
    const { result, state } = await turn(a, fresh(a, 3), 'cart?', exec);
    expect(exec.decideRequests).toHaveLength(3);
    expect(result.reply).toBe(FALLBACK_REPLY);
    expect(result.events.find((e) => e.type === 'reply')).toMatchObject({ fallback: true });
    expect(result.events.find((e) => e.type === 'turn_failed')).toMatchObject({
      message: expect.stringMatching(/^error limit reached \(max_errors 2\).*cart service down/),
    });
    expect(state).toMatchObject({ status: 'active', turn: null });
  });

  it('a tool error and an invalid decision add up; a tool round without errors resets the count', async () => {
    const a = testAgent({ flows: [], maxErrors: 2 });
    const exec = scriptedExecutors([toOrder, getCart, { action: 'NOPE' }], failing);
    expect((await turn(a, fresh(a, 3), 'cart?', exec)).result.reply).toBe(FALLBACK_REPLY);

    let calls = 0;
    const flaky = { get_cart: () => { if (++calls % 2 === 1) throw new Error('flaky'); return []; } };
    const exec2 = scriptedExecutors([toOrder, getCart, getCart, getCart, { action: 'RESPOND', response: 'ok' }], flaky);
    expect((await turn(a, fresh(a, 3), 'cart?', exec2)).result.reply).toBe('ok');
  });

  it('semantics 2 does not count tool errors', async () => {
    const a = testAgent({ flows: [], maxErrors: 2 });
    const exec = scriptedExecutors([toOrder, getCart, getCart, { action: 'RESPOND', response: 'Sorry, the cart is down.' }], failing);
    const { result } = await turn(a, fresh(a, 2), 'cart?', exec);
    expect(result.reply).toBe('Sorry, the cart is down.');
    expect(result.events.some((e) => e.type === 'turn_failed')).toBe(false);
  });
});

describe('invalid tool arguments (semantics 3): the retry may only call that tool', () => {
  const addItem = (item: unknown) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item } }] });
  const tools = () => {
    let n = 0;
    return { add_item: () => { if (n++ === 0) throw invalidArgs(); return { ok: true }; }, get_cart: () => [] };
  };

  it('narrows the next decision schema to the tool, rejects another tool, and widens again after the retry', async () => {
    const a = testAgent({ flows: [], startStepId: 'order' });
    const exec = scriptedExecutors([addItem(5), getCart, addItem('tea'), getCart, { action: 'RESPOND', response: 'Done.' }], tools());
    const { result } = await turn(a, fresh(a, 3), 'a tea', exec);
    expect(result.reply).toBe('Done.');
    const schemas = exec.decideRequests.map((r) => JSON.stringify(r.schema));
    expect(schemas[1]).toContain('add_item');
    expect(schemas[1]).not.toContain('get_cart');
    expect(schemas[2]).not.toContain('get_cart'); // re-asked after the rejected decision: still the retry
    expect(schemas[3]).toContain('get_cart');
    expect(result.events.find((e) => e.type === 'decision_error')).toMatchObject({
      message: expect.stringContaining('only add_item may be called now'),
    });
    expect(exec.toolRequests.map((calls) => calls.map((c) => c.tool))).toEqual([['add_item'], ['add_item'], ['get_cart']]);
  });

  it('semantics 2 does not narrow', async () => {
    const a = testAgent({ flows: [], startStepId: 'order' });
    const exec = scriptedExecutors([addItem(5), getCart, { action: 'RESPOND', response: 'Done.' }], tools());
    const { result } = await turn(a, fresh(a, 2), 'a tea', exec);
    expect(result.reply).toBe('Done.');
    expect(JSON.stringify(exec.decideRequests[1].schema)).toContain('get_cart');
    expect(result.events.some((e) => e.type === 'decision_error')).toBe(false);
  });
});

describe('flow summaries (semantics 3): a failed summary is recorded', () => {
  const broken = { summary: () => { throw new Error('summariser down'); } };

  it('keeps the extractive summary and records summary_failed with the error', async () => {
    const a = testAgent();
    const exec = scriptedExecutors([toOrder, { action: 'RESPOND', response: 'What would you like?' }], {}, broken);
    const { result, state } = await turn(a, fresh(a, 3), 'I want to order', exec);
    expect(result.events.find((e) => e.type === 'summary_failed')).toMatchObject({
      flowId: 'ordering',
      purpose: 'flow_enter',
      message: 'summariser down',
    });
    expect(result.events.find((e) => e.type === 'flow_enter')).toMatchObject({ flowId: 'ordering' });
    expect(state.flow?.flowId).toBe('ordering');
  });

  it('semantics 2 records nothing', async () => {
    const a = testAgent();
    const exec = scriptedExecutors([toOrder, { action: 'RESPOND', response: 'What would you like?' }], {}, broken);
    const { result } = await turn(a, fresh(a, 2), 'I want to order', exec);
    expect(result.events.some((e) => (e.type as string) === 'summary_failed')).toBe(false);
    expect(result.events.find((e) => e.type === 'flow_enter')).toMatchObject({ flowId: 'ordering' });
  });
});
