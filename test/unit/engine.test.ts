import { describe, expect, it } from 'vitest';
import { runTurn } from '../../src/engine/driver.js';
import { FALLBACK_REPLY, initialState, validateDecision } from '../../src/engine/engine.js';
import type { SessionState } from '../../src/engine/types.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors, type ScriptEntry } from '../support/scripted-executors.js';

const agent = testAgent({ flows: [] });

async function turn(state: SessionState, text: string, exec: ReturnType<typeof scriptedExecutors>, a = agent) {
  return runTurn(a, state, { messageId: `m-${state.counters.turns + 1}`, text }, exec);
}

function fresh(a = agent): SessionState {
  return initialState(a, 's1', '2026-01-01T00:00:00.000Z');
}

describe('engine: actions', () => {
  it('RESPOND ends the turn with the reply and records user message, decision and reply events', async () => {
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'Hello!' }]);
    const { state, result } = await turn(fresh(), 'hi', exec);
    expect(result.reply).toBe('Hello!');
    expect(result.stepId).toBe('greet');
    expect(result.ended).toBe(false);
    expect(result.events.map((e) => e.type)).toEqual(['turn_started', 'user_message', 'decision', 'reply']);
    expect(result.events.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    expect(state.turn).toBeNull();
    expect(state.memory.items.map((i) => [i.role, i.text])).toEqual([
      ['user', 'hi'],
      ['assistant', 'Hello!'],
    ]);
    // The prompt carried the step, its route and the user message.
    const [req] = exec.decideRequests;
    expect(req.messages[0].content).toContain('Current step: greet');
    expect(req.messages[0].content).toContain('the user wants to order -> order');
    expect(req.messages.at(-1)).toEqual({ role: 'user', content: 'hi' });
    expect(req.decisionIndex).toBe(0);
  });

  it('MOVE changes step and asks again in the new step; TOOL_CALL runs calls in parallel and loops', async () => {
    const exec = scriptedExecutors(
      [
        { action: 'MOVE', step_id: 'order' },
        { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }, { tool: 'get_cart', arguments: {} }] },
        { action: 'RESPOND', response: 'Added a latte.' },
      ],
      { add_item: (a) => ({ added: a.item }), get_cart: () => ['latte'] },
    );
    const { state, result } = await turn(fresh(), 'a latte please', exec);
    expect(result.reply).toBe('Added a latte.');
    expect(result.stepId).toBe('order');
    expect(exec.toolRequests).toHaveLength(1);
    expect(exec.toolRequests[0].map((c) => [c.tool, c.callId])).toEqual([
      ['add_item', 't1.1'],
      ['get_cart', 't1.2'],
    ]);
    expect(result.events.map((e) => e.type)).toEqual([
      'turn_started', 'user_message', 'decision', 'step_change', 'decision', 'tool_call', 'tool_call',
      'tool_result', 'tool_result', 'decision', 'reply',
    ]);
    expect(exec.decideRequests.map((r) => r.stepId)).toEqual(['greet', 'order', 'order']);
    expect(exec.decideRequests[2].messages.some((m) => m.content.includes('add_item -> {"added":"latte"}'))).toBe(true);
    expect(state.counters.decisions).toBe(3);
  });

  it('END ends the session with an optional reply', async () => {
    const exec = scriptedExecutors([{ action: 'END', response: 'Bye' }]);
    const { state, result } = await turn(fresh(), 'bye', exec);
    expect(result).toMatchObject({ reply: 'Bye', ended: true });
    expect(state.status).toBe('ended');
    expect(result.events.at(-1)).toMatchObject({ type: 'session_ended', reason: 'end_action' });
  });

  it('a throwing tool becomes a tool error the model sees, not a crashed turn', async () => {
    const exec = scriptedExecutors(
      [
        { action: 'MOVE', step_id: 'order' },
        { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'unicorn' } }] },
        { action: 'RESPOND', response: 'We have no unicorns.' },
      ],
      { add_item: () => { throw new Error('unknown item unicorn'); } },
    );
    const { result } = await turn(fresh(), 'a unicorn', exec);
    expect(result.reply).toBe('We have no unicorns.');
    expect(result.events.find((e) => e.type === 'tool_error')).toMatchObject({ tool: 'add_item', message: 'unknown item unicorn' });
    expect(exec.decideRequests[2].messages.some((m) => m.content.includes('add_item failed: unknown item unicorn'))).toBe(true);
  });

  it('RESPOND with answer on a step with answer_model returns the structured answer', async () => {
    const a = testAgent({
      flows: [],
      steps: [
        {
          ...testAgent().steps[0],
          routes: [],
          answerModel: { type: 'object', properties: { size: { type: 'string' } }, required: ['size'], additionalProperties: false },
        },
      ],
    });
    const exec = scriptedExecutors([{ action: 'RESPOND', answer: { size: 7 } }, { action: 'RESPOND', answer: { size: 'L' } }]);
    const { result } = await turn(fresh(a), 'large', exec, a);
    expect(result.answer).toEqual({ size: 'L' });
    expect(result.reply).toBe('{"size":"L"}');
    expect(result.events.filter((e) => e.type === 'decision_error')).toHaveLength(1);
  });
});

