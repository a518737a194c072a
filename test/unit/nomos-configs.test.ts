/**
 * NOMOS agents move over unchanged (issue 9, config items): every NOMOS config in test/fixtures/nomos/ (its cookbook,
 * its test fixture, its documentation) loads — as written where Stepwise can, otherwise after the porting listed in
 * PORTING — and each NOMOS config feature is read the way NOMOS reads it.
 *
 * Each config is loaded from a copy in a temporary folder with no package.json above it, as a NOMOS user's folder is.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listenEnv } from '../../runtime/env.js';
import { embeddingsLlm } from '../../src/config/embeddings.js';
import { retrieve } from '../../src/engine/memory.js';
import { validateDecision } from '../../src/engine/validate.js';
import { loadAgent, loadAgents, validateAgentFile, validateAgentFiles, type LoadedAgent } from '../../runtime/agents/load.js';
import type { ConfigIssue } from '../../src/errors.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/nomos');
const ROOT = resolve(import.meta.dirname, '../..');

/** Copies a fixture folder (or nothing) into a fresh temporary folder, applying text edits to its config. */
function copyFixture(name: string | undefined, edits: [string, string][] = [], file = 'config.agent.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'nomos-'));
  if (name) cpSync(join(FIXTURES, name), dir, { recursive: true });
  const path = join(dir, file);
  if (edits.length > 0) {
    let text = readFileSync(path, 'utf8');
    for (const [from, to] of edits) {
      if (!text.includes(from)) throw new Error(`edit target not found in ${name}: ${from}`);
      text = text.replace(from, to);
    }
    writeFileSync(path, text);
  }
  return path;
}

/** Writes one YAML file (plus optional side files) into a fresh temporary folder. */
function writeAgent(yaml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'nomos-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'config.agent.yaml'), yaml);
  return join(dir, 'config.agent.yaml');
}

const warningAt = (agent: LoadedAgent | { issues: ConfigIssue[] }, path: string) =>
  ('warnings' in agent ? agent.warnings : agent.issues).filter((w) => w.path === path && w.severity === 'warning');

/** Tools passed in Python code (no `tool_files` in the YAML): porting adds the TypeScript module. */
const ADD_TOOL_MODULE: [string, string] = ['start_step_id:', 'tools:\n  files: [tools.ts]\nstart_step_id:'];

/**
 * What each NOMOS config needs before Stepwise loads it. Beyond this, every config keeps its YAML: a Python tool
 * module (`tools.py`) loads its TypeScript port beside it (`tools.ts`, the stand-ins here), and a Python-only external
 * tool (`@pkg`, `@langchain`) is served by the port's tool of the same name (docs-secure-*). `mcp`: the remote MCP
 * server the config names — unreachable here (no internet), see the "offline" test below.
 */
const PORTING: { dir: string; asIs: true | RegExp; edits: [string, string][]; mcp?: string }[] = [
  { dir: 'barista', asIs: true, edits: [] },
  { dir: 'financial-advisor', asIs: true, edits: [] },
  { dir: 'git-search', asIs: true, edits: [], mcp: 'gitmcp' },
  { dir: 'nomos-git-bot', asIs: true, edits: [], mcp: 'nomos_git' },
  { dir: 'travel-itinery-planner', asIs: true, edits: [] },
  { dir: 'real-estate-agent', asIs: true, edits: [] },
  // Provider mistral and four `@api` tools (a `map` and NOMOS's `@api/GET/<url>` form), typed by its `defs`.
  { dir: 'master-roshi', asIs: true, edits: [] },
  { dir: 'docs-secure-jwt', asIs: true, edits: [] },
  { dir: 'docs-secure-api-key', asIs: true, edits: [] },
  { dir: 'docs-utility-bot', asIs: /unknown tool "sqrt"/, edits: [ADD_TOOL_MODULE] },
  { dir: 'docs-clockbot', asIs: /unknown tool "get_time"/, edits: [ADD_TOOL_MODULE] },
  { dir: 'test-agent', asIs: /unknown tool "test_tool"/, edits: [['tools:\n  tool_defs:', 'tools:\n  files: [tools.ts]\n  tool_defs:']] },
];

