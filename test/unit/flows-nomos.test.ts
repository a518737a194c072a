/**
 * Engine semantics 2 (NOMOS): flow transitions before every decision, `auto_flow`, `quick_suggestions`, examples.
 *
 * The expected flow events are NOMOS's, traced by hand through its code: `Session.next` (nomos/core.py) calls
 * `StateMachine.handle_flow_transitions(current_step)` (nomos/state_machine.py) before every decision — enter the
 * first flow listing the step in `enters` when no flow is active, then exit the active flow if it lists the step in
 * `exits` — and `END` only cleans the active flow up.
 */
import { describe, expect, it } from 'vitest';
import { RawAgent } from '../../src/config/schema.js';
import { crossReferenceIssues } from '../../src/config/validate.js';
import { runTurn } from '../../src/engine/driver.js';
import { initialState } from '../../src/engine/engine.js';
import { selectExamples } from '../../src/engine/examples.js';
import { ENGINE_SEMANTICS, type SessionState, type TurnResult } from '../../src/engine/types.js';
import { flow, step, testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

type Exec = ReturnType<typeof scriptedExecutors>;
const flowEvents = (r: TurnResult) =>
  r.events.filter((e) => e.type === 'flow_enter' || e.type === 'flow_exit').map((e) => `${e.type}:${(e as { flowId: string }).flowId}`);

async function converse(agent: ReturnType<typeof testAgent>, messages: string[], exec: Exec) {
  let state: SessionState = initialState(agent, 's', '2026-01-01T00:00:00.000Z');
  const results: TurnResult[] = [];
  for (const [i, text] of messages.entries()) {
    const out = await runTurn(agent, state, { messageId: `m${i + 1}`, text }, exec);
    state = out.state;
    results.push(out.result);
  }
  return { state, results };
}

describe('flows (semantics 2, NOMOS)', () => {
  // greet -> order (flow `ordering` enters) -> checkout (flow exit) -> order | done
  const agent = testAgent();

  it('new sessions get the current semantics; a flow is exited on arriving at its exit step', async () => {
    const exec = scriptedExecutors(
      [
        { action: 'RESPOND', response: 'Welcome!' }, // t1 at greet: no flow
        { action: 'MOVE', step_id: 'order' }, // t2: arriving at order enters `ordering` before the next decision
        { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'tea' } }] },
        { action: 'RESPOND', response: 'One tea.' },
        { action: 'MOVE', step_id: 'checkout' }, // t3: arriving at checkout exits `ordering` at once
        { action: 'RESPOND', response: 'Ready to pay?' }, // decided outside the flow, on session memory
        { action: 'MOVE', step_id: 'order' }, // t4: back at order: entered again
        { action: 'RESPOND', response: 'What would you like to change?' },
        { action: 'MOVE', step_id: 'checkout' }, // t5: exit again, then END outside any flow
        { action: 'END', response: 'Bye' },
      ],
      { add_item: () => ({ ok: true }) },
    );
    const { state, results } = await converse(agent, ['hi', 'a tea please', "that's all", 'change it', 'no, done'], exec);
    expect(initialState(agent, 'x', 'T')).toMatchObject({ semantics: ENGINE_SEMANTICS, flow: null });
    expect(results.map(flowEvents)).toEqual([
      [],
      ['flow_enter:ordering'],
      ['flow_exit:ordering'],
      ['flow_enter:ordering'],
      ['flow_exit:ordering'],
    ]);
    expect(results.map((r) => r.flowId)).toEqual([undefined, 'ordering', undefined, 'ordering', undefined]);
    expect(exec.summarizeRequests.map((r) => `${r.purpose}:${r.flowId}`)).toEqual([
      'flow_enter:ordering', 'flow_exit:ordering', 'flow_enter:ordering', 'flow_exit:ordering',
    ]);
    // The decision at the exit step already sees session memory with the flow's summary, not flow memory.
    const atCheckout = exec.decideRequests[5];
    expect(atCheckout.stepId).toBe('checkout');
    expect(atCheckout.messages[0].content).toContain('[flow ordering] summary(flow_exit ordering)');
    expect(atCheckout.messages[0].content).not.toContain('(flow: ordering)');
    expect(state).toMatchObject({ status: 'ended', flow: null });
  });

  it('a start step that enters a flow enters it before the first decision (a flow_enter event in turn 1)', async () => {
    const a = testAgent({ startStepId: 'order' });
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'Hi, what would you like?' }]);
    const { results, state } = await converse(a, ['hello'], exec);
    expect(results.map(flowEvents)).toEqual([['flow_enter:ordering']]);
    expect(state.flow?.memory.items.map((i) => i.text)).toEqual(['hello', 'Hi, what would you like?']);
  });

  it('no flow is entered while another is active; a step exiting one flow and entering another exits only', async () => {
    const a = testAgent({
      flows: [flow('ordering', ['order'], ['checkout']), flow('paying', ['checkout'], ['done'])],
    });
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'order' },
      { action: 'MOVE', step_id: 'checkout' }, // exits `ordering`; `paying` is not entered (a flow was active)
      { action: 'RESPOND', response: 'Pay now?' },
      { action: 'RESPOND', response: 'Still here.' }, // next turn at checkout: no flow active, so `paying` enters
    ]);
    const { results } = await converse(a, ['order', 'pay', 'hm'], exec);
    expect(results.map(flowEvents)).toEqual([['flow_enter:ordering', 'flow_exit:ordering'], ['flow_enter:paying'], []]);
  });

  it('END inside a flow drops it without a summary or a flow_exit event', async () => {
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, { action: 'END', response: 'Goodbye' }]);
    const { state, results } = await converse(agent, ['order, actually never mind'], exec);
    expect(results[0]).toMatchObject({ reply: 'Goodbye', ended: true });
    expect(flowEvents(results[0])).toEqual(['flow_enter:ordering']);
    expect(exec.summarizeRequests.map((r) => r.purpose)).toEqual(['flow_enter']);
    expect(state.flow).toBeNull();
  });

  it('sessions started with semantics 1 keep the first release rules', async () => {
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, { action: 'MOVE', step_id: 'checkout' }, { action: 'RESPOND', response: 'ok' }]);
    const old = initialState(agent, 's', 'T', 1);
    expect(old).not.toHaveProperty('semantics');
    const { state, result } = await runTurn(agent, old, { messageId: 'm', text: 'go' }, exec);
    expect(flowEvents(result)).toEqual(['flow_enter:ordering']); // still inside at the exit step
    expect(state.flow?.flowId).toBe('ordering');
  });
});

