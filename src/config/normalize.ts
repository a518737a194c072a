/**
 * Raw agent document (schema-valid, aliases and snake_case) → canonical {@link AgentSnapshot}: resolves paths, reads
 * answer-model files through the injected {@link ConfigFiles}, hashes.
 *
 * Defaults: `max_errors` 3, `max_iter` 10, empty persona/system message, `show_steps_desc` false, memory window
 * {@link DEFAULT_MEMORY} (agent `memory:` over it, a flow's `components.memory` over the agent's), session limits
 * {@link DEFAULT_SESSION_LIMITS}.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import ms from 'ms';
import {
  AGENT_SCHEMA_VERSION,
  AgentSnapshot,
  type ApprovalPolicy,
  DEFAULT_APPROVAL_TIMEOUT_MS,
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
import type { ConfigFiles } from './config-files.js';
import { agentIdFromName, canonicalTools } from './nomos.js';
import { DEFAULT_LLM, type RawAgent, type RawFlow, type RawLlmConfig, type RawStep } from './schema.js';
import { modelPrices, sessionTitleConfig } from './titles-and-pricing.js';
import type { KeyPath, PathIssue } from './validate.js';

type RawMemory = NonNullable<RawAgent['memory']>;
type RawFlowMemory = NonNullable<NonNullable<RawFlow['components']>['memory']>;

/** Inputs besides the document. */
export interface NormalizeContext {
  /** The YAML file's folder (base of `script` and `answer_model` paths) and how to look at files in it. */
  files: ConfigFiles;
  /** Descriptors of the loaded tools (with `tool_defs` applied). */
  tools: ToolDescriptor[];
  /** The loading process's environment: `CHAT_NAME_*` defaults of `session_title`. Default none. */
  env?: Record<string, string | undefined>;
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
  const id = agentIdFromName(raw.name);
  if (id === undefined) issues.push({ path: ['name'], message: `name "${raw.name}" has no letter or digit to derive an agent id from` });
  const llms = normalizeLlms(raw, ctx.files, issues);
  const memory = memoryWindow(DEFAULT_MEMORY, raw.memory);
  const schemas = raw.schemas ?? {};
  const approvalTimeoutMs = defaultApprovalTimeout(raw.session, issues);
  const steps = raw.steps.map((step, i) => normalizeStep(step, ['steps', i], { files: ctx.files, schemas, approvalTimeoutMs }, issues));
  const flows = (raw.flows ?? []).map((flow, i) => normalizeFlow(flow, memory, llms, ctx.files, ['flows', i], issues));
  const session = sessionLimits(raw.session, issues);
  const embeddingModel = agentEmbeddingModel(raw.embedding_model, llms.global, ctx.files, issues);
  const approvals = approvalPolicies(raw.tools, approvalTimeoutMs, issues);
  const sessionTitle = sessionTitleConfig(raw.session_title, llms, ctx.env ?? {}, issues);
  if (issues.some((i) => (i.severity ?? 'error') === 'error')) return { issues };
  const body: Omit<AgentSnapshot, 'configHash'> = dropUndefined({
    schemaVersion: AGENT_SCHEMA_VERSION,
    name: id as string,
    displayName: id === raw.name ? undefined : raw.name,
    persona: raw.persona ?? '',
    systemMessage: raw.system_message ?? '',
    startStepId: raw.start_step_id,
    steps,
    flows,
    llms,
    tools: ctx.tools,
    ...(approvals ? { approvals } : {}),
    maxErrors: raw.max_errors ?? 3,
    maxIter: raw.max_iter ?? 10,
    showStepsDescription: raw.show_steps_desc ?? false,
    memory,
    session,
    maxExamples: raw.max_examples,
    exampleThreshold: raw.threshold,
    embeddingModel,
    sessionTitle,
    prices: modelPrices(raw.pricing),
  });
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

/** The `llm:` section as `[name, config, path]` entries; {@link DEFAULT_LLM} as `global` when it is absent. */
export function llmEntries(raw: RawAgent): [string, RawLlmConfig, KeyPath][] {
  if (raw.llm === undefined) return [['global', { ...DEFAULT_LLM }, ['llm']]];
  const single = typeof (raw.llm as { provider?: unknown }).provider === 'string';
  return single
    ? [['global', raw.llm as RawLlmConfig, ['llm']]]
    : Object.entries(raw.llm as Record<string, RawLlmConfig>).map(([name, c]) => [name, c, ['llm', name]]);
}

function normalizeLlms(raw: RawAgent, files: ConfigFiles, issues: PathIssue[]): Record<string, LlmConfig> {
  if (raw.llm === undefined) {
    issues.push({
      path: ['name'],
      severity: 'warning',
      message: `no llm configured: using NOMOS's default, ${DEFAULT_LLM.provider} ${DEFAULT_LLM.model} (key from OPENAI_API_KEY)`,
    });
  }
  const entries = llmEntries(raw);
  const out: Record<string, LlmConfig> = {};
  for (const [name, c, path] of entries) out[name] = llmConfig(c, path, files, issues);
  return out;
}

/** Keys of NOMOS `llm.kwargs` that would carry a secret into the snapshot (and so into workflow history). */
const SECRET_KWARG = /key|token|secret|password|credential/i;

/** An environment reference as NOMOS writes it (`$NAME`), or Stepwise's `${NAME}`. */
const ENV_REFERENCE = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/;

function llmConfig(c: RawLlmConfig, path: KeyPath, files: ConfigFiles, issues: PathIssue[]): LlmConfig {
  let script: string | undefined;
  if (c.script !== undefined) {
    script = resolve(files.baseDir, c.script);
    if (!files.isFile(script)) issues.push({ path: [...path, 'script'], message: `script file ${c.script} not found (looked at ${script})` });
  }
  let apiKeyEnv = c.api_key_env;
  if (c.api_key !== undefined) {
    const ref = ENV_REFERENCE.exec(c.api_key);
    const variable = ref?.[1] ?? ref?.[2];
    if (variable === undefined) {
      issues.push({ path: [...path, 'api_key'], message: 'API keys are not accepted in YAML (they would enter workflow history): write `api_key: $VARIABLE` or `api_key_env: VARIABLE`' });
    } else if (apiKeyEnv !== undefined && apiKeyEnv !== variable) {
      issues.push({ path: [...path, 'api_key'], message: `api_key names ${variable} but api_key_env names ${apiKeyEnv}; keep one` });
    } else {
      apiKeyEnv = variable;
      issues.push({ path: [...path, 'api_key'], severity: 'warning', at: 'key', message: `api_key: $${variable} is read as api_key_env: ${variable} (the worker reads the key; it never enters the snapshot)` });
    }
  }
  for (const key of Object.keys(c.kwargs ?? {})) {
    if (SECRET_KWARG.test(key)) {
      issues.push({ path: [...path, 'kwargs', key], at: 'key', message: `kwargs.${key} looks like a secret, which would enter workflow history: use api_key_env` });
    }
  }
  for (const key of Object.keys(c.summary?.kwargs ?? {})) {
    if (SECRET_KWARG.test(key)) {
      issues.push({ path: [...path, 'summary', 'kwargs', key], at: 'key', message: `summary.kwargs.${key} looks like a secret, which would enter workflow history: use api_key_env` });
    }
  }
  return dropUndefined({
    provider: c.provider,
    model: c.model,
    baseUrl: c.base_url,
    apiKeyEnv,
    temperature: c.temperature,
    maxTokens: c.max_tokens,
    apiType: c.api_type,
    script,
    headers: c.headers,
    kwargs: c.kwargs,
    embeddingModel: c.embedding_model,
    summary: c.summary
      ? dropUndefined({ model: c.summary.model, temperature: c.summary.temperature, maxTokens: c.summary.max_tokens, kwargs: c.summary.kwargs })
      : undefined,
  });
}

/**
 * Agent-level `embedding_model`: a config as written, or a model name on the global llm's provider (its base URL, key
 * variable, headers and kwargs).
 */
function agentEmbeddingModel(
  raw: RawAgent['embedding_model'],
  global: LlmConfig | undefined,
  files: ConfigFiles,
  issues: PathIssue[],
): LlmConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') return llmConfig(raw, ['embedding_model'], files, issues);
  if (!global) return undefined;
  return dropUndefined({ provider: global.provider, model: raw, baseUrl: global.baseUrl, apiKeyEnv: global.apiKeyEnv, headers: global.headers, kwargs: global.kwargs });
}

