/**
 * Runs an agent test file (./schema.ts) through the same engine, activities and executors as `stepwise chat`
 * (src/engine/driver.ts `runTurn` over cli/local-executors.ts), in this process, one fresh session per case.
 *
 * A unit case starts from its `context` (step, history, summaries), sends `input` as one turn and checks the turn.
 * A scenario case sends its scripted `inputs`, or — with a judge `llm` — lets the judge play the user for up to
 * `max_turns` turns (NOMOS `ScenarioRunner`: the agent must END before then and the simulated user must not assert).
 * Checks: `expect` (structural, always), `expectation` (the judge, when an `llm` is configured); `invalid: true`
 * inverts the outcome. A case with nothing to check is skipped.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import type { AgentSnapshot, LlmConfig } from '../../src/config/agent.js';
import { type LoadedAgent, loadAgent } from '../../runtime/agents/load.js';
import { runTurn } from '../../src/engine/driver.js';
import { initialState } from '../../src/engine/engine.js';
import type { MemoryItem, SessionState, TurnResult } from '../../src/engine/types.js';
import { localExecutors } from '../local-executors.js';
import { judge, nextUserInput, type TranscriptLine } from './judge.js';
import { type Expect, type ScenarioCase, TestsFile, type UnitCase } from './schema.js';

/** The tests file, the agent or the judge cannot be used (the command exits 2). */
export class TestConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestConfigError';
  }
}

/** Outcome of one case. `durationMs` in milliseconds. */
export interface CaseResult {
  suite: 'unit' | 'e2e';
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  message?: string;
  durationMs: number;
  transcript: TranscriptLine[];
}

export interface RunTestsOptions {
  env?: NodeJS.ProcessEnv;
  /** `fetch` for the providers (tests point it nowhere special; kept for symmetry with `ModelCache`). */
  fetch?: typeof fetch;
}

interface Loaded {
  file: TestsFile;
  agent: LoadedAgent;
  judgeLlm?: LlmConfig;
}

/**
 * Reads and validates a tests file and its agent.
 *
 * @throws TestConfigError for a missing or invalid tests file, a missing or invalid agent config, or a context that
 *   names an unknown step.
 */
export async function loadTests(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Loaded> {
  if (!existsSync(path)) throw new TestConfigError(`tests file ${path} not found`);
  const doc = parseDocument(readFileSync(path, 'utf8'));
  if (doc.errors.length > 0) throw new TestConfigError(`${path}: not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const parsed = TestsFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TestConfigError(`${path}: ${issues.join('; ')}`);
  }
  const file = parsed.data;
  const dir = dirname(resolve(path));
  const agentPath = file.agent ? resolve(dir, file.agent) : defaultAgentPath(dir);
  let agent: LoadedAgent;
  try {
    agent = await loadAgent(agentPath, { env });
  } catch (err) {
    throw new TestConfigError((err as Error).message);
  }
  for (const [name, c] of Object.entries(file.unit ?? {})) {
    const stepId = c.context?.current_step_id ?? c.context?.step_id;
    if (stepId && !agent.snapshot.steps.some((s) => s.id === stepId)) {
      throw new TestConfigError(`${path}: unit.${name}.context: unknown step "${stepId}" in agent ${agent.snapshot.name}`);
    }
  }
  const llm = file.llm;
  const judgeLlm: LlmConfig | undefined =
    llm && llm.provider !== 'scripted'
      ? { provider: llm.provider, model: llm.model, baseUrl: llm.base_url, apiKeyEnv: llm.api_key_env, temperature: llm.temperature, maxTokens: llm.max_tokens, headers: llm.headers }
      : undefined;
  return { file, agent, judgeLlm: judgeLlm && (JSON.parse(JSON.stringify(judgeLlm)) as LlmConfig) };
}

function defaultAgentPath(dir: string): string {
  if (existsSync(join(dir, 'config.agent.yaml'))) return join(dir, 'config.agent.yaml');
  const agents = readdirSync(dir).filter((f) => f.endsWith('.agent.yaml') && !f.startsWith('tests.'));
  if (agents.length === 1) return join(dir, agents[0]);
  throw new TestConfigError(`no agent config: set \`agent: <file>\` in the tests file (found ${agents.length} *.agent.yaml in ${dir})`);
}

/**
 * Runs every case of the tests file at `path`, unit cases first, in file order.
 *
 * @throws TestConfigError as {@link loadTests}, or when the judge model cannot be used (no API key).
 */
export async function runAgentTests(path: string, opts: RunTestsOptions = {}): Promise<CaseResult[]> {
  const env = opts.env ?? process.env;
  const { file, agent, judgeLlm } = await loadTests(path, env);
  const models = new ModelCache({ env, fetch: opts.fetch });
  const activities = createActivities({ models, tools: new Map([[agent.snapshot.name, agent.tools]]) });
  const exec = { ...localExecutors(activities), now: () => new Date().toISOString() };
  const judgeModel = judgeLlm ? safely(() => models.get(judgeLlm)) : undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'stepwise-test-'));
  const ctx: CaseContext = { agent: agent.snapshot, exec, judge: judgeModel && judgeLlm ? { model: judgeModel, llm: judgeLlm } : undefined, scratch, scripts: 0 };
  const results: CaseResult[] = [];
  try {
    for (const [name, c] of Object.entries(file.unit ?? {})) results.push(await timed('unit', name, () => runUnit(ctx, name, c)));
    for (const [name, c] of Object.entries({ ...file.e2e, ...file.scenarios })) {
      results.push(await timed('e2e', name, () => runScenario(ctx, name, c)));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return results;
}

function safely<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new TestConfigError(`judge llm: ${(err as Error).message}`);
  }
}

