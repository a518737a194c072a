/**
 * The canonical agent: what a session pins in its workflow input for its whole life.
 *
 * Produced by `loadAgent` (Node, `./load.ts`) from the YAML; JSON-safe, secrets-free, versioned. Pure: the workflow
 * and the engine read it.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { LlmApiType, LlmProvider } from './schema/providers.js';
import { SummaryOverrides } from './summary-llm.js';
import { ModelPrices } from '../engine/usage.js';

/** A JSON Schema object (as produced by `z.toJSONSchema` or written by hand). */
export const JsonSchema = lazySchema(() => z.record(z.string(), z.unknown()));
export type JsonSchema = z.infer<typeof JsonSchema>;

/** A resolved model config. Never contains a key: `apiKeyEnv` names the variable read by the worker. */
export const LlmConfig = lazySchema(() => z.object({
  provider: LlmProvider,
  model: z.string().optional(),
  baseUrl: z.string().optional(),
  apiKeyEnv: z.string().optional(),
  temperature: z.number().optional(),
  maxTokens: z.number().int().optional(),
  /** `openai` / `azure`: which API decisions use; unset means the worker's `LLM_API_TYPE`, else `chat_completions`. */
  apiType: LlmApiType.optional(),
  /** Scripted provider: absolute path of the script file. */
  script: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /**
   * Extra request parameters (NOMOS `kwargs`), merged into every request to this model; keys naming secrets are
   * refused at load (they would enter workflow history).
   */
  kwargs: z.record(z.string(), z.unknown()).optional(),
  /** Embeddings model of this provider (NOMOS `embedding_model`). */
  embeddingModel: z.string().optional(),
  /** Settings of flow-memory summaries made with this llm, over its own (`summaryLlm`, ./summary-llm.ts). */
  summary: SummaryOverrides.optional(),
}));
export type LlmConfig = z.infer<typeof LlmConfig>;

export const Route = lazySchema(() => z.object({ target: z.string(), condition: z.string() }));
export type Route = z.infer<typeof Route>;

export const Example = lazySchema(() => z.object({
  context: z.string().optional(),
  decision: z.unknown().optional(),
  /** NOMOS: `always` | `dynamic` | `never` (absent: as written, NOMOS's default is `dynamic`). */
  visibility: z.enum(['always', 'dynamic', 'never']).optional(),
}));
export type Example = z.infer<typeof Example>;

/**
 * A tool's approval policy (YAML `tools.tool_defs.<tool>.requires_approval: true` or `approval: {timeout, on_timeout}`):
 * each call waits for a human decision; with `timeoutMs`, undecided calls are decided by `onTimeout` after that long.
 */
export const ApprovalPolicy = lazySchema(() => z.object({
  /**
   * Milliseconds a call may wait for a decision; absent = no timeout (the turn waits as long as the session lives: the
   * idle timeout does not run while a turn waits). The loader fills it: YAML `timeout`, else `session.approval_timeout`,
   * else {@link DEFAULT_APPROVAL_TIMEOUT_MS}; only `never` leaves it absent (and snapshots pinned before the default).
   */
  timeoutMs: z.number().int().positive().optional(),
  /** What an expired wait decides. Default `deny`. */
  onTimeout: z.enum(['deny', 'allow']),
}));
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

export const Step = lazySchema(() => z.object({
  id: z.string(),
  description: z.string(),
  routes: z.array(Route),
  tools: z.array(z.string()),
  /** JSON Schema of the structured answer for `RESPOND {answer}`; absent for plain-text steps. */
  answerModel: JsonSchema.optional(),
  /**
   * With an answer model: RESPOND may carry plain text instead of the answer, as NOMOS's `response: str | Model`
   * allows. Set for every answer step by configs loaded since NOMOS compatibility; absent in snapshots pinned before,
   * whose sessions keep requiring `answer` (so their replays do not change).
   */
  answerOrText: z.literal(true).optional(),
  examples: z.array(Example),
  quickSuggestions: z.boolean(),
  autoFlow: z.boolean(),
  personaOverride: z.string().optional(),
  /** Name of an entry in {@link AgentSnapshot.llms}. */
  llm: z.string().optional(),
  /** Every tool call of this step needs a human's approval (YAML `requires_approval: true`); absent = false. */
  requiresApproval: z.boolean().optional(),
  /**
   * The policy of those approvals (with `requiresApproval`): the agent's default timeout, deny on timeout. Set at load
   * since approval timeouts have a default; absent in snapshots pinned before, whose calls wait without a timeout
   * (see {@link approvalPolicy}), so their replays do not change.
   */
  approval: ApprovalPolicy.optional(),
}));
export type Step = z.infer<typeof Step>;