function normalizeStep(
  step: RawStep,
  path: KeyPath,
  ctx: { files: ConfigFiles; schemas: Record<string, string>; approvalTimeoutMs: number | undefined },
  issues: PathIssue[],
): Step {
  let answerModel: Record<string, unknown> | undefined;
  if (step.answer_model !== undefined) {
    const result = normalizeAnswerModel(step.answer_model, ctx.files, ctx.schemas);
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
    answerOrText: answerModel ? (true as const) : undefined,
    examples: (step.examples ?? step.eg ?? []).map(normalizeExample),
    quickSuggestions: Array.isArray(quick) ? quick.length > 0 : (quick ?? false),
    autoFlow: step.auto_flow ?? false,
    personaOverride: step.overrides?.persona,
    llm: step.overrides?.llm,
    requiresApproval: step.requires_approval || undefined,
    approval: step.requires_approval ? dropUndefined({ timeoutMs: ctx.approvalTimeoutMs, onTimeout: 'deny' as const }) : undefined,
  });
}

function normalizeExample(example: NonNullable<RawStep['examples']>[number]): Example {
  if (typeof example === 'string') return { context: example };
  return dropUndefined({ context: example.context, decision: example.decision, visibility: example.visibility });
}

/**
 * A flow. NOMOS writes the memory model inline (`components.memory.llm: {provider, model}`): it becomes the named
 * llm `flows.<flowId>.memory` of the snapshot.
 */
