/**
 * Raw agent document (schema-valid, aliases and snake_case) → canonical {@link AgentSnapshot} (Node: resolves
 * paths, reads answer-model files, hashes).
 *
 * Defaults: `max_errors` 3, `max_iter` 10, empty persona/system message, `show_steps_desc` false, memory window
 * {@link DEFAULT_MEMORY} (agent `memory:` over it, a flow's `components.memory` over the agent's), session limits
 * {@link DEFAULT_SESSION_LIMITS}.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import ms from 'ms';
import {
  AGENT_SCHEMA_VERSION,
  AgentSnapshot,
  DEFAULT_MEMORY,
  DEFAULT_SESSION_LIMITS,
  type Example,
  type Flow,
  type LlmConfig,
  type MemoryWindowConfig,
  type SessionLimits,
  type Step,
  type ToolDescriptor,
} from './agent.js';
import { normalizeAnswerModel } from './answer-model.js';
import type { RawAgent, RawFlow, RawLlmConfig, RawStep } from './schema.js';
import type { KeyPath, PathIssue } from './validate.js';

type RawMemory = NonNullable<RawAgent['memory']>;
type RawFlowMemory = NonNullable<NonNullable<RawFlow['components']>['memory']>;

/** Inputs besides the document. */
export interface NormalizeContext {
  /** Directory of the YAML file: base of `script` and `answer_model` paths. */
  baseDir: string;
  /** Descriptors of the loaded tools (with `tool_defs` applied). */
  tools: ToolDescriptor[];
}

/** The snapshot (absent when any error was found) and the problems found while normalising. */
export interface NormalizeResult {
  snapshot?: AgentSnapshot;
  issues: PathIssue[];
}

/**
 * Normalises a schema-valid raw agent. Never throws for config problems: they come back as path issues (missing
 * `script` file, invalid `idle_timeout`, unusable `answer_model`).
 */
export function normalizeAgent(raw: RawAgent, ctx: NormalizeContext): NormalizeResult {
  const issues: PathIssue[] = [];
  const llms = normalizeLlms(raw, ctx.baseDir, issues);
  const memory = memoryWindow(DEFAULT_MEMORY, raw.memory);
  const steps = raw.steps.map((step, i) => normalizeStep(step, ['steps', i], ctx.baseDir, issues));
  const flows = (raw.flows ?? []).map((flow) => normalizeFlow(flow, memory));
  const session = sessionLimits(raw.session, issues);
  if (issues.some((i) => (i.severity ?? 'error') === 'error')) return { issues };
  const body: Omit<AgentSnapshot, 'configHash'> = {
    schemaVersion: AGENT_SCHEMA_VERSION,
    name: raw.name,
    persona: raw.persona ?? '',
    systemMessage: raw.system_message ?? '',
    startStepId: raw.start_step_id,
    steps,
    flows,
    llms,
    tools: ctx.tools,
    maxErrors: raw.max_errors ?? 3,
    maxIter: raw.max_iter ?? 10,
    showStepsDescription: raw.show_steps_desc ?? false,
    // Only when set: configs without them keep their config hash.
    ...(raw.max_examples !== undefined ? { maxExamples: raw.max_examples } : {}),
    ...(raw.threshold !== undefined ? { exampleThreshold: raw.threshold } : {}),
    memory,
    session,
  };
  const snapshot = AgentSnapshot.parse({ ...body, configHash: configHash(body) });
  return { snapshot, issues };
}

/**
 * Short content hash of a snapshot without its `configHash`: first 12 hex chars of sha256 over its canonical JSON
 * (object keys sorted at every level), so equal configs hash equally whatever the YAML key order.
 */
export function configHash(snapshotWithoutHash: Omit<AgentSnapshot, 'configHash'>): string {
  return createHash('sha256').update(canonicalJson(snapshotWithoutHash)).digest('hex').slice(0, 12);
}