interface CaseContext {
  agent: AgentSnapshot;
  exec: Parameters<typeof runTurn>[3];
  judge?: { model: ReturnType<ModelCache['get']>; llm: LlmConfig };
  scratch: string;
  /** Scripts written so far (file names stay unique). */
  scripts: number;
}

type Outcome = Omit<CaseResult, 'suite' | 'name' | 'durationMs'>;

async function timed(suite: CaseResult['suite'], name: string, fn: () => Promise<Outcome>): Promise<CaseResult> {
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = await fn();
  } catch (err) {
    if (err instanceof TestConfigError) throw err;
    outcome = { status: 'failed', message: `error: ${(err as Error).message}`, transcript: [] };
  }
  return { suite, name, ...outcome, durationMs: Math.round(performance.now() - started) };
}

/** The agent for one case: with `decisions`, every model the agent names replays them (a scripted model). */
function caseAgent(ctx: CaseContext, name: string, decisions: unknown[] | undefined): AgentSnapshot {
  if (!decisions) return ctx.agent;
  const script = join(ctx.scratch, `${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${(ctx.scripts += 1)}.yaml`);
  writeFileSync(script, stringify(decisions));
  const llms = Object.fromEntries(Object.keys(ctx.agent.llms).map((k) => [k, { provider: 'scripted' as const, script }]));
  return { ...ctx.agent, llms };
}

/** A fresh session placed per a NOMOS context: at `current_step_id`, with `history` and `summary` in memory. */
function startState(agent: AgentSnapshot, id: string, c: UnitCase['context']): SessionState {
  const state = initialState(agent, id, new Date().toISOString());
  if (!c) return state;
  const items: MemoryItem[] = [];
  const summaries: string[] = [...[c.summary ?? []].flat()];
  for (const h of c.history ?? []) {
    if ('summary' in h) summaries.push([h.summary].flat().map((s) => `- ${s}`).join('\n'));
    else if ('role' in h) {
      const role = h.role === 'user' ? 'user' : h.role === 'tool' ? 'tool' : h.role === 'assistant' || h.role === agent.name ? 'assistant' : 'note';
      items.push({ seq: items.length, turn: 0, role, text: h.content });
    }
  }
  return {
    ...state,
    stepId: c.current_step_id ?? c.step_id ?? state.stepId,
    memory: { summaries, items },
    counters: { ...state.counters, items: items.length },
  };
}

async function runUnit(ctx: CaseContext, name: string, c: UnitCase): Promise<Outcome> {
  const agent = caseAgent(ctx, name, c.decisions);
  const state = startState(agent, `test-unit-${name}`, c.context);
  const transcript: TranscriptLine[] = (c.context?.history ?? []).flatMap((h) =>
    'role' in h ? [{ role: h.role === 'user' ? ('user' as const) : ('agent' as const), text: h.content }] : [],
  );
  const { result } = await runTurn(agent, state, { messageId: 'm1', text: c.input }, ctx.exec);
  transcript.push({ role: 'user', text: c.input }, { role: 'agent', text: describeTurn(result) });
  return verdict(ctx, c, [result], transcript, [result]);
}

