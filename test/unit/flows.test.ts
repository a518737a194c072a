import { describe, expect, it } from 'vitest';
import { runTurn } from '../../src/engine/driver.js';
import { initialState } from '../../src/engine/engine.js';
import type { SessionState } from '../../src/engine/types.js';
import { flow, testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

// greet -> order (flow `ordering` enters) -> checkout (flow exit) -> order | done
const agent = testAgent();

async function say(state: SessionState, text: string, exec: ReturnType<typeof scriptedExecutors>) {
  return runTurn(agent, state, { messageId: `m${state.counters.turns + 1}`, text }, exec);
}

// The first release's flow rules (semantics 1): sessions recorded before NOMOS semantics keep them (flows-nomos.test.ts has 2).
const fresh = () => initialState(agent, 's1', '2026-01-01T00:00:00.000Z', 1);

describe('flows (semantics 1)', () => {
  it('entering a flow summarises the preceding context and keeps the triggering message verbatim', async () => {
    const exec = scriptedExecutors([
      { action: 'RESPOND', response: 'Welcome! What can I get you?' },
      { action: 'MOVE', step_id: 'order' },
      { action: 'RESPOND', response: 'One flat white coming up.' },
    ]);
    let { state } = await say(fresh(), 'hello there', exec);
    const out = await say(state, 'a flat white please', exec);
    state = out.state;
    expect(exec.summarizeRequests).toHaveLength(1);
    const req = exec.summarizeRequests[0];
    expect(req).toMatchObject({ purpose: 'flow_enter', flowId: 'ordering' });
    expect(req.items.map((i) => i.text)).toContain('Welcome! What can I get you?');
    expect(state.flow?.flowId).toBe('ordering');
    expect(state.flow?.memory.summaries[0]).toContain('summary(flow_enter ordering)');
    expect(state.flow?.memory.items[0]).toMatchObject({ role: 'user', text: 'a flat white please' });
    expect(out.result.flowId).toBe('ordering');
    expect(out.result.events.map((e) => e.type)).toContain('flow_enter');
    // Inside the flow the model sees flow memory: the summary and the trigger, not the raw greeting.
    const inFlow = exec.decideRequests[2];
    expect(inFlow.messages[0].content).toContain('summary(flow_enter ordering)');
    expect(inFlow.messages.slice(1).map((m) => m.content)).toEqual(['a flat white please']);
  });

  it('MOVE away from an exit step summarises the flow into session memory', async () => {
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'order' },
      { action: 'MOVE', step_id: 'checkout' },
      { action: 'RESPOND', response: 'Ready to pay?' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'pay', arguments: {} }] },
      { action: 'MOVE', step_id: 'done' },
      { action: 'RESPOND', response: 'Paid, thanks!' },
    ], { pay: () => ({ paid: true }) });
    let { state } = await say(fresh(), 'order a tea', exec);
    expect(state.flow?.flowId).toBe('ordering'); // still inside at the exit step
    const out = await say(state, 'yes pay', exec);
    state = out.state;
    expect(state.flow).toBeNull();
    expect(exec.summarizeRequests.map((r) => r.purpose)).toEqual(['flow_enter', 'flow_exit']);
    const exitReq = exec.summarizeRequests[1];
    expect(exitReq.items.map((i) => i.text)).toEqual(expect.arrayContaining(['yes pay', 'pay -> {"paid":true}']));
    expect(state.memory.summaries.at(-1)).toMatch(/^\[flow ordering\] summary\(flow_exit ordering\)/);
    expect(out.result.events.map((e) => e.type)).toContain('flow_exit');
    expect(out.result.flowId).toBeUndefined();
  });

  it('END inside a flow summarises the flow before the session ends', async () => {
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'order' },
      { action: 'END', response: 'Goodbye' },
    ]);
    const { state, result } = await say(fresh(), 'order, actually never mind', exec);
    expect(result).toMatchObject({ reply: 'Goodbye', ended: true });
    expect(state.flow).toBeNull();
    expect(exec.summarizeRequests.map((r) => r.purpose)).toEqual(['flow_enter', 'flow_exit']);
    const types = result.events.map((e) => e.type);
    expect(types.indexOf('flow_exit')).toBeLessThan(types.indexOf('session_ended'));
  });

  it('re-entering a flow starts from a fresh memory (only what was summarised carries over)', async () => {
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'order' },
      { action: 'MOVE', step_id: 'checkout' },
      { action: 'MOVE', step_id: 'order' }, // away from the exit step, back into the entry: exit then re-enter
      { action: 'RESPOND', response: 'What would you like to change?' },
    ]);
    const { state, result } = await say(fresh(), 'SECRET-ITEM order then change', exec);
    expect(exec.summarizeRequests.map((r) => r.purpose)).toEqual(['flow_enter', 'flow_exit', 'flow_enter']);
    expect(result.events.filter((e) => e.type.startsWith('flow_')).map((e) => e.type)).toEqual([
      'flow_enter', 'flow_exit', 'flow_enter',
    ]);
    expect(state.flow?.flowId).toBe('ordering');
    // The new flow memory holds one summary, the trigger and what happened after re-entry only.
    expect(state.flow?.memory.summaries).toHaveLength(1);
    expect(state.flow?.memory.items.map((i) => i.text)).toEqual([
      'SECRET-ITEM order then change',
      'What would you like to change?',
    ]);
  });

  it('moving into another flow\'s entry leaves the current flow first', async () => {
    const a = testAgent({
      flows: [flow('ordering', ['order'], ['checkout']), flow('paying', ['checkout'], ['done'])],
    });
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'order' },
      { action: 'MOVE', step_id: 'checkout' },
      { action: 'RESPOND', response: 'ok' },
    ]);
    const { state } = await runTurn(a, initialState(a, 's', 'T', 1), { messageId: 'm', text: 'go' }, exec);
    expect(exec.summarizeRequests.map((r) => `${r.purpose}:${r.flowId}`)).toEqual([
      'flow_enter:ordering', 'flow_exit:ordering', 'flow_enter:paying',
    ]);
    expect(state.flow?.flowId).toBe('paying');
  });

  it('a failed summary falls back to an extractive one and the turn goes on', async () => {
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, { action: 'RESPOND', response: 'ok' }]);
    exec.summarize = async () => ({ type: 'summarizeFailed', message: 'model down' });
    const { state, result } = await say(fresh(), 'order', exec);
    expect(result.reply).toBe('ok');
    expect(state.flow?.memory.summaries[0]).toContain('user: order');
  });

  it('two sessions never see each other\'s memory', async () => {
    const script = [{ action: 'RESPOND', response: 'noted' }, { action: 'RESPOND', response: 'noted' }];
    const execA = scriptedExecutors(script);
    const execB = scriptedExecutors(script);
    const a = await say(initialState(agent, 'A', 'T'), 'my secret is ALPHA', execA);
    const b = await say(initialState(agent, 'B', 'T'), 'hello', execB);
    await say(b.state, 'what is my secret?', execB);
    expect(JSON.stringify(execB.decideRequests)).not.toContain('ALPHA');
    expect(JSON.stringify(b.state)).not.toContain('ALPHA');
    expect(JSON.stringify(a.state)).toContain('ALPHA');
  });
});