describe('auto_flow and quick_suggestions (semantics 2)', () => {
  const agent = testAgent({
    steps: [
      step('greet', { quickSuggestions: true, routes: [{ target: 'route', condition: 'the user wants to order' }] }),
      step('route', { autoFlow: true, tools: ['get_cart'], routes: [{ target: 'greet', condition: 'always' }] }),
    ],
    flows: [],
    maxIter: 3,
  });

  it('an auto_flow step cannot RESPOND: not in its schema, and rejected by the engine', async () => {
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'route' },
      { action: 'RESPOND', response: 'I should not speak here' },
      { action: 'MOVE', step_id: 'greet' },
    ]);
    const { results } = await converse(agent, ['order'], exec);
    const routeSchema = JSON.stringify(exec.decideRequests[1].schema);
    expect(routeSchema).not.toContain('RESPOND');
    expect(exec.decideRequests[1].messages[0].content).toContain('Allowed actions here: TOOL_CALL, MOVE, END.');
    const error = results[0].events.find((e) => e.type === 'decision_error');
    expect(error).toMatchObject({ message: expect.stringContaining('auto_flow: RESPOND is not allowed') });
    expect(results[0]).toMatchObject({ stepId: 'greet' });
  });

  it('at max_iter an auto_flow step is not forced to RESPOND; the turn falls back', async () => {
    const exec = scriptedExecutors([
      { action: 'MOVE', step_id: 'route' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'get_cart', arguments: {} }] },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'get_cart', arguments: {} }] },
    ], { get_cart: () => [] });
    const { results } = await converse(agent, ['order'], exec);
    expect(exec.decideRequests.map((r) => r.forceRespond)).toEqual([false, false, false]);
    expect(results[0].events.at(-1)).toMatchObject({ type: 'reply', fallback: true });
  });

  it('a quick_suggestions step returns suggestions in the turn result and the reply event', async () => {
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'Coffee or tea?', suggestions: ['Coffee', 'Tea'] }]);
    const { results } = await converse(agent, ['hi'], exec);
    expect(results[0]).toMatchObject({ reply: 'Coffee or tea?', suggestions: ['Coffee', 'Tea'] });
    expect(results[0].events.find((e) => e.type === 'reply')).toMatchObject({ suggestions: ['Coffee', 'Tea'] });
    expect(JSON.stringify(exec.decideRequests[0].schema)).toContain('suggestions');
    expect(exec.decideRequests[0].messages[0].content).toContain('"suggestions"');
  });

  it('suggestions from a step without quick_suggestions are rejected', async () => {
    const plain = testAgent({ steps: [step('greet', {})], flows: [] });
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'x', suggestions: ['a'] }, { action: 'RESPOND', response: 'y' }]);
    const { results } = await converse(plain, ['hi'], exec);
    expect(results[0].reply).toBe('y');
    expect(results[0]).not.toHaveProperty('suggestions');
    expect(results[0].events.find((e) => e.type === 'decision_error')).toMatchObject({
      message: expect.stringContaining('no quick_suggestions'),
    });
  });
});

