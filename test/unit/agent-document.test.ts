/**
 * The flow builder's YAML editing (src/config/agent-document.ts): import then export without edits gives every
 * example agent and every committed NOMOS config back byte for byte; each edit changes only the unit it edits
 * (the rest of the text, comments included, stays as written) and the result is an agent `stepwise validate`'s
 * checks accept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Node, parseDocument, type YAMLSeq } from 'yaml';
import { describe, expect, it } from 'vitest';
import * as edit from '../../src/config/agent-document.js';
import { agentGraph } from '../../src/config/graph.js';
import { validateAgentSource } from '../../runtime/agents/validate-source.js';

const root = join(import.meta.dirname, '..', '..');
const yamlFiles = (dir: string) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? readdirSync(join(root, dir, e.name)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, e.name, f)) : [],
  );
const FILES = [...yamlFiles('examples'), ...yamlFiles('test/fixtures/nomos')].filter((f) => !f.endsWith('script.yaml'));
const barista = readFileSync(join(root, 'examples/barista/barista.agent.yaml'), 'utf8');
const support = readFileSync(join(root, 'examples/support/support.agent.yaml'), 'utf8');
const baristaTools = ['get_menu', 'add_to_cart', 'remove_from_cart', 'get_cart', 'place_order'].map((name) => ({ name, description: '', parameters: {} }));
const check = (text: string) => validateAgentSource(text, { baseDir: join(root, 'examples/barista'), tools: baristaTools });

/** Lines of `after` that are not in `before`, and lines of `before` not in `after` (as multisets). */
function changedLines(before: string, after: string): { added: string[]; removed: string[] } {
  const count = (lines: string[]) => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const a = count(before.split('\n'));
  const b = count(after.split('\n'));
  const diff = (x: Map<string, number>, y: Map<string, number>) => [...x].flatMap(([l, n]) => Array(Math.max(0, n - (y.get(l) ?? 0))).fill(l) as string[]);
  return { added: diff(b, a), removed: diff(a, b) };
}

describe('round trip', () => {
  it('covers the examples and the NOMOS fixtures', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(14);
    expect(FILES).toEqual(expect.arrayContaining(['examples/barista/barista.agent.yaml', 'examples/support/support.agent.yaml', 'test/fixtures/nomos/barista/config.agent.yaml']));
  });

  it.each(FILES)('%s: read → map → (no edit) gives the same text, and every step is on the map', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const draft = edit.readDraft(text);
    expect(draft.syntaxErrors).toEqual([]);
    const graph = agentGraph(edit.draftGraphSource(draft));
    expect(graph.nodes.filter((n) => n.kind === 'step').map((n) => n.label)).toEqual([...new Set(draft.steps.map((s) => s.id))]);
    // Renaming a step to itself is the identity edit: the text comes back byte for byte.
    const first = draft.steps[0];
    if (first) expect(edit.renameStep(text, first.id, first.id)).toBe(text);
  });

  it.each(FILES.filter((f) => edit.readDraft(readFileSync(join(root, f), 'utf8')).steps.length > 0))('%s: an edit of one step leaves every other line as written', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const step = edit.readDraft(text).steps.at(-1)!;
    const out = edit.setStepDescription(text, step.id, 'Edited by the builder.');
    // Everything before and after that step's own text is byte for byte as written.
    const item = (parseDocument(text).get('steps', true) as YAMLSeq<Node>).items[step.index]!;
    const [start, end] = item.range!;
    expect(out.startsWith(text.slice(0, start))).toBe(true);
    expect(out.endsWith(text.slice(end))).toBe(true);
    expect(changedLines(text, out).added.join('\n')).toContain('Edited by the builder.');
    expect(edit.readDraft(out).steps.at(-1)!.description).toBe('Edited by the builder.');
    expect(edit.readDraft(out).steps.map((s) => s.id)).toEqual(edit.readDraft(text).steps.map((s) => s.id));
  });
});

