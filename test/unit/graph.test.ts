/**
 * The map of an agent (src/config/graph.ts), pure: node and edge shapes, and which flow each step belongs to when
 * flows only declare where they are entered and left (NOMOS): steps reached from the entries up to the exits, one
 * flow per step, entry steps winning over exits and exits over the steps between.
 */
import { describe, expect, it } from 'vitest';
import { agentGraph, AgentGraph, flowMembership, type GraphSource } from '../../src/config/graph.js';

const memory = { recentItems: 12, recentChars: 8_000, maxItems: 200, retrieveK: 3 };
const flow = (id: string, enters: string[], exits: string[]) => ({ id, description: '', enters, exits, memory });
const step = (id: string, targets: string[] = [], tools: string[] = []) => ({ id, tools, routes: targets.map((t) => ({ target: t, condition: `to ${t}` })) });
const agent = (steps: GraphSource['steps'], flows: GraphSource['flows'] = [], tools: string[] = []): GraphSource => ({
  startStepId: steps[0]!.id,
  steps,
  flows,
  tools: tools.map((name) => ({ name })),
});

describe('agentGraph', () => {
  it('draws steps, flows and tools with prefixed ids, routes with their condition, tool attachments', () => {
    const graph = agentGraph(agent([step('a', ['b'], ['t1']), step('b', ['a', 'b'], ['t2'])], [flow('f', ['b'], ['b'])], ['t1', 'unused']));
    expect(AgentGraph.parse(graph)).toEqual(graph);
    expect(graph.nodes).toEqual([
      { id: 'flow:f', kind: 'flow', label: 'f' },
      { id: 'step:a', kind: 'step', label: 'a', start: true },
      { id: 'step:b', kind: 'step', label: 'b', flowId: 'f', entry: true, exit: true },
      { id: 'tool:t1', kind: 'tool', label: 't1' },
      { id: 'tool:unused', kind: 'tool', label: 'unused' },
      // A tool a step names that is not loaded (a draft) is drawn too.
      { id: 'tool:t2', kind: 'tool', label: 't2' },
    ]);
    expect(graph.edges).toEqual([
      { from: 'step:a', to: 'step:b', kind: 'route', when: 'to b' },
      { from: 'step:a', to: 'tool:t1', kind: 'tool' },
      { from: 'step:b', to: 'step:a', kind: 'route', when: 'to a' },
      { from: 'step:b', to: 'step:b', kind: 'route', when: 'to b' },
      { from: 'step:b', to: 'tool:t2', kind: 'tool' },
    ]);
  });

  it('draws a step id given twice once, and never throws on a draft with unknown references', () => {
    const graph = agentGraph(agent([step('a', ['nowhere']), step('a')], [flow('f', ['ghost'], ['a'])]));
    expect(graph.nodes.filter((n) => n.kind === 'step')).toEqual([{ id: 'step:a', kind: 'step', label: 'a', start: true, flowId: 'f', exit: true }]);
    expect(graph.edges).toEqual([{ from: 'step:a', to: 'step:nowhere', kind: 'route', when: 'to nowhere' }]);
  });
});

describe('flowMembership', () => {
  it('puts the steps between entry and exit in the flow, and no step after the exit', () => {
    const m = flowMembership(agent([step('start', ['in']), step('in', ['mid']), step('mid', ['out', 'in']), step('out', ['after']), step('after', ['start'])], [flow('f', ['in'], ['out'])]));
    expect(Object.fromEntries(m)).toEqual({ in: 'f', mid: 'f', out: 'f' });
  });

  it('gives a step to one flow: an entry of another flow stays there, the first flow wins a step both reach', () => {
    const steps = [step('a', ['b']), step('b', ['c', 'x']), step('c', ['d']), step('d'), step('x', ['d'])];
    const m = flowMembership(agent(steps, [flow('one', ['b'], ['d']), flow('two', ['c'], ['d'])]));
    // c is two's entry; d is one's exit (first flow listing it); x sits between b and d in one.
    expect(Object.fromEntries(m)).toEqual({ b: 'one', c: 'two', d: 'one', x: 'one' });
  });

  it('lets an exit that is another flow’s entry belong to that flow (it is entered there)', () => {
    const m = flowMembership(agent([step('a', ['b']), step('b', ['c']), step('c')], [flow('first', ['a'], ['b']), flow('second', ['b'], ['c'])]));
    expect(Object.fromEntries(m)).toEqual({ a: 'first', b: 'second', c: 'second' });
  });
});