describe('engine: invalid decisions and limits', () => {
  it('rejects a tool not available in the step and re-asks with the error shown', async () => {
    const exec = scriptedExecutors([
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'pay', arguments: {} }] },
      { action: 'RESPOND', response: 'ok' },
    ]);
    const { result } = await turn(fresh(), 'pay now', exec);
    expect(result.reply).toBe('ok');
    const err = result.events.find((e) => e.type === 'decision_error');
    expect(err).toMatchObject({ message: expect.stringContaining('tool "pay" is not available in step greet') });
    expect(exec.decideRequests[1].messages.at(-1)?.content).toContain('tool "pay" is not available');
  });

  it('rejects MOVE to a step that is not a route of the current step', async () => {
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'done' }, { action: 'RESPOND', response: 'ok' }]);
    const { result } = await turn(fresh(), 'go', exec);
    expect(result.stepId).toBe('greet');
    expect(result.events.find((e) => e.type === 'decision_error')).toMatchObject({
      message: expect.stringContaining('step "done" is not a route of step greet'),
    });
  });

  it('validateDecision rejects unknown actions, extra fields and missing fields', () => {
    expect(validateDecision(agent, 'greet', { action: 'DANCE' }, false).ok).toBe(false);
    expect(validateDecision(agent, 'greet', { action: 'RESPOND', response: 'x', extra: 1 }, false).ok).toBe(false);
    expect(validateDecision(agent, 'greet', { action: 'RESPOND' }, false).ok).toBe(false);
    expect(validateDecision(agent, 'greet', 'not an object', false).ok).toBe(false);
    expect(validateDecision(agent, 'greet', { action: 'RESPOND', response: 'x', reasoning: ['a'] }, false).ok).toBe(true);
  });

  it('max_errors consecutive invalid decisions give the fallback reply', async () => {
    const a = testAgent({ flows: [], maxErrors: 2 });
    const exec = scriptedExecutors([{ action: 'NOPE' }, { type: 'decisionInvalid', message: 'not JSON' }, { action: 'RESPOND', response: 'never' }]);
    const { result, state } = await turn(fresh(a), 'hi', exec, a);
    expect(result.reply).toBe(FALLBACK_REPLY);
    expect(exec.decideRequests).toHaveLength(2);
    expect(result.events.filter((e) => e.type === 'decision_error')).toHaveLength(2);
    expect(result.events.find((e) => e.type === 'reply')).toMatchObject({ fallback: true });
    expect(result.events.some((e) => e.type === 'turn_failed')).toBe(true);
    expect(state.turn).toBeNull();
  });

  it('a valid decision resets the consecutive error count', async () => {
    const a = testAgent({ flows: [], maxErrors: 2 });
    const exec = scriptedExecutors([
      { action: 'NOPE' },
      { action: 'MOVE', step_id: 'order' },
      { action: 'NOPE' },
      { action: 'RESPOND', response: 'fine' },
    ]);
    const { result } = await turn(fresh(a), 'hi', exec, a);
    expect(result.reply).toBe('fine');
  });

  it('max_iter (semantics 2): the last decision may only RESPOND, and the turn never exceeds max_iter decisions', async () => {
    // Semantics 3 allows max_iter free decisions and one forced RESPOND: test/unit/engine-iteration-rules.test.ts.
    const a = testAgent({ flows: [], maxIter: 3 });
    const fresh = (x: typeof a) => initialState(x, 's1', '2026-01-01T00:00:00.000Z', 2);
    const loop = { action: 'TOOL_CALL', tool_calls: [{ tool: 'get_cart', arguments: {} }] };
    const exec = scriptedExecutors(
      [{ action: 'MOVE', step_id: 'order' }, loop, { action: 'RESPOND', response: 'Here is your cart.' }],
      { get_cart: () => [] },
    );
    const { result } = await turn(fresh(a), 'cart?', exec, a);
    expect(result.reply).toBe('Here is your cart.');
    expect(exec.decideRequests.map((r) => r.forceRespond)).toEqual([false, false, true]);
    // The forced request's schema admits RESPOND only.
    expect(JSON.stringify(exec.decideRequests[2].schema)).not.toContain('TOOL_CALL');

    const exec2 = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, loop, loop], { get_cart: () => [] });
    const out2 = await turn(fresh(a), 'cart?', exec2, a);
    expect(exec2.decideRequests).toHaveLength(3);
    expect(out2.result.reply).toBe(FALLBACK_REPLY);
  });

  it('a model that cannot be reached gives the fallback reply and a turn_failed event', async () => {
    const exec = scriptedExecutors([{ type: 'decideFailed', message: '401 invalid key' }]);
    const { result } = await turn(fresh(), 'hi', exec);
    expect(result.reply).toBe(FALLBACK_REPLY);
    expect(result.events.find((e) => e.type === 'turn_failed')).toMatchObject({ message: '401 invalid key' });
  });
});

describe('engine: determinism and counters', () => {
  it('the same inputs produce the same state (replay safety)', async () => {
    const script: ScriptEntry[] = [{ action: 'MOVE', step_id: 'order' }, { action: 'RESPOND', response: 'ok' }];
    const a = await turn(fresh(), 'x', scriptedExecutors(script));
    const b = await turn(fresh(), 'x', scriptedExecutors(script));
    expect(JSON.stringify(a.state)).toBe(JSON.stringify(b.state));
  });

  it('decisionIndex counts decisions across turns (the scripted model position)', async () => {
    const exec = scriptedExecutors([
      { action: 'RESPOND', response: 'one' },
      { action: 'MOVE', step_id: 'order' },
      { action: 'RESPOND', response: 'two' },
    ]);
    let { state } = await turn(fresh(), 'a', exec);
    ({ state } = await turn(state, 'b', exec));
    expect(exec.decideRequests.map((r) => r.decisionIndex)).toEqual([0, 1, 2]);
    expect(state.counters.turns).toBe(2);
    expect(state.recentResults.map((r) => r.reply)).toEqual(['one', 'two']);
  });
});