describe('NOMOS configs from NOMOS itself', () => {
  for (const { dir, asIs, edits, mcp } of PORTING.filter((p) => p.mcp === undefined)) {
    it(`${dir}: ${asIs === true ? 'loads as written' : 'loads after porting'}`, async () => {
      const written = await validateAgentFile(copyFixture(dir), { env: {} });
      const errors = written.issues.filter((i) => i.severity === 'error');
      if (asIs === true) expect(errors).toEqual([]);
      else expect(errors.map((e) => `${e.path}: ${e.message}`).join('\n')).toMatch(asIs);
      const agent = await loadAgent(copyFixture(dir, edits), { env: {} });
      expect(agent.snapshot.steps.length).toBeGreaterThan(0);
      await agent.tools.close();
    });
  }

  // No internet here: the remote MCP server is the only issue. `stepwise validate` checks the rest and warns (the
  // server's tools unchecked); loading for a worker or the API fails fast with an error naming the server.
  for (const { dir, mcp } of PORTING.filter((p) => p.mcp !== undefined)) {
    it(`${dir}: validates as written offline; loading needs its MCP server ${mcp}`, async () => {
      const written = await validateAgentFile(copyFixture(dir), { env: {} });
      expect(written.issues.filter((i) => i.severity === 'error')).toEqual([]);
      expect(written.snapshot?.steps.length).toBeGreaterThan(0);
      const unreachable = written.issues.filter((i) => i.message.startsWith(`MCP server ${mcp} `));
      expect(unreachable).toMatchObject([{ severity: 'warning', message: expect.stringMatching(/its tools were not checked/) }]);
      // The `stepwise validate` entry point (files and directories) does the same.
      const cli = await validateAgentFiles([copyFixture(dir)], { env: {} });
      expect(cli.issues.filter((i) => i.severity === 'error')).toEqual([]);
      const load = await loadAgent(copyFixture(dir), { env: {} }).catch((err: Error) => err);
      expect(load).toBeInstanceOf(Error);
      expect((load as Error).message.split('\n')).toEqual([expect.stringMatching(new RegExp(`MCP server ${mcp} \\(https://gitmcp\\.io/`))]);
    });
  }

  it('a directory of them loads every agent and skips NOMOS test specs (tests.agent.yaml)', async () => {
    const agents = await loadAgents([FIXTURES], { env: {} }).catch((err: Error) => err);
    // Some need porting, so the directory as a whole fails — but never because of general-bot/tests.agent.yaml.
    expect(agents).toBeInstanceOf(Error);
    expect((agents as Error).message).not.toContain('tests.agent.yaml');
    const good = mkdtempSync(join(tmpdir(), 'nomos-dir-'));
    for (const name of ['barista', 'financial-advisor', 'general-bot']) cpSync(join(FIXTURES, name), join(good, name), { recursive: true });
    const loaded = await loadAgents([good], { env: {} });
    expect(loaded.map((a) => a.snapshot.name).sort()).toEqual(['barista', 'financial_advisor']);
  });

  it('`stepwise validate` loads a .ts tool module (importing zod) next to a config with no package.json', async () => {
    const path = copyFixture('barista');
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/stepwise.js'), 'validate', path], {
      cwd: tmpdir(),
      env: { ...process.env, STEPWISE_AGENTS: '' },
    });
    expect(stdout).toContain('ok:');
    expect(stdout).toContain('6 tools');
  }, 60_000);
});

