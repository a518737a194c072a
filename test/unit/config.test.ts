/**
 * Agent YAML loading: normalisation of a NOMOS-style agent, and located problems (file, line, key path) for each
 * kind of broken config under test/fixtures/config/.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentSnapshot, DEFAULT_MEMORY, DEFAULT_SESSION_LIMITS, MAX_AGENT_SNAPSHOT_BYTES } from '../../src/config/agent.js';
import { loadAgent, loadAgents, validateAgentFile } from '../../runtime/agents/load.js';
import { ConfigError, type ConfigIssue, isStepwiseError } from '../../src/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'config');
const VALID = join(FIXTURES, 'valid', 'shop.agent.yaml');
const broken = (name: string) => join(FIXTURES, 'broken', `${name}.agent.yaml`);

/** The single issue at `path` (fails the test if there is none or several). */
function issueAt(issues: ConfigIssue[], path: string): ConfigIssue {
  const found = issues.filter((i) => i.path === path);
  expect(found, `issues at ${path} in ${JSON.stringify(issues, null, 1)}`).toHaveLength(1);
  return found[0] as ConfigIssue;
}

const errorsOf = (issues: ConfigIssue[]) => issues.filter((i) => i.severity === 'error');

/** Writes files into a fresh temp dir and returns the dir. */
function tempAgent(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const MINIMAL = (extra = '') => `name: mini
start_step_id: a
llm: { provider: scripted, script: script.yaml }
steps:
  - id: a
${extra}`;

describe('loadAgent on a valid NOMOS-style agent', () => {
  it('normalises aliases, defaults, llms, memory, tools and answer models', async () => {
    const loaded = await loadAgent(VALID, { env: {} });
    const s = loaded.snapshot;
    expect(loaded.file).toBe(resolve(VALID));
    // Only the note that NOMOS would ignore `llm.fast.temperature` (Stepwise sends it).
    expect(loaded.warnings.map((w) => w.path)).toEqual(['llm.fast.temperature']);
    expect(s.schemaVersion).toBe(1);
    expect(s.name).toBe('shop');
    expect(s.startStepId).toBe('greet');
    expect(s.maxErrors).toBe(3);
    expect(s.maxIter).toBe(6);
    expect(s.showStepsDescription).toBe(true);
    expect(s.steps.map((x) => x.id)).toEqual(['greet', 'browse', 'checkout', 'order_status']);

    const greet = s.steps[0];
    expect(greet?.description).toBe('Greet the customer and ask what they need.');
    expect(greet?.routes).toEqual([
      { target: 'browse', condition: 'The customer wants to shop.' },
      { target: 'order_status', condition: 'The customer asks about an order.' },
    ]);
    expect(greet?.examples).toEqual([
      { context: 'Hi there!' },
      { context: 'user: I want shoes', decision: { action: 'MOVE', step_id: 'browse' } },
    ]);
    expect(s.steps[1]?.tools).toEqual(['add_to_cart', 'add']);
    expect(s.steps[1]?.quickSuggestions).toBe(true);
    expect(s.steps[3]?.routes).toEqual([{ target: 'greet', condition: '' }]);

    const checkout = s.steps[2];
    expect(checkout?.llm).toBe('fast');
    expect(checkout?.personaOverride).toBe('You are precise about money.');
    expect(checkout?.answerModel).toEqual({
      type: 'object',
      properties: {
        orderId: { type: 'string' },
        total: { type: 'number' },
        notes: { type: 'array', items: { type: 'string' }, description: 'Free-form notes' },
      },
      required: ['orderId'],
      additionalProperties: false,
    });
    expect(s.steps[3]?.answerModel).toMatchObject({ type: 'object', required: ['orderId'] });

    expect(s.llms.global).toEqual({ provider: 'scripted', script: join(FIXTURES, 'scripts', 'shop.script.yaml') });
    expect(s.llms.fast).toEqual({ provider: 'openai', model: 'gpt-4o-mini', apiKeyEnv: 'OPENAI_API_KEY', temperature: 0.2 });

    expect(s.memory).toEqual({ ...DEFAULT_MEMORY, recentChars: 4000, retrieveK: 2, retrieverMethod: 'bm25' });
    expect(s.flows).toEqual([
      {
        id: 'purchase',
        description: 'Buying things.',
        enters: ['browse'],
        exits: ['checkout'],
        memoryLlm: 'fast',
        memory: { recentItems: 6, recentChars: 4000, maxItems: DEFAULT_MEMORY.maxItems, retrieveK: 5, retrieverMethod: 'bm25' },
      },
    ]);
    expect(s.session).toEqual({ ...DEFAULT_SESSION_LIMITS, idleTimeoutMs: 30 * 60 * 1000 });

    expect(s.tools.map((t) => t.name)).toEqual(['add_to_cart', 'checkout', 'add', 'now_map']);
    const cart = s.tools[0];
    expect(cart?.description).toBe("Put an item in the customer's cart.");
    expect(cart?.parameters).toMatchObject({
      type: 'object',
      properties: { item: { type: 'string', description: 'Product name as the customer said it.' } },
      required: ['item'],
    });
    expect(cart?.parameters).not.toHaveProperty('$schema');
    expect(loaded.tools.descriptors()).toEqual(s.tools);
    expect(loaded.tools.has('add') && loaded.tools.has('checkout')).toBe(true);
    expect(AgentSnapshot.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  it('interpolates $VAR, ${VAR}, ${VAR:-default} and $$ from the given env', async () => {
    const withDefaults = await loadAgent(VALID, { env: {} });
    expect(withDefaults.snapshot.persona).toBe('You are a friendly shop assistant. Prices are in $ (USD).');
    const withEnv = await loadAgent(VALID, { env: { SHOP_MODEL: 'gpt-4.1', SHOP_CURRENCY: 'EUR' } });
    expect(withEnv.snapshot.llms.fast?.model).toBe('gpt-4.1');
    expect(withEnv.snapshot.persona).toContain('(EUR)');
  });

  it('keeps configHash stable across loads and changes it with the content', async () => {
    const a = await loadAgent(VALID, { env: {} });
    const b = await loadAgent(VALID, { env: {} });
    expect(a.snapshot.configHash).toMatch(/^[0-9a-f]{12}$/);
    expect(b.snapshot.configHash).toBe(a.snapshot.configHash);
    const c = await loadAgent(VALID, { env: { SHOP_MODEL: 'other-model' } });
    expect(c.snapshot.configHash).not.toBe(a.snapshot.configHash);

    const dir = tempAgent({ 'script.yaml': '[]', 'agent.yaml': MINIMAL('    desc: one\n') });
    const first = (await loadAgent(join(dir, 'agent.yaml'))).snapshot.configHash;
    writeFileSync(join(dir, 'agent.yaml'), `start_step_id: a\nname: mini\n${MINIMAL('    desc: one\n').split('\n').slice(2).join('\n')}`);
    expect((await loadAgent(join(dir, 'agent.yaml'))).snapshot.configHash).toBe(first);
    writeFileSync(join(dir, 'agent.yaml'), MINIMAL('    desc: two\n'));
    expect((await loadAgent(join(dir, 'agent.yaml'))).snapshot.configHash).not.toBe(first);
  });

  it('applies defaults and turns a single llm config into { global }', async () => {
    const dir = tempAgent({ 'script.yaml': '[]', 'agent.yaml': MINIMAL() });
    const s = (await loadAgent(join(dir, 'agent.yaml'))).snapshot;
    expect(s.llms).toEqual({ global: { provider: 'scripted', script: join(dir, 'script.yaml') } });
    expect(s).toMatchObject({ persona: '', systemMessage: '', maxErrors: 3, maxIter: 10, showStepsDescription: false });
    expect(s.memory).toEqual(DEFAULT_MEMORY);
    expect(s.session).toEqual(DEFAULT_SESSION_LIMITS);
    expect(s.steps[0]).toEqual({ id: 'a', description: '', routes: [], tools: [], examples: [], quickSuggestions: false, autoFlow: false });
  });

  it('continues as new after 100 turns unless session.max_turns_per_run says otherwise, pinned in the snapshot', async () => {
    // 100, not the former 500: an evicted session replays its run on its next turn (bench:scale --cold, docs/production.md#sizing).
    const dir = tempAgent({ 'script.yaml': '[]', 'agent.yaml': MINIMAL() });
    expect((await loadAgent(join(dir, 'agent.yaml'))).snapshot.session.maxTurnsPerRun).toBe(100);
    const set = tempAgent({ 'script.yaml': '[]', 'agent.yaml': `${MINIMAL()}session:\n  max_turns_per_run: 500\n` });
    expect((await loadAgent(join(set, 'agent.yaml'))).snapshot.session.maxTurnsPerRun).toBe(500);
  });
});

describe('located config problems', () => {
  it('reports a YAML syntax error with file, line and column', async () => {
    const { snapshot, issues } = await validateAgentFile(broken('yaml-syntax'));
    expect(snapshot).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: broken('yaml-syntax'), line: 5, column: 11, severity: 'error' });
    expect(issues[0]?.message).toMatch(/YAML syntax error/);
  });

  it('points an unknown key at the key itself', async () => {
    const { issues } = await validateAgentFile(broken('unknown-key'));
    expect(issueAt(issues, 'steps[1].descrption')).toMatchObject({ line: 10, column: 5, message: 'unknown key "descrption" (did you mean "description"?)' });
  });

  it('reports an unknown route target at the target', async () => {
    const { issues } = await validateAgentFile(broken('unknown-target'));
    expect(errorsOf(issues)).toHaveLength(1);
    const issue = issueAt(issues, 'steps[1].routes[1].target');
    expect(issue).toMatchObject({ file: broken('unknown-target'), line: 11, severity: 'error' });
    expect(issue.message).toContain('"nowhere"');
  });

  it('reports a step tool that no tool module provides', async () => {
    const { issues } = await validateAgentFile(broken('unknown-tool'));
    const issue = issueAt(issues, 'steps[0].available_tools[1]');
    expect(issue.line).toBe(10);
    expect(issue.message).toMatch(/unknown tool "subtract".*add/);
  });

  it('reports a tool NOMOS received as a Python object once, at its first reference, saying what to do', async () => {
    const file = broken('tools-as-python-objects');
    const { issues } = await validateAgentFile(file);
    const unknown = errorsOf(issues).filter((i) => i.message.startsWith('unknown tool'));
    // One issue per missing tool (get_menu_items is named by 3 steps), not one per reference.
    expect(unknown.map((i) => i.path)).toEqual(['steps[0].available_tools[0]', 'steps[1].available_tools[1]']);
    const [menu, order] = unknown;
    expect(menu).toMatchObject({ file, line: 7 });
    expect(menu!.message).toContain('unknown tool "get_menu_items" (loaded tools: none; referenced 2 more times)');
    expect(menu!.message).toContain('write a TypeScript module exporting a tool named "get_menu_items" and list it under tools.files');
    expect(menu!.message).toContain('README.md#moving-from-nomos');
    expect(order!.message).toContain('unknown tool "place_order" (loaded tools: none)');
  });

  it('reports a start step that does not exist', async () => {
    const { issues } = await validateAgentFile(broken('missing-start'));
    const issue = issueAt(issues, 'start_step_id');
    expect(issue).toMatchObject({ line: 2, column: 16 });
    expect(issue.message).toContain('"welcome"');
  });

  it('reports a flow naming an unknown step', async () => {
    const { issues } = await validateAgentFile(broken('flow-unknown-step'));
    expect(issueAt(issues, 'flows[0].exits[1]')).toMatchObject({ line: 13, message: 'flow "f" exits unknown step "c"' });
  });

  it('rejects a field given together with its alias', async () => {
    const { issues } = await validateAgentFile(broken('alias-conflict'));
    expect(issueAt(issues, 'steps[0].id')).toMatchObject({ line: 6, column: 5 });
    expect(issueAt(issues, 'steps[0].routes[0].to').line).toBe(9);
    expect(issues.every((i) => /both "(step_id|target)" and its alias/.test(i.message))).toBe(true);
  });

  it('names each unset environment variable and where it is used; defaults apply', async () => {
    const { issues } = await validateAgentFile(broken('unset-env'), { env: {} });
    expect(errorsOf(issues)).toHaveLength(1);
    expect(issueAt(issues, 'persona')).toMatchObject({ line: 3, severity: 'error' });
    expect(issueAt(issues, 'persona').message).toContain('STEPWISE_TEST_UNSET_VAR');
    // A whole-value `$NAME` reads as NOMOS reads it: kept as written when unset, with a warning.
    expect(issueAt(issues, 'llm.model')).toMatchObject({ line: 6, severity: 'warning' });
    expect(issueAt(issues, 'llm.model').message).toContain('"$STEPWISE_TEST_MODEL" kept as written');

    const ok = await loadAgent(broken('unset-env'), { env: { STEPWISE_TEST_UNSET_VAR: 'x', STEPWISE_TEST_MODEL: 'm' } });
    expect(ok.snapshot.llms.global).toMatchObject({ model: 'm', temperature: 0.5 });
    expect(ok.snapshot.persona).toBe('Hello from x.');
  });

  it('warns about unreachable steps without failing', async () => {
    const loaded = await loadAgent(broken('unreachable'));
    expect(loaded.warnings.map((w) => w.path)).toEqual(['steps[2].id']);
    const island = issueAt(loaded.warnings, 'steps[2].id');
    expect(island).toMatchObject({ line: 8, severity: 'warning' });
    expect(island.message).toContain('"island" is unreachable');
  });

  it('names the file of each broken tool module', async () => {
    const { issues } = await validateAgentFile(broken('bad-tool-modules'));
    expect(issueAt(issues, 'tools.tool_files[0]')).toMatchObject({ line: 6 });
    expect(issueAt(issues, 'tools.tool_files[0]').message).toMatch(/missing\.ts not found/);
    expect(issueAt(issues, 'tools.tool_files[1]').message).toMatch(/no-tools-export\.mjs.*no `tools` export/);
    expect(issueAt(issues, 'tools.tool_files[2]').message).toMatch(/throws-on-import\.mjs.*boom at import/);
    expect(issueAt(issues, 'tools.tool_files[4]').message).toMatch(/duplicate tool name "add" in \.\.\/tools\/dup-add\.mjs.*math-tools\.mjs/);
    expect(issueAt(issues, 'tools.tool_files[5]').message).toMatch(/\.ts, \.js or \.mjs/);
    expect(issues.filter((i) => i.path === 'tools.tool_files[3]')).toEqual([]);
  });

  it('reports llm references, duplicate ids, tool_defs, scripts and idle_timeout', async () => {
    const { issues } = await validateAgentFile(broken('bad-refs'));
    expect(issueAt(issues, 'llm.global.script')).toMatchObject({ line: 4 });
    expect(issueAt(issues, 'steps[0].overrides.llm')).toMatchObject({ line: 7 });
    expect(issueAt(issues, 'steps[0].overrides.llm').message).toContain('"turbo"');
    expect(issueAt(issues, 'steps[1].id').message).toContain('duplicate step id "a"');
    expect(issueAt(issues, 'flows[0].components.memory.llm')).toMatchObject({ line: 14 });
    expect(issueAt(issues, 'tools.tool_defs.multiply')).toMatchObject({ line: 18, column: 5 });
    expect(issueAt(issues, 'tools.tool_defs.add.args[0].key').message).toContain('no argument "c"');
    expect(issueAt(issues, 'session.idle_timeout')).toMatchObject({ line: 24 });
    expect(issueAt(issues, 'session.idle_timeout').message).toContain('"soon"');
    const lines = issues.map((i) => i.line ?? 0);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('loadAgent throws one non-retryable ConfigError listing every error', async () => {
    const err = await loadAgent(broken('bad-refs')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(isStepwiseError(err) && err.code).toBe('INVALID_CONFIG');
    const issues = (err as ConfigError).issues;
    expect(issues).toHaveLength(7);
    expect((err as Error).message).toContain(`${broken('bad-refs')}:7:23 steps[0].overrides.llm: unknown llm "turbo"`);
  });

  it('refuses an agent whose snapshot passes MAX_AGENT_SNAPSHOT_BYTES (it rides in every workflow input)', async () => {
    const dir = tempAgent({ 'script.yaml': '[]', 'big.agent.yaml': MINIMAL(`    description: ${'d'.repeat(MAX_AGENT_SNAPSHOT_BYTES)}\n`) });
    const err = await loadAgent(join(dir, 'big.agent.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`over the ${MAX_AGENT_SNAPSHOT_BYTES}-byte limit`));
    // Just under the limit loads.
    const fine = tempAgent({ 'script.yaml': '[]', 'ok.agent.yaml': MINIMAL(`    description: ${'d'.repeat(MAX_AGENT_SNAPSHOT_BYTES - 10_000)}\n`) });
    expect((await loadAgent(join(fine, 'ok.agent.yaml'))).snapshot.name).toBe('mini');
  });

  it('maps schema errors inside unions and missing keys to the right place', async () => {
    const dir = tempAgent({
      'script.yaml': '[]',
      'one.agent.yaml': 'name: one\nsteps: [{ id: a }]\nllm:\n  provider: openai\n  model: m\n  colour: blue\n',
      'map.agent.yaml': 'name: map\nstart_step_id: a\nsteps: [{ id: a }]\nllm:\n  global: { provider: scripted, script: script.yaml }\n  fast:\n    provider: openai\n',
      'am.agent.yaml': MINIMAL('    answer_model: 42\n'),
    });
    const one = (await validateAgentFile(join(dir, 'one.agent.yaml'))).issues;
    expect(issueAt(one, 'llm.colour')).toMatchObject({ line: 6, column: 3, message: 'unknown key "colour"' });
    expect(issueAt(one, 'start_step_id').message).toBe('missing required key "start_step_id"');
    const map = (await validateAgentFile(join(dir, 'map.agent.yaml'))).issues;
    expect(issueAt(map, 'llm.fast.model')).toMatchObject({ line: 6, column: 3, message: 'the openai provider needs `model`' });
    const am = (await validateAgentFile(join(dir, 'am.agent.yaml'))).issues;
    expect(issueAt(am, 'steps[0].answer_model')).toMatchObject({ line: 6, message: 'invalid value: expected string or object' });
  });
});

describe('odd documents', () => {
  it.each([
    ['an empty file', '', 'expected object'],
    ['a scalar document', 'just text\n', 'expected object'],
    ['a step that is not a map', 'name: x\nstart_step_id: a\nllm: { provider: scripted, script: s }\nsteps: [a]\n', 'expected object'],
    ['an empty steps list', 'name: x\nstart_step_id: a\nllm: { provider: scripted, script: s }\nsteps: []\n', '>=1'],
  ])('reports %s without throwing', async (_label, text, message) => {
    const dir = tempAgent({ 'agent.yaml': text });
    const { snapshot, issues } = await validateAgentFile(join(dir, 'agent.yaml'));
    expect(snapshot).toBeUndefined();
    expect(errorsOf(issues).length).toBeGreaterThan(0);
    expect(issues.map((i) => i.message).join('\n')).toContain(message);
  });

  it('refuses an environment value in an llm header (it would enter workflow history), naming file, line and path', async () => {
    const written = ['"$TEAM"', '"${TEAM}"', '"team-${TEAM}"', '"$UNSET_VAR"', '"${UNSET_VAR:-x}"'];
    for (const value of written) {
      const dir = tempAgent({
        'script.yaml': '[]',
        'agent.yaml': MINIMAL().replace('script: script.yaml }', `script: script.yaml, headers: { X-Team: ${value} } }`),
      });
      const { snapshot, issues } = await validateAgentFile(join(dir, 'agent.yaml'), { env: { TEAM: 'blue' } });
      expect(snapshot, value).toBeUndefined();
      const issue = issueAt(errorsOf(issues), 'llm.headers.X-Team');
      expect(issue, value).toMatchObject({ file: join(dir, 'agent.yaml'), line: 3, severity: 'error' });
      expect(issue.message).toMatch(/environment value.*llm header.*workflow history.*api_key_env/);
      expect(issue.message).not.toContain('blue');
    }
    const named = tempAgent({
      'script.yaml': '[]',
      'agent.yaml': MINIMAL().replace('llm: { provider: scripted, script: script.yaml }', 'llm:\n  global: { provider: scripted, script: script.yaml }\n  fast: { provider: openai, model: m, headers: { Authorization: "Bearer ${TOKEN}" } }'),
    });
    await expect(loadAgent(join(named, 'agent.yaml'), { env: { TOKEN: 't' } })).rejects.toThrow(/agent\.yaml:5.*llm\.fast\.headers\.Authorization/s);
    const embeddings = tempAgent({
      'script.yaml': '[]',
      'agent.yaml': `${MINIMAL()}embedding_model: { provider: openai, model: text-embedding-3-small, headers: { X-Key: $KEY } }\n`,
    });
    const { issues } = await validateAgentFile(join(embeddings, 'agent.yaml'), { env: { KEY: 'k' } });
    expect(issueAt(errorsOf(issues), 'embedding_model.headers.X-Key').line).toBe(6);
  });

  it('keeps literal llm headers (and `$$` escapes) as written', async () => {
    const dir = tempAgent({
      'script.yaml': '[]',
      'agent.yaml': MINIMAL().replace('script: script.yaml }', 'script: script.yaml, headers: { X-Team: blue, X-Price: "$$5" } }'),
    });
    const loaded = await loadAgent(join(dir, 'agent.yaml'), { env: {} });
    expect(loaded.snapshot.llms.global?.headers).toEqual({ 'X-Team': 'blue', 'X-Price': '$5' });
    expect(loaded.warnings).toEqual([]);
  });
});

describe('answer_model forms', () => {
  it('reports bad field types, unknown keys, missing files and schemas zod cannot read', async () => {
    const { issues } = await validateAgentFile(broken('bad-answer-models'));
    expect(issueAt(issues, 'steps[0].answer_model.qty')).toMatchObject({ line: 8 });
    expect(issueAt(issues, 'steps[0].answer_model.qty').message).toContain('unknown field type "integr"');
    expect(issueAt(issues, 'steps[0].answer_model.name.optinal')).toMatchObject({ line: 9, column: 29 });
    expect(issueAt(issues, 'steps[1].answer_model').message).toMatch(/nope\.json not found/);
    expect(issueAt(issues, 'steps[2].answer_model').message).toMatch(/zod can read/);
  });

  it('accepts an inline JSON Schema as written', async () => {
    const schema = "{ type: object, properties: { ok: { type: boolean } }, required: [ok] }";
    const dir = tempAgent({ 'script.yaml': '[]', 'agent.yaml': MINIMAL(`    answer_model: ${schema}\n`) });
    const s = (await loadAgent(join(dir, 'agent.yaml'))).snapshot;
    expect(s.steps[0]?.answerModel).toEqual({ type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] });
  });
});

describe('idle_timeout', () => {
  it.each([
    ['30m', 1_800_000],
    ['2 days', 172_800_000],
    ['1.5h', 5_400_000],
    ['5000', 5000],
    [90000, 90000],
  ])('parses %j', async (value, expected) => {
    const dir = tempAgent({ 'script.yaml': '[]', 'agent.yaml': `${MINIMAL()}session:\n  idle_timeout: ${JSON.stringify(value)}\n` });
    expect((await loadAgent(join(dir, 'agent.yaml'))).snapshot.session.idleTimeoutMs).toBe(expected);
  });

  it.each(['soon', '-5m', '0'])('rejects %j with its location', async (value) => {
    const dir = tempAgent({ 'script.yaml': '[]', 'agent.yaml': `${MINIMAL()}session:\n  idle_timeout: "${value}"\n` });
    const { issues } = await validateAgentFile(join(dir, 'agent.yaml'));
    expect(issueAt(issues, 'session.idle_timeout')).toMatchObject({ line: 7, severity: 'error' });
  });
});

describe('loadAgents', () => {
  it('finds agent files in a directory and one level down', async () => {
    const dir = tempAgent({ 'script.yaml': '[]' });
    writeFileSync(join(dir, 'mini.agent.yaml'), MINIMAL());
    writeFileSync(join(dir, 'notes.yaml'), 'not: an agent\n');
    const sub = join(dir, 'second');
    mkdirSync(sub);
    writeFileSync(join(sub, 'script.yaml'), '[]');
    writeFileSync(join(sub, 'config.agent.yaml'), MINIMAL().replace('name: mini', 'name: second'));
    const agents = await loadAgents([dir]);
    expect(agents.map((a) => a.snapshot.name)).toEqual(['mini', 'second']);
    expect(agents[1]?.file).toBe(join(sub, 'config.agent.yaml'));
  });

  it('rejects duplicate agent names, missing paths and empty directories', async () => {
    const err = (await loadAgents([join(FIXTURES, 'dupes'), join(FIXTURES, 'nope'), join(FIXTURES, 'schemas')]).catch(
      (e: unknown) => e,
    )) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    const messages = err.issues.map((i) => `${i.file} ${i.path}: ${i.message}`);
    expect(messages).toContainEqual(expect.stringMatching(/dupes\/a\/agent\.yaml name: duplicate agent name "twin" \(also in .*dupes\/b\.agent\.yaml\)/));
    expect(messages).toContainEqual(expect.stringMatching(/nope : no such file or directory/));
    expect(messages).toContainEqual(expect.stringMatching(/schemas : no \*\.agent\.yaml/));
  });
});