/** Memory window: what a decision sees of the conversation. Defaults in {@link DEFAULT_MEMORY}. */
export const MemoryWindowConfig = lazySchema(() => z.object({
  recentItems: z.number().int(),
  recentChars: z.number().int(),
  maxItems: z.number().int(),
  /** Top-k of older items retrieved against the current user message (BM25 or embeddings); 0 turns retrieval off. */
  retrieveK: z.number().int(),
  /**
   * Retriever method as written (`bm25` | `embedding`); absent when not written (BM25). `embedding` ranks older items
   * by cosine similarity with the agent's embeddings model (src/config/embeddings.ts) in sessions started since
   * embeddings were wired, else BM25 (the loader warns when the agent has no embeddings model).
   */
  retrieverMethod: z.enum(['bm25', 'embedding']).optional(),
  /** BM25+ tuning (NOMOS/bm25s names): `k1` term saturation, `b` length normalisation, `delta` lower bound. */
  bm25: z.object({ k1: z.number().optional(), b: z.number().optional(), delta: z.number().optional() }).optional(),
}));
export type MemoryWindowConfig = z.infer<typeof MemoryWindowConfig>;

/** Defaults: 12 recent items within 8,000 chars (~2k tokens), 200 items kept, BM25 k = 3. */
export const DEFAULT_MEMORY: MemoryWindowConfig = { recentItems: 12, recentChars: 8_000, maxItems: 200, retrieveK: 3 };

export const Flow = lazySchema(() => z.object({
  id: z.string(),
  description: z.string(),
  enters: z.array(z.string()),
  exits: z.array(z.string()),
  /** Name of an entry in {@link AgentSnapshot.llms} used for this flow's summaries. */
  memoryLlm: z.string().optional(),
  memory: MemoryWindowConfig,
}));
export type Flow = z.infer<typeof Flow>;

/** A tool as the model sees it: name, description and JSON Schema of its arguments. */
export const ToolDescriptor = lazySchema(() => z.object({
  name: z.string(),
  description: z.string(),
  parameters: JsonSchema,
}));
export type ToolDescriptor = z.infer<typeof ToolDescriptor>;

/**
 * Default wait of an approval (YAML `approval.timeout` / `session.approval_timeout` unset): 24 h, as the idle timeout
 * ({@link DEFAULT_SESSION_LIMITS}), then `on_timeout` (default deny) decides. Applied when the YAML is loaded, never by
 * the engine, so sessions pinned before it replay unchanged.
 */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export const SessionLimits = lazySchema(() => z.object({
  /** Idle sessions end after this many milliseconds without a message. Default 24 h. */
  idleTimeoutMs: z.number().int().positive(),
  /**
   * Turns per workflow run before continue-as-new. Default 100 ({@link DEFAULT_SESSION_LIMITS}): a session evicted
   * from a worker's cache replays its current run on its next turn, about 6 ms per turn in the run
   * (`npm run bench:scale -- --cold`), so 100 bounds that first-turn delay to well under a second, and a run never
   * holds more turns than its time-travel snapshots (`MAX_RUN_SNAPSHOTS`, src/engine/rewind.ts).
   */
  maxTurnsPerRun: z.number().int().positive(),
  /**
   * History bytes that trigger continue-as-new. Default 2 MiB ({@link DEFAULT_SESSION_LIMITS}): since decide is a
   * regular activity its prompts are in history, and a session evicted from a worker's cache replays its run inside
   * one workflow task (10 s timeout): 1.6-1.9 s of CPU for 1.6-2.3 MB on an idle machine (workers/recovery.ts), so
   * the old 10 MiB could not replay in time on a busy worker.
   */
  maxHistoryBytes: z.number().int().positive(),
}));
export type SessionLimits = z.infer<typeof SessionLimits>;

/**
 * Session limits of a YAML that sets none. Applied when the YAML is loaded, never by the workflow, so a session keeps
 * the values pinned in its snapshot when it started (sessions started with the old default of 500 turns per run
 * replay unchanged).
 */
export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleTimeoutMs: 24 * 60 * 60 * 1000,
  maxTurnsPerRun: 100,
  maxHistoryBytes: 2 * 1024 * 1024,
};