describe('item 1: flow memory as NOMOS writes it', () => {
  it('takes an inline llm object and retriever method "embedding", which the openai llm serves with embeddings', async () => {
    const agent = await loadAgent(copyFixture('docs-clockbot', [ADD_TOOL_MODULE]), { env: {} });
    const flow = agent.snapshot.flows[0];
    expect(flow?.memoryLlm).toBe('flows.math_workflow.memory');
    expect(agent.snapshot.llms['flows.math_workflow.memory']).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(flow?.memory).toMatchObject({ retrieverMethod: 'embedding', retrieveK: 3 });
    // openai has an embeddings API (default text-embedding-3-small): embeddings are used, nothing to warn about.
    expect(embeddingsLlm(agent.snapshot)).toMatchObject({ provider: 'openai', model: 'text-embedding-3-small' });
    expect(warningAt(agent, 'flows[0].components.memory.retriever.method')).toEqual([]);
  });

  it('falls back to BM25 with a warning naming why: anthropic has no embeddings API, the scripted model none', async () => {
    const anthropic = await loadAgent(copyFixture('docs-clockbot', [ADD_TOOL_MODULE, ['provider: openai', 'provider: anthropic']]), { env: {} });
    expect(embeddingsLlm(anthropic.snapshot)).toBeUndefined();
    expect(warningAt(anthropic, 'flows[0].components.memory.retriever.method')[0]?.message).toMatch(
      /anthropic provider has no embeddings API, so BM25 is used as the offline fallback/,
    );
    const base = 'name: k\nstart_step_id: a\nsteps: [{id: a, desc: A}]\nmemory: {retriever: {method: embedding}}\n';
    const scripted = await loadAgent(writeAgent(`${base}llm: {provider: scripted, script: s.yaml}\nembedding_model: e1\n`, { 's.yaml': '[]' }), { env: {} });
    expect(embeddingsLlm(scripted.snapshot)).toBeUndefined();
    expect(warningAt(scripted, 'memory.retriever.method')[0]?.message).toMatch(/the scripted model has no embeddings, so BM25 is used/);
    expect(warningAt(scripted, 'embedding_model')[0]?.message).toMatch(/embedding_model is not used: the scripted model has no embeddings/);
  });

  it('embedding_model as a name uses the global llm provider; as an object, its own provider', async () => {
    const base = 'name: k\nstart_step_id: a\nsteps: [{id: a, desc: A}]\n';
    const named = await loadAgent(writeAgent(`${base}llm: {provider: openai-compatible, model: m, base_url: "http://127.0.0.1:9/v1"}\nembedding_model: nomic-embed\n`), { env: {} });
    expect(embeddingsLlm(named.snapshot)).toEqual({ provider: 'openai-compatible', model: 'nomic-embed', baseUrl: 'http://127.0.0.1:9/v1' });
    expect(warningAt(named, 'embedding_model')).toEqual([]);
    const object = await loadAgent(
      writeAgent(`${base}llm: {provider: anthropic, model: claude}\nembedding_model: {provider: mistral, model: mistral-embed}\n`),
      { env: {} },
    );
    expect(embeddingsLlm(object.snapshot)).toEqual({ provider: 'mistral', model: 'mistral-embed' });
    const noDefault = await loadAgent(writeAgent(`${base}llm: {provider: groq, model: llama}\nmemory: {retriever: {method: embedding}}\n`), { env: {} });
    expect(warningAt(noDefault, 'memory.retriever.method')[0]?.message).toMatch(/groq provider has no default embeddings model: set embedding_model/);
  });

  it('passes BM25 tuning (k1, b, delta) to the retriever', async () => {
    const agent = await loadAgent(copyFixture('barista'), { env: {} });
    expect(agent.snapshot.flows[0]?.memory.bm25).toEqual({ k1: 5 });
    expect(agent.snapshot.flows[0]?.memory.retrieverMethod).toBe('bm25');
    expect(warningAt(agent, 'flows[0].metadata')).toHaveLength(1);

    // Length normalisation decides between a short exact item and a long one repeating the term.
    const items = [
      { seq: 1, turn: 1, role: 'user' as const, text: 'apple pie' },
      { seq: 2, turn: 1, role: 'user' as const, text: 'apple apple apple banana cherry date elderberry fig grape honeydew kiwi lemon mango' },
    ];
    expect(retrieve(items, 'apple', 1, { k1: 1.2, b: 1 })[0]).toBe(items[0]);
    expect(retrieve(items, 'apple', 1, { k1: 10, b: 0 })[0]).toBe(items[1]);
  });
});