async function runScenario(ctx: CaseContext, name: string, c: ScenarioCase): Promise<Outcome> {
  const agent = caseAgent(ctx, name, c.decisions);
  let state = initialState(agent, `test-e2e-${name}`, new Date().toISOString());
  const transcript: TranscriptLine[] = [{ role: 'context', text: `scenario: ${c.scenario}` }];
  const results: TurnResult[] = [];
  const send = async (text: string) => {
    const out = await runTurn(agent, state, { messageId: `m${results.length + 1}`, text }, ctx.exec);
    state = out.state;
    results.push(out.result);
    transcript.push({ role: 'user', text }, { role: 'agent', text: describeTurn(out.result) });
    return out.result;
  };
  if (c.inputs) {
    for (const text of c.inputs) if ((await send(text)).ended) break;
    return verdict(ctx, c, results, transcript, results);
  }
  if (!ctx.judge) return { status: 'skipped', message: 'a scenario needs `inputs` or a judge `llm` to play the user', transcript };
  const maxTurns = c.max_turns ?? 5;
  for (let turn = 0; turn < maxTurns; turn++) {
    const next = await nextUserInput(ctx.judge.model, ctx.judge.llm, c, transcript.slice(1));
    if (next.decision === 'ASSERT') return { status: 'failed', message: `simulated user: ${next.assertion ?? 'expectation not met'}`, transcript };
    if ((await send(next.input ?? '')).ended) return verdict(ctx, { ...c, expectation: undefined }, results, transcript, results, true);
  }
  return { status: 'failed', message: `the agent did not END within max_turns (${maxTurns})`, transcript };
}

/** The agent's side of a turn for transcripts: its reply, and the tools and moves it made. */
function describeTurn(r: TurnResult): string {
  const tools = r.events.filter((e) => e.type === 'tool_call').map((e) => (e as { tool: string }).tool);
  const notes = [tools.length ? `tools: ${tools.join(', ')}` : '', `step: ${r.stepId}`, r.ended ? 'ended' : ''].filter(Boolean);
  return `${r.reply} (${notes.join('; ')})`;
}

/** Structural `expect` failures, one message each. */
export function checkExpect(expect: Expect, results: TurnResult[]): string[] {
  const last = results.at(-1);
  if (!last) return ['no turn ran'];
  const failures: string[] = [];
  const decisions = last.events.flatMap((e) => (e.type === 'decision' ? [String(e.decision.action)] : []));
  const tools = new Set(results.flatMap((r) => r.events.flatMap((e) => (e.type === 'tool_call' ? [e.tool] : []))));
  if (expect.action && !decisions.includes(expect.action)) failures.push(`expected action ${expect.action}, got ${decisions.join(', ') || 'none'}`);
  if (expect.step_id && last.stepId !== expect.step_id) failures.push(`expected step ${expect.step_id}, at ${last.stepId}`);
  if (expect.flow_id !== undefined && (last.flowId ?? null) !== expect.flow_id) {
    failures.push(`expected flow ${expect.flow_id ?? 'none'}, in ${last.flowId ?? 'none'}`);
  }
  for (const tool of [...(expect.tool ? [expect.tool] : []), ...(expect.tools ?? [])]) {
    if (!tools.has(tool)) failures.push(`expected tool ${tool} to be called (called: ${[...tools].join(', ') || 'none'})`);
  }
  if (expect.reply_contains && !last.reply.toLowerCase().includes(expect.reply_contains.toLowerCase())) {
    failures.push(`expected the reply to contain "${expect.reply_contains}", got "${last.reply}"`);
  }
  if (expect.ended !== undefined && last.ended !== expect.ended) failures.push(`expected ended: ${expect.ended}, got ${last.ended}`);
  return failures;
}

async function verdict(
  ctx: CaseContext,
  c: { expect?: Expect; expectation?: string; invalid?: boolean },
  checked: TurnResult[],
  transcript: TranscriptLine[],
  all: TurnResult[],
  ranSomething = false,
): Promise<Outcome> {
  const failures: string[] = [];
  let checks = ranSomething ? 1 : 0;
  const failed = all.flatMap((r) => r.events.flatMap((e) => (e.type === 'turn_failed' ? [e.message] : [])));
  if (failed.length > 0) failures.push(`turn failed: ${failed[0]}`);
  if (c.expect) {
    checks++;
    failures.push(...checkExpect(c.expect, checked));
  }
  if (c.expectation && ctx.judge) {
    checks++;
    const v = await judge(ctx.judge.model, ctx.judge.llm, transcript, c.expectation);
    if (!v.passed) failures.push(`judge: ${v.reason}`);
  }
  if (checks === 0) {
    return { status: 'skipped', message: '`expectation` needs a judge `llm` in the tests file (or add `expect:`)', transcript };
  }
  return invert(c, failures.length > 0 ? { status: 'failed', message: failures.join('; '), transcript } : { status: 'passed', transcript });
}

/** `invalid: true`: the expectation must not hold, so pass and fail swap. */
function invert(c: { invalid?: boolean }, o: Outcome): Outcome {
  if (!c.invalid || o.status === 'skipped') return o;
  return o.status === 'passed'
    ? { ...o, status: 'failed', message: 'expected the expectation not to hold (invalid: true), but it held' }
    : { ...o, status: 'passed', message: `held as invalid: ${o.message ?? ''}` };
}