/** NOMOS defaults of example selection: 5 examples, similarity ≥ 0.5. */
export const DEFAULT_EXAMPLES = { maxExamples: 5, threshold: 0.5 };

export const AGENT_SCHEMA_VERSION = 1;

/**
 * Largest agent snapshot, in UTF-8 bytes of its JSON (256 KiB): the snapshot is pinned in every session's workflow
 * input and carried by each continue-as-new, so it counts against Temporal's 2 MiB payload limit (see
 * `MAX_CONTINUE_AS_NEW_INPUT_BYTES` in workflows/shared.ts). A larger agent is a load error.
 */
export const MAX_AGENT_SNAPSHOT_BYTES = 256 * 1024;

export const AgentSnapshot = lazySchema(() => z.object({
  schemaVersion: z.literal(AGENT_SCHEMA_VERSION),
  /** The agent id: URL-safe (letters, digits, `_`, `-`, `.`); derived from a display name that is not. */
  name: z.string(),
  /** The name as written, when it differs from the id (e.g. `Nomos Github Bot` → id `nomos-github-bot`). */
  displayName: z.string().optional(),
  /** Short content hash of the normalised config: the "config version" shown in memo and archive. */
  configHash: z.string(),
  persona: z.string(),
  systemMessage: z.string(),
  startStepId: z.string(),
  steps: z.array(Step),
  flows: z.array(Flow),
  /** Named model configs; `global` is the default. */
  llms: z.record(z.string(), LlmConfig),
  tools: z.array(ToolDescriptor),
  /** Approval policies by tool name; absent when no tool needs approval (older snapshots never have it). */
  approvals: z.record(z.string(), ApprovalPolicy).optional(),
  maxErrors: z.number().int(),
  maxIter: z.number().int(),
  showStepsDescription: z.boolean(),
  memory: MemoryWindowConfig,
  session: SessionLimits,
  /** NOMOS `max_examples` (NOMOS default 5), when written. */
  maxExamples: z.number().int().optional(),
  /** NOMOS `threshold`: least similarity of a dynamic example (NOMOS default 0.5), when written. */
  exampleThreshold: z.number().optional(),
  /** NOMOS `embedding_model`, when written (a name is resolved on the global llm's provider at load). */
  embeddingModel: LlmConfig.optional(),
  /**
   * Generated session titles (YAML `session_title`, with the loading process's `CHAT_NAME_*` defaults): the model
   * asked after the first exchange and the longest title. Absent: titles off.
   */
  sessionTitle: z.object({ llm: LlmConfig, maxChars: z.number().int().min(1).max(60) }).optional(),
  /** Price table (YAML `pricing`, US dollars per million tokens by model name): usage gets `costUsd`. */
  prices: ModelPrices.optional(),
}));
export type AgentSnapshot = z.infer<typeof AgentSnapshot>;

/** Finds a step by id; throws `Error` if absent (config validation makes that a bug). */
export function getStep(agent: AgentSnapshot, stepId: string): Step {
  const step = agent.steps.find((s) => s.id === stepId);
  if (!step) throw new Error(`unknown step ${stepId} in agent ${agent.name}`);
  return step;
}

/** The flow whose `enters` contains `stepId`, if any. */
export function flowEnteredAt(agent: AgentSnapshot, stepId: string): Flow | undefined {
  return agent.flows.find((f) => f.enters.includes(stepId));
}

/**
 * The approval policy of a call to `tool` in step `stepId`: the tool's own, else the step's (`requires_approval`:
 * its `approval`, or no timeout and deny in snapshots pinned before approvals had a default timeout), else undefined
 * (runs without approval). Reads the snapshot only: defaults were applied when it was loaded.
 */
export function approvalPolicy(agent: AgentSnapshot, stepId: string, tool: string): ApprovalPolicy | undefined {
  const own = agent.approvals?.[tool];
  if (own) return own;
  const step = agent.steps.find((s) => s.id === stepId);
  return step?.requiresApproval ? (step.approval ?? { onTimeout: 'deny' }) : undefined;
}

/** Resolves a named llm (default `global`). */
export function getLlm(agent: AgentSnapshot, name?: string): LlmConfig {
  const llm = agent.llms[name ?? 'global'] ?? agent.llms.global;
  if (!llm) throw new Error(`agent ${agent.name} has no llm named ${name ?? 'global'}`);
  return llm;
}