describe('examples chosen by similarity (semantics 2)', () => {
  const examples = [
    { context: 'user asks for a latte with oat milk', decision: { action: 'TOOL_CALL' } },
    { context: 'user wants to cancel the whole order', decision: { action: 'END' } },
    { context: 'user asks about opening hours', decision: { action: 'RESPOND' } },
    { context: 'always show me', visibility: 'always' as const },
    { context: 'hidden latte cancel hours', visibility: 'never' as const },
  ];

  it('keeps always examples, drops never ones, ranks dynamic ones by BM25 against the message', () => {
    const chosen = selectExamples(examples, 'one latte with oat milk please', { maxExamples: 5, threshold: 0.5 });
    expect(chosen.map((e) => e.context)).toEqual(['always show me', 'user asks for a latte with oat milk']);
    expect(selectExamples(examples, 'zzz', { maxExamples: 5, threshold: 0.5 }).map((e) => e.context)).toEqual(['always show me']);
    expect(selectExamples(examples, 'latte cancel order hours', { maxExamples: 2, threshold: 0 })).toHaveLength(2);
  });

  it('the prompt shows only the selected examples', async () => {
    const a = testAgent({ steps: [step('greet', { examples })], flows: [], maxExamples: 3 });
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'ok' }]);
    await converse(a, ['I want to cancel my order'], exec);
    const prompt = exec.decideRequests[0].messages[0].content;
    expect(prompt).toContain('user wants to cancel the whole order');
    expect(prompt).toContain('always show me');
    expect(prompt).not.toContain('opening hours');
    expect(prompt).not.toContain('hidden latte');
  });
});

describe('auto_flow config rules (NOMOS Step.model_post_init)', () => {
  it('an auto_flow step needs a route or a tool, and cannot have quick_suggestions', () => {
    const raw = RawAgent.parse({
      name: 'a',
      start_step_id: 'one',
      llm: { provider: 'scripted', script: 'x.yaml' },
      steps: [
        { id: 'one', auto_flow: true, quick_suggestions: true, paths: [{ to: 'two' }] },
        { id: 'two', auto_flow: true },
        { id: 'three', auto_flow: true, tools: ['t'] },
      ],
    });
    const issues = crossReferenceIssues(raw, { llmNames: new Set(['global']) }).filter((i) => i.message.includes('auto_flow'));
    expect(issues).toEqual([
      { path: ['steps', 0, 'quick_suggestions'], message: 'auto_flow step "one" cannot have quick_suggestions' },
      { path: ['steps', 1, 'auto_flow'], message: 'auto_flow step "two" needs at least one route or tool' },
    ]);
  });
});