describe('item 2: tools aliases and tool_defs type/default', () => {
  /** master-roshi with its dragonball-api.com base URL pointed at a local server that echoes path and query. */
  async function roshiAgainstEchoServer(): Promise<{ path: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams) }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
    const api = 'https://dragonball-api.com/api';
    const path = copyFixture('master-roshi', [[api, base], [api, base]]);
    return { path, close: () => new Promise<void>((done) => server.close(() => done())) };
  }

  it('reads files/ext/defs, turns Python types into argument schemas and fills defaults', async () => {
    const echo = await roshiAgainstEchoServer();
    try {
      const agent = await loadAgent(echo.path, { env: {} });
      expect(agent.snapshot.llms.global).toMatchObject({ provider: 'mistral' });
      // `ext`: a map of three endpoints and NOMOS's `@api/GET/<url>` form, all real HTTP tools.
      expect(agent.snapshot.tools.map((t) => t.name).sort()).toEqual(['get_character_details', 'get_characters', 'get_planet_characters', 'get_planets']);
      const chars = agent.snapshot.tools.find((t) => t.name === 'get_characters');
      expect(chars?.description).toBe('Get all characters if no params are provided');
      expect(chars?.parameters.properties).toMatchObject({
        limit: { type: 'integer', default: 10, description: 'Number of items per page' },
        gender: { type: 'string', enum: ['Male', 'Female', 'Other', 'Unknown'] },
      });
      expect(chars?.parameters.required).toEqual([]);
      const planets = agent.snapshot.tools.find((t) => t.name === 'get_planets');
      expect(planets?.parameters.required).toEqual(['isDestroyed']);

      const ctx = { sessionId: 's', stepId: 'start', agentName: 'master-roshi' };
      const signal = new AbortController().signal;
      // `limit` left out: its `default` is filled in before the request.
      const run = await agent.tools.run({ ...ctx, callId: 'c1', tool: 'get_characters', arguments: { name: 'Goku' } }, signal);
      expect(run).toMatchObject({ ok: true, result: { method: 'GET', path: '/api/characters', query: { name: 'Goku', limit: '10' } } });
      const planet = await agent.tools.run({ ...ctx, callId: 'c2', tool: 'get_planet_characters', arguments: { id: 3 } }, signal);
      expect(planet).toMatchObject({ ok: true, result: { method: 'GET', path: '/api/planets/3' } });
      await agent.tools.close();
    } finally {
      await echo.close();
    }
  });

  it('rejects a type NOMOS would not parse, at the type', async () => {
    const path = copyFixture('master-roshi', [['type: Optional[str]', 'type: Optional[strng]']]);
    const { issues } = await validateAgentFile(path, { env: {} });
    expect(issues.find((i) => i.severity === 'error')).toMatchObject({ path: 'tools.defs.get_characters.args[2].type' });
  });
});