describe('edits', () => {
  it('adds a step and a route to it, keeping comments and the rest of the file', () => {
    const withStep = edit.addStep(barista, 'loyalty', 'Offer the loyalty card.');
    const withRoute = edit.addRoute(withStep, 'finalize_order', 'loyalty', 'The order is placed');
    expect(withRoute.startsWith(barista.slice(0, barista.indexOf('  - step_id: finalize_order')))).toBe(true);
    for (const comment of barista.split('\n').filter((l) => l.trim().startsWith('#'))) expect(withRoute).toContain(comment);
    expect(withRoute).toContain('\n\n  - step_id: loyalty\n    description: Offer the loyalty card.\n');
    expect(withRoute).toContain('      - target: loyalty\n        condition: The order is placed\n');
    const draft = edit.readDraft(withRoute);
    expect(draft.steps.map((s) => s.id)).toEqual(['greeting', 'take_order', 'finalize_order', 'loyalty']);
    expect(check(withRoute)).toMatchObject({ ok: true, errors: [] });
  });

  it('writes NOMOS field names in a NOMOS-style document', () => {
    const out = edit.addRoute(edit.addStep(support, 'survey', 'Ask for feedback.'), 'wrap_up', 'survey', 'The user is done');
    expect(out).toContain('  - id: survey\n    desc: Ask for feedback.\n');
    expect(out).toContain('      - to: survey\n        when: The user is done\n');
  });

  it('renames a step everywhere (routes, start, flows) and deletes one with its routes', () => {
    const renamed = edit.renameStep(barista, 'take_order', 'order');
    const draft = edit.readDraft(renamed);
    expect(draft.steps.map((s) => s.id)).toEqual(['greeting', 'order', 'finalize_order']);
    expect(draft.steps[0]!.routes[0]!.target).toBe('order');
    expect(draft.flows[0]!.enters).toEqual(['order']);
    expect(renamed).toContain('enters: [order]');
    expect(edit.renameStep(barista, 'greeting', 'hello')).toContain('start_step_id: hello\n');
    expect(check(renamed).ok).toBe(true);

    const deleted = edit.deleteStep(barista, 'finalize_order');
    const d = edit.readDraft(deleted);
    expect(d.steps.map((s) => s.id)).toEqual(['greeting', 'take_order']);
    expect(d.steps[1]!.routes).toEqual([]);
    // The flow lost its only exit: it went too.
    expect(d.flows).toEqual([]);
    expect(check(deleted).errors).toEqual([]);
  });

  it('sets tools, route conditions, flow entries and exits, new flows', () => {
    let out = edit.setStepTools(barista, 'greeting', ['get_menu']);
    expect(out).toContain('    available_tools: [get_menu]\n');
    out = edit.setRouteWhen(out, 'greeting', 0, 'Always');
    expect(edit.readDraft(out).steps[0]!.routes[0]!.when).toBe('Always');
    out = edit.setFlowRole(out, 'order_flow', 'greeting', 'entry', true);
    expect(edit.readDraft(out).flows[0]!.enters).toEqual(['take_order', 'greeting']);
    expect(() => edit.setFlowRole(out, 'order_flow', 'finalize_order', 'exit', false)).toThrow(edit.EditError);
    out = edit.addFlow(out, 'greeting_flow', 'greeting', 'greeting');
    expect(edit.readDraft(out).flows.map((f) => f.id)).toEqual(['order_flow', 'greeting_flow']);
    expect(check(out).errors).toEqual([]);
    out = edit.deleteRoute(out, 'greeting', 0);
    expect(edit.readDraft(out).steps[0]!.routes).toEqual([]);
    expect(() => edit.addStep(out, 'greeting')).toThrow(/exists already/);
    expect(() => edit.addRoute(out, 'greeting', 'nowhere')).toThrow(/no step "nowhere"/);
    expect(() => edit.addStep('name: [', 'x')).toThrow(/does not parse/);
  });
});