function normalizeFlow(
  flow: RawFlow,
  agentMemory: MemoryWindowConfig,
  llms: Record<string, LlmConfig>,
  files: ConfigFiles,
  path: KeyPath,
  issues: PathIssue[],
): Flow {
  const id = (flow.flow_id ?? flow.id) as string;
  const memory = flow.components?.memory;
  let memoryLlm: string | undefined;
  if (typeof memory?.llm === 'string') memoryLlm = memory.llm;
  else if (memory?.llm !== undefined) {
    memoryLlm = `flows.${id}.memory`;
    llms[memoryLlm] = llmConfig(memory.llm, [...path, 'components', 'memory', 'llm'], files, issues);
  }
  return dropUndefined({
    id,
    description: flow.description ?? flow.desc ?? '',
    enters: flow.enters,
    exits: flow.exits,
    memoryLlm,
    memory: memoryWindow(agentMemory, memory),
  });
}

function memoryWindow(base: MemoryWindowConfig, raw: RawMemory | RawFlowMemory | undefined): MemoryWindowConfig {
  const kwargs = raw?.retriever?.kwargs;
  const bm25 = dropUndefined({ k1: kwargs?.k1, b: kwargs?.b, delta: kwargs?.delta });
  return dropUndefined({
    recentItems: raw?.recent_items ?? base.recentItems,
    recentChars: raw?.recent_chars ?? base.recentChars,
    maxItems: raw?.max_items ?? base.maxItems,
    retrieveK: kwargs?.k ?? base.retrieveK,
    retrieverMethod: raw?.retriever?.method ?? base.retrieverMethod,
    bm25: Object.keys(bm25).length > 0 ? bm25 : base.bm25,
  });
}

function sessionLimits(raw: RawAgent['session'], issues: PathIssue[]): SessionLimits {
  const idleTimeoutMs = durationMs(raw?.idle_timeout, ['session', 'idle_timeout'], issues) ?? DEFAULT_SESSION_LIMITS.idleTimeoutMs;
  return {
    idleTimeoutMs,
    maxTurnsPerRun: raw?.max_turns_per_run ?? DEFAULT_SESSION_LIMITS.maxTurnsPerRun,
    maxHistoryBytes: raw?.max_history_bytes ?? DEFAULT_SESSION_LIMITS.maxHistoryBytes,
  };
}

/** A duration as written (ms or `30m`); undefined when absent or invalid (then an issue at `path`). */
function durationMs(value: number | string | undefined, path: KeyPath, issues: PathIssue[]): number | undefined {
  if (typeof value !== 'string') return value;
  const parsed = parseDuration(value);
  if (parsed === undefined) issues.push({ path, message: `invalid duration "${value}" (examples: 30m, 24h, 2 days, or milliseconds)` });
  return parsed;
}

/** An approval timeout as written: `never` is no timeout (undefined), absent is `fallback`. */
function approvalTimeoutMs(value: number | string | undefined, fallback: number | undefined, path: KeyPath, issues: PathIssue[]): number | undefined {
  if (value === 'never') return undefined;
  return value === undefined ? fallback : durationMs(value, path, issues);
}

/** `session.approval_timeout`: the timeout of approvals that set none; default {@link DEFAULT_APPROVAL_TIMEOUT_MS}. */
function defaultApprovalTimeout(raw: RawAgent['session'], issues: PathIssue[]): number | undefined {
  return approvalTimeoutMs(raw?.approval_timeout, DEFAULT_APPROVAL_TIMEOUT_MS, ['session', 'approval_timeout'], issues);
}

/**
 * Approval policies from `tool_defs` (`requires_approval: true`, or `approval: {timeout, on_timeout}`), a missing
 * timeout filled with `defaultTimeoutMs` (undefined: `never`); undefined when no tool needs approval, so snapshots
 * (and their hashes) of agents without approvals stay as they were.
 */
function approvalPolicies(tools: RawAgent['tools'], defaultTimeoutMs: number | undefined, issues: PathIssue[]): Record<string, ApprovalPolicy> | undefined {
  const { toolDefs, toolDefsKey } = canonicalTools(tools);
  const out: Record<string, ApprovalPolicy> = {};
  for (const [name, def] of Object.entries(toolDefs ?? {})) {
    if (!def.requires_approval && !def.approval) continue;
    if (def.requires_approval === false && def.approval) {
      issues.push({ path: ['tools', toolDefsKey, name, 'requires_approval'], message: 'requires_approval: false contradicts approval:' });
      continue;
    }
    const timeoutMs = approvalTimeoutMs(def.approval?.timeout, defaultTimeoutMs, ['tools', toolDefsKey, name, 'approval', 'timeout'], issues);
    out[name] = dropUndefined({ timeoutMs, onTimeout: def.approval?.on_timeout ?? 'deny' });
  }
  return Object.keys(out).length > 0 ? out : undefined;
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