describe('item 3 (schema part): llm optional, llm.kwargs, embedding_model, api_key', () => {
  it("uses NOMOS's default model when llm is absent, and says so", async () => {
    const agent = await loadAgent(copyFixture('test-agent', PORTING.find((p) => p.dir === 'test-agent')?.edits), { env: {} });
    expect(agent.snapshot.llms).toEqual({ global: { provider: 'openai', model: 'gpt-4o-mini' } });
    expect(warningAt(agent, 'name')[0]?.message).toMatch(/NOMOS's default, openai gpt-4o-mini/);
  });

  it('accepts kwargs and embedding_model, reads api_key: $VAR as api_key_env, refuses literal keys', async () => {
    const base = 'name: k\nstart_step_id: a\nsteps: [{id: a, desc: A}]\n';
    const agent = await loadAgent(
      writeAgent(`${base}llm: {provider: openai, model: m, api_key: "$MY_KEY", kwargs: {organization: acme}, embedding_model: e1}\nembedding_model: {provider: openai, model: text-embedding-3-small}\n`),
      { env: { MY_KEY: 'sk-secret' } },
    );
    expect(agent.snapshot.llms.global).toEqual({ provider: 'openai', model: 'm', apiKeyEnv: 'MY_KEY', kwargs: { organization: 'acme' }, embeddingModel: 'e1' });
    expect(JSON.stringify(agent.snapshot)).not.toContain('sk-secret');
    expect(agent.snapshot.embeddingModel).toEqual({ provider: 'openai', model: 'text-embedding-3-small' });
    const literal = await validateAgentFile(writeAgent(`${base}llm: {provider: openai, model: m, api_key: sk-abc}\n`), { env: {} });
    expect(literal.issues.find((i) => i.severity === 'error')?.message).toMatch(/API keys are not accepted in YAML/);
    const secretKwarg = await validateAgentFile(writeAgent(`${base}llm: {provider: openai, model: m, kwargs: {api_key: x}}\n`), { env: {} });
    expect(secretKwarg.issues.find((i) => i.severity === 'error')?.path).toBe('llm.kwargs.api_key');
  });
});

describe('item 5: display names', () => {
  it('keeps "Nomos Github Bot" as the display name and derives the id nomos-github-bot', async () => {
    // Validated, not loaded: its MCP server is remote and there is no internet here.
    const { snapshot } = await validateAgentFile(copyFixture('nomos-git-bot'), { env: {} });
    expect(snapshot?.name).toBe('nomos-github-bot');
    expect(snapshot?.displayName).toBe('Nomos Github Bot');
    const plain = await loadAgent(copyFixture('barista'), { env: {} });
    expect(plain.snapshot.name).toBe('barista');
    expect(plain.snapshot.displayName).toBeUndefined();
  });
});

describe('item 6: schemas and NOMOS answer models', () => {
  it('resolves answer_model by schema name', async () => {
    const agent = await loadAgent(copyFixture('travel-itinery-planner'), { env: {} });
    const step = agent.snapshot.steps.find((s) => s.id === 'get_basic_approval');
    expect(step?.answerModel).toMatchObject({ type: 'object', required: ['days'] });
  });

  it('reads NOMOS field maps (type: str, is_list, optional, description) and refuses Python schema files in use', async () => {
    const yaml = [
      'name: profile',
      'start_step_id: a',
      'schemas: {py: models/order.py}',
      'steps:',
      '  - id: a',
      '    desc: Collect',
      '    answer_model:',
      '      name: {type: str, description: Full name}',
      '      tags: {type: str, is_list: true}',
      '      age: {type: int, optional: true}',
      '      size: Literal["S", "M"]',
    ].join('\n');
    const agent = await loadAgent(writeAgent(yaml), { env: {} });
    expect(agent.snapshot.steps[0]?.answerModel).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', description: 'Full name' },
        tags: { type: 'array', items: { type: 'string' } },
        age: { type: 'integer' },
        size: { type: 'string', enum: ['S', 'M'] },
      },
      required: ['name', 'tags', 'size'],
      additionalProperties: false,
    });
    const py = await validateAgentFile(writeAgent(`${yaml.split('    answer_model:')[0]}    answer_model: py\n`), { env: {} });
    expect(py.issues.find((i) => i.severity === 'error')?.message).toMatch(/only JSON Schema \(\.json\) schema files/);
  });
});

describe('item 6: answer steps take text or the model, as NOMOS does', () => {
  it('accepts RESPOND with text or with the answer in a newly loaded answer step; pinned old snapshots keep requiring answer', async () => {
    const agent = (await loadAgent(copyFixture('travel-itinery-planner'), { env: {} })).snapshot;
    const step = 'get_basic_approval';
    expect(agent.steps.find((s) => s.id === step)?.answerOrText).toBe(true);
    expect(validateDecision(agent, step, { action: 'RESPOND', response: 'Does this outline work for you?' }, false).ok).toBe(true);
    expect(validateDecision(agent, step, { action: 'RESPOND', answer: { days: [] } }, false).ok).toBe(true);
    const neither = validateDecision(agent, step, { action: 'RESPOND' }, false);
    expect(neither.ok).toBe(false);
    expect(validateDecision(agent, step, { action: 'RESPOND', answer: { days: 'x' } }, false).ok).toBe(false);

    const pinned = { ...agent, configHash: 'pinned-before', steps: agent.steps.map(({ answerOrText: _, ...s }) => s) };
    expect(validateDecision(pinned, step, { action: 'RESPOND', response: 'text only' }, false).ok).toBe(false);
  });
});