/** JSON with object keys sorted recursively (`undefined` members dropped, as `JSON.stringify` does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}

function normalizeLlms(raw: RawAgent, baseDir: string, issues: PathIssue[]): Record<string, LlmConfig> {
  const single = typeof (raw.llm as { provider?: unknown }).provider === 'string';
  const entries: [string, RawLlmConfig, KeyPath][] = single
    ? [['global', raw.llm as RawLlmConfig, ['llm']]]
    : Object.entries(raw.llm as Record<string, RawLlmConfig>).map(([name, c]) => [name, c, ['llm', name]]);
  const out: Record<string, LlmConfig> = {};
  for (const [name, c, path] of entries) {
    let script: string | undefined;
    if (c.script !== undefined) {
      script = resolve(baseDir, c.script);
      if (!existsSync(script)) issues.push({ path: [...path, 'script'], message: `script file ${c.script} not found (looked at ${script})` });
    }
    out[name] = dropUndefined({
      provider: c.provider,
      model: c.model,
      baseUrl: c.base_url,
      apiKeyEnv: c.api_key_env,
      temperature: c.temperature,
      maxTokens: c.max_tokens,
      script,
      headers: c.headers,
    });
  }
  return out;
}

function normalizeStep(step: RawStep, path: KeyPath, baseDir: string, issues: PathIssue[]): Step {
  let answerModel: Record<string, unknown> | undefined;
  if (step.answer_model !== undefined) {
    const result = normalizeAnswerModel(step.answer_model, baseDir);
    for (const issue of result.issues) issues.push({ ...issue, path: [...path, 'answer_model', ...issue.path] });
    answerModel = result.schema;
  }
  const quick = step.quick_suggestions;
  return dropUndefined({
    id: (step.step_id ?? step.id) as string,
    description: step.description ?? step.desc ?? '',
    routes: (step.routes ?? step.paths ?? []).map((r) => ({
      target: (r.target ?? r.to) as string,
      condition: r.condition ?? r.when ?? '',
    })),
    tools: step.available_tools ?? step.tools ?? [],
    answerModel,
    examples: (step.examples ?? step.eg ?? []).map(normalizeExample),
    quickSuggestions: Array.isArray(quick) ? quick.length > 0 : (quick ?? false),
    autoFlow: step.auto_flow ?? false,
    personaOverride: step.overrides?.persona,
    llm: step.overrides?.llm,
  });
}

function normalizeExample(example: NonNullable<RawStep['examples']>[number]): Example {
  if (typeof example === 'string') return { context: example };
  return dropUndefined({ context: example.context, decision: example.decision, visibility: example.visibility });
}

function normalizeFlow(flow: RawFlow, agentMemory: MemoryWindowConfig): Flow {
  const memory = flow.components?.memory;
  return dropUndefined({
    id: (flow.flow_id ?? flow.id) as string,
    description: flow.description ?? flow.desc ?? '',
    enters: flow.enters,
    exits: flow.exits,
    memoryLlm: memory?.llm,
    memory: memoryWindow(agentMemory, memory),
  });
}

function memoryWindow(base: MemoryWindowConfig, raw: RawMemory | RawFlowMemory | undefined): MemoryWindowConfig {
  return {
    recentItems: raw?.recent_items ?? base.recentItems,
    recentChars: raw?.recent_chars ?? base.recentChars,
    maxItems: raw?.max_items ?? base.maxItems,
    retrieveK: raw?.retriever?.kwargs?.k ?? base.retrieveK,
  };
}

function sessionLimits(raw: RawAgent['session'], issues: PathIssue[]): SessionLimits {
  let idleTimeoutMs = DEFAULT_SESSION_LIMITS.idleTimeoutMs;
  const idle = raw?.idle_timeout;
  if (typeof idle === 'number') idleTimeoutMs = idle;
  else if (typeof idle === 'string') {
    const parsed = parseDuration(idle);
    if (parsed === undefined) {
      issues.push({ path: ['session', 'idle_timeout'], message: `invalid duration "${idle}" (examples: 30m, 24h, 2 days, or milliseconds)` });
    } else idleTimeoutMs = parsed;
  }
  return {
    idleTimeoutMs,
    maxTurnsPerRun: raw?.max_turns_per_run ?? DEFAULT_SESSION_LIMITS.maxTurnsPerRun,
    maxHistoryBytes: raw?.max_history_bytes ?? DEFAULT_SESSION_LIMITS.maxHistoryBytes,
  };
}

/** Parses a duration with `ms` (`30m`, `24h`, `2 days`); undefined unless a positive whole number of ms results. */
export function parseDuration(text: string): number | undefined {
  let value: number | undefined;
  try {
    value = ms(text as ms.StringValue);
  } catch {
    return undefined;
  }
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
}

/** Removes `undefined` members so snapshots compare and hash the same before and after a JSON round trip. */
function dropUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** Applies NOMOS `tool_defs` to descriptors: description and per-argument description overrides. */
export function applyToolDefs(descriptors: ToolDescriptor[], toolDefs: NonNullable<RawAgent['tools']>['tool_defs']): {
  descriptors: ToolDescriptor[];
  issues: PathIssue[];
} {
  const issues: PathIssue[] = [];
  const out = descriptors.map((d) => {
    const def = toolDefs?.[d.name];
    if (!def) return d;
    const parameters = structuredClone(d.parameters);
    const properties = (parameters.properties ?? {}) as Record<string, Record<string, unknown>>;
    (def.args ?? []).forEach((arg, k) => {
      const prop = properties[arg.key];
      const text = arg.description ?? arg.desc;
      if (!prop) {
        issues.push({ path: ['tools', 'tool_defs', d.name, 'args', k, 'key'], message: `tool ${d.name} has no argument "${arg.key}"` });
      } else if (text !== undefined) prop.description = text;
    });
    const description = def.description ?? def.desc ?? d.description;
    return { name: d.name, description, parameters };
  });
  return { descriptors: out, issues };
}
