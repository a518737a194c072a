/**
 * The flow builder's routes (api/routes/agent-builder.ts) on the real app with `inject()`: the map of the example
 * agents, `POST /agents/validate` (same checks as `stepwise validate`, always 200, `sessions:read`), and the
 * `stepwise dev` source routes over a real file in a temporary directory (absent without a source store).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSourceStore } from '../../api/routes/agent-builder.js';
import { sourceHash } from '../../api/routes/agent-builder.js';
import { hashApiKey } from '../../api/auth/keys.js';
import { AgentGraph } from '../../src/config/graph.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { loadAgent } from '../../runtime/agents/load.js';
import { build, call, expectError, type Harness } from '../support/api.js';

const root = join(import.meta.dirname, '..', '..');
const baristaFile = join(root, 'examples', 'barista', 'barista.agent.yaml');
const supportFile = join(root, 'examples', 'support', 'support.agent.yaml');

let barista: AgentSnapshot;
let support: AgentSnapshot;
beforeAll(async () => {
  barista = (await loadAgent(baristaFile, { env: {} })).snapshot;
  support = (await loadAgent(supportFile, { env: {} })).snapshot;
});

describe('GET /agents/:agentId/graph', () => {
  it("draws the barista: every step, route, flow and tool, the start, the flow's entry and exit", async () => {
    const h = await build({ agents: [barista] });
    try {
      const { res, body } = await call(h.app, 'GET', '/agents/barista/graph');
      expect(res.statusCode).toBe(200);
      const graph = AgentGraph.parse(body);
      expect(graph.nodes.filter((n) => n.kind === 'step')).toEqual([
        { id: 'step:greeting', kind: 'step', label: 'greeting', start: true },
        { id: 'step:take_order', kind: 'step', label: 'take_order', flowId: 'order_flow', entry: true },
        { id: 'step:finalize_order', kind: 'step', label: 'finalize_order', flowId: 'order_flow', exit: true },
      ]);
      expect(graph.nodes.filter((n) => n.kind === 'flow')).toEqual([{ id: 'flow:order_flow', kind: 'flow', label: 'order_flow' }]);
      expect(graph.nodes.filter((n) => n.kind === 'tool').map((n) => n.label).sort()).toEqual(['add_to_cart', 'get_cart', 'get_menu', 'place_order', 'remove_from_cart']);
      expect(graph.edges.filter((e) => e.kind === 'route')).toEqual([
        { from: 'step:greeting', to: 'step:take_order', kind: 'route', when: 'The customer wants to order or asks what is on the menu' },
        { from: 'step:take_order', to: 'step:finalize_order', kind: 'route', when: 'The customer has finished adding items' },
        { from: 'step:finalize_order', to: 'step:take_order', kind: 'route', when: 'The customer wants to change the order before it is placed' },
      ]);
      expect(graph.edges.filter((e) => e.kind === 'tool' && e.from === 'step:finalize_order').map((e) => e.to)).toEqual(['tool:get_cart', 'tool:place_order']);
      expectError(await call(h.app, 'GET', '/agents/nope/graph'), 404, 'AGENT_NOT_FOUND');
    } finally {
      await h.app.close();
    }
  });

  it('is in the OpenAPI document with its node and edge shapes', async () => {
    const h = await build({ agents: [support] });
    try {
      await h.app.ready();
      const doc = h.app.swagger() as any;
      const op = doc.paths['/agents/{agentId}/graph'].get;
      const schema = op.responses['200'].content['application/json'].schema;
      expect(Object.keys(schema.properties)).toEqual(['nodes', 'edges']);
      expect(schema.properties.nodes.items.properties.kind.enum).toEqual(['step', 'flow', 'tool']);
      expect(schema.properties.edges.items.properties.kind.enum).toEqual(['route', 'tool']);
      expect(doc.paths['/agents/validate'].post).toBeDefined();
      // Outside `stepwise dev` there are no source routes.
      expect(doc.paths['/agents/{agentId}/source']).toBeUndefined();
      const graph = AgentGraph.parse((await call(h.app, 'GET', '/agents/support/graph')).body);
      expect(graph.nodes.find((n) => n.id === 'step:diagnose')).toEqual({ id: 'step:diagnose', kind: 'step', label: 'diagnose', flowId: 'incident', entry: true });
      // open_ticket sits between the entry and the exit: inside the flow.
      expect(graph.nodes.find((n) => n.id === 'step:open_ticket')?.flowId).toBe('incident');
      expect(graph.nodes.find((n) => n.id === 'step:triage')).toEqual({ id: 'step:triage', kind: 'step', label: 'triage', start: true });
    } finally {
      await h.app.close();
    }
  });
});

describe('POST /agents/validate', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await build({ agents: [barista] });
  });
  afterAll(async () => {
    await h.app.close();
  });

  it('accepts the example as it is, checking its tools against the loaded agent', async () => {
    const yaml = await readFile(baristaFile, 'utf8');
    const { res, body } = await call(h.app, 'POST', '/agents/validate', { yaml });
    expect(res.statusCode).toBe(200);
    expect(body).toEqual({ ok: true, errors: [], warnings: [] });
  });

  it('reports errors with their key path, line and column, as stepwise validate does', async () => {
    const yaml = (await readFile(baristaFile, 'utf8')).replace('- target: finalize_order', '- target: finalise_order').replace('[get_cart, place_order]', '[get_cart, place_order, refund]');
    const { res, body } = await call(h.app, 'POST', '/agents/validate', { yaml });
    expect(res.statusCode).toBe(200);
    expect(body.ok).toBe(false);
    const line = (needle: string) => yaml.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(body.errors).toEqual([
      expect.objectContaining({ path: 'steps[1].routes[0].target', line: line('finalise_order'), message: 'route target "finalise_order" is not a step' }),
      expect.objectContaining({ path: 'steps[2].available_tools[2]', line: line('refund]'), message: expect.stringContaining('unknown tool "refund"') }),
    ]);
    expect(body.errors[0].column).toBeGreaterThan(1);
  });

  it('answers 200 for anything: syntax errors, not an agent, NOMOS aliases, unknown agents', async () => {
    const syntax = await call(h.app, 'POST', '/agents/validate', { yaml: 'name: [unclosed' });
    expect(syntax.res.statusCode).toBe(200);
    expect(syntax.body.errors[0]).toMatchObject({ line: 1, message: expect.stringMatching(/^YAML syntax error/) });
    const scalar = await call(h.app, 'POST', '/agents/validate', { yaml: '42' });
    expect(scalar.body.ok).toBe(false);
    const empty = await call(h.app, 'POST', '/agents/validate', { yaml: '' });
    expect(empty.body.ok).toBe(false);
    const nomos = await call(h.app, 'POST', '/agents/validate', {
      yaml: 'name: other\npersona: p\nstart_step_id: a\nsteps:\n  - id: a\n    desc: d\n    tools: [anything]\n    paths:\n      - to: b\n        when: w\n  - id: b\n    desc: d\n',
    });
    // No loaded agent is called "other": tools are not checked (said as a warning), the rest is.
    expect(nomos.body.ok).toBe(true);
    expect(nomos.body.warnings.map((w: { message: string }) => w.message)).toEqual(expect.arrayContaining([expect.stringContaining('tool names are not checked')]));
    const bomb = await call(h.app, 'POST', '/agents/validate', { yaml: `a: &a [x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [*${i === 0 ? 'a' : `b${i - 1}`}, *${i === 0 ? 'a' : `b${i - 1}`}]`).join('\n')}\n` });
    expect(bomb.res.statusCode).toBe(200);
    expect(bomb.body.ok).toBe(false);
  });

  it('never reads the environment, never loads code, never reads files outside the agent', async () => {
    process.env.STEPWISE_TEST_SECRET = 'hunter2-secret';
    try {
      const yaml = (await readFile(baristaFile, 'utf8'))
        .replace('start_step_id: greeting', 'start_step_id: ${STEPWISE_TEST_SECRET}')
        .replace('tool_files: [./tools.ts]', 'tool_files: [/etc/passwd.js, ./nope.ts]');
      const { body } = await call(h.app, 'POST', '/agents/validate', { yaml });
      expect(JSON.stringify(body)).not.toContain('hunter2');
      expect(body.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'start_step_id', message: expect.stringContaining('$STEPWISE_TEST_SECRET is not expanded') })]));
      // The tool modules are not imported (nor reported missing): the loaded agent's tools are used.
      expect(body.errors).toEqual([]);
    } finally {
      delete process.env.STEPWISE_TEST_SECRET;
    }
  });

  it('needs sessions:read only (a read-only key may validate), and a credential', async () => {
    const auth = { keys: [{ id: 'reader', hash: hashApiKey('read-key'), scopes: ['sessions:read' as const] }] };
    const authed = await build({ agents: [barista], app: { auth } });
    try {
      expect((await call(authed.app, 'POST', '/agents/validate', { yaml: 'x: 1' }, 'read-key')).res.statusCode).toBe(200);
      expectError(await call(authed.app, 'POST', '/agents/validate', { yaml: 'x: 1' }), 401, 'UNAUTHORIZED');
      expect((await call(authed.app, 'GET', '/agents/barista/graph', undefined, 'read-key')).res.statusCode).toBe(200);
    } finally {
      await authed.app.close();
    }
  });
});

describe('source routes (`stepwise dev`)', () => {
  let dir: string;
  let file: string;
  let h: Harness;
  const reloads: string[] = [];
  beforeAll(async () => {
    // Beside the examples, so the copied tool module's `../../src/tools.js` import resolves (dot dirs are not agents).
    dir = await mkdtemp(join(root, 'examples', '.builder-test-'));
    await cp(join(root, 'examples', 'barista'), dir, { recursive: true });
    file = join(dir, 'barista.agent.yaml');
    const agents: AgentSnapshot[] = [barista];
    const sources: AgentSourceStore = {
      fileOf: (id) => (id === 'barista' ? file : undefined),
      async reload(id) {
        reloads.push(id);
        const next = await loadAgent(file, { env: {} });
        h.agents.set(id, next.snapshot);
        return next.snapshot;
      },
    };
    h = await build({ agents, app: { agentSources: sources } });
  });
  afterAll(async () => {
    await h.app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file with its hash; a save with that hash writes and reloads; a stale hash is 409 SOURCE_CHANGED', async () => {
    const read = await call(h.app, 'GET', '/agents/barista/source');
    expect(read.res.statusCode).toBe(200);
    const original = await readFile(file, 'utf8');
    expect(read.body).toMatchObject({ agentId: 'barista', yaml: original, hash: sourceHash(original), configHash: barista.configHash });

    const edited = original.replace('max_iter: 10', 'max_iter: 9');
    const saved = await call(h.app, 'PUT', '/agents/barista/source', { yaml: edited, baseHash: read.body.hash });
    expect(saved.res.statusCode, saved.res.body).toBe(200);
    expect(await readFile(file, 'utf8')).toBe(edited);
    expect(reloads).toEqual(['barista']);
    expect(saved.body.configHash).not.toBe(barista.configHash);
    expect(h.agents.get('barista')?.maxIter).toBe(9);

    // Someone else changed the file meanwhile: the old hash no longer matches, nothing is written.
    await writeFile(file, `${edited}# edited in an editor\n`);
    const stale = await call(h.app, 'PUT', '/agents/barista/source', { yaml: original, baseHash: saved.body.hash });
    expectError(stale, 409, 'SOURCE_CHANGED');
    expect(await readFile(file, 'utf8')).toBe(`${edited}# edited in an editor\n`);
  });

  it('refuses YAML that does not load, keeping the file and the agent as they were', async () => {
    const before = await readFile(file, 'utf8');
    const configHash = h.agents.get('barista')!.configHash;
    const bad = await call(h.app, 'PUT', '/agents/barista/source', { yaml: before.replace('start_step_id: greeting', 'start_step_id: nowhere'), baseHash: sourceHash(before) });
    const error = expectError(bad, 400, 'INVALID_CONFIG');
    expect(JSON.stringify(error.details)).toContain('start step \\"nowhere\\" is not a step');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(h.agents.get('barista')!.configHash).toBe(configHash);
    expectError(await call(h.app, 'PUT', '/agents/barista/source', { yaml: before.replace('name: barista', 'name: other'), baseHash: sourceHash(before) }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'GET', '/agents/nope/source'), 404, 'AGENT_NOT_FOUND');
  });
});