describe('item 7: server, logging and other NOMOS settings', () => {
  it('uses server.port/host when PORT/HOST are unset, and warns for the rest', async () => {
    const agent = await loadAgent(copyFixture('docs-utility-bot', [ADD_TOOL_MODULE]), { env: {} });
    expect(agent.server).toEqual({ port: 8000, host: '0.0.0.0' });
    expect(listenEnv([agent], {})).toMatchObject({ PORT: '8000', HOST: '0.0.0.0' });
    expect(listenEnv([agent], { PORT: '3100' })).toMatchObject({ PORT: '3100', HOST: '0.0.0.0' });
    expect(warningAt(agent, 'server.workers')).toHaveLength(1);
    expect(warningAt(agent, 'server.security.allowed_origins')[0]?.message).toMatch(/allowed_origins is not used/);
    expect(warningAt(agent, 'schemas.order_schema')[0]?.message).toMatch(/Python/);
  });

  it('parses max_examples and threshold into the snapshot; warns for memory.type, step.flow_id, logging', async () => {
    const yaml = [
      'name: s',
      'start_step_id: a',
      'max_examples: 2',
      'threshold: 0.7',
      'memory: {type: summarization}',
      'logging: {enable: true, handlers: [{type: stderr, level: INFO}]}',
      'steps:',
      '  - {id: a, desc: A, flow_id: f, eg: [{context: hi, decision: greet, visibility: always}]}',
    ].join('\n');
    const agent = await loadAgent(writeAgent(yaml), { env: {} });
    expect(agent.snapshot).toMatchObject({ maxExamples: 2, exampleThreshold: 0.7 });
    expect(agent.snapshot.steps[0]?.examples).toEqual([{ context: 'hi', decision: 'greet', visibility: 'always' }]);
    for (const path of ['memory.type', 'steps[0].flow_id', 'logging']) expect(warningAt(agent, path)).toHaveLength(1);
  });
});

describe('item 8: known-but-unused keys warn, unknown keys fail with a suggestion', () => {
  it('fails on a typo with file:line and "did you mean"', async () => {
    const path = copyFixture('barista', [['    enters:\n      - take_coffee_order', '    entres:\n      - take_coffee_order']]);
    const { issues } = await validateAgentFile(path, { env: {} });
    const typo = issues.find((i) => i.path === 'flows[0].entres');
    expect(typo).toMatchObject({ severity: 'error', file: path, line: 74, message: 'unknown key "entres" (did you mean "enters"?)' });
    const security = copyFixture('master-roshi', [['allowed_origins:', 'allowed_origin:']]);
    expect((await validateAgentFile(security, { env: {} })).issues.find((i) => i.path === 'server.security.allowed_origin')?.message).toBe(
      'unknown key "allowed_origin" (did you mean "allowed_origins"?)',
    );
  });
});

describe('item 9: $NAME as NOMOS reads it', () => {
  it('expands a whole-value $NAME, keeps an unset one with a warning, leaves $ in text alone, keeps ${NAME} strict', async () => {
    const yaml = 'name: e\nstart_step_id: a\npersona: Prices in $USD\nsystem_message: $GREETING\nllm: {provider: openai, model: $MODEL}\nsteps: [{id: a, desc: "${DESC}"}]\n';
    const agent = await loadAgent(writeAgent(yaml), { env: { MODEL: 'gpt-4.1', DESC: 'Hello' } });
    expect(agent.snapshot.persona).toBe('Prices in $USD');
    expect(agent.snapshot.llms.global?.model).toBe('gpt-4.1');
    expect(agent.snapshot.systemMessage).toBe('$GREETING');
    expect(warningAt(agent, 'system_message')[0]?.message).toMatch(/GREETING is not set: "\$GREETING" kept as written/);
    const strict = await validateAgentFile(writeAgent(yaml), { env: { MODEL: 'm' } });
    expect(strict.issues.find((i) => i.severity === 'error')).toMatchObject({ path: 'steps[0].desc', message: expect.stringContaining('DESC is not set') });
  });
});
