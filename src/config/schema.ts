/**
 * Zod schema of the agent YAML (NOMOS `config.agent.yaml` field names and aliases).
 *
 * This file describes the *raw* document exactly as written: strict objects (unknown keys are errors), both a field
 * and its NOMOS alias accepted (`step_id`|`id`, `routes`|`paths`, ...). {@link normalizeAgent} in `./normalize.ts`
 * turns a parsed document into the canonical, JSON-safe {@link AgentSnapshot} that sessions pin.
 *
 * Pure: no Node imports.
 */
import { z } from 'zod';

/** Model providers. `scripted` replays a YAML list of decisions (tests, offline demos). */
export const LLM_PROVIDERS = ['openai', 'anthropic', 'openai-compatible', 'scripted'] as const;
export const LlmProvider = z.enum(LLM_PROVIDERS);
export type LlmProvider = z.infer<typeof LlmProvider>;

/**
 * One model configuration. API keys are never accepted as values: `api_key_env` names the environment variable the
 * worker reads (defaults: `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`), so no secret reaches workflow history.
 */
export const RawLlmConfig = z
  .strictObject({
    provider: LlmProvider,
    model: z.string().min(1).optional(),
    base_url: z.string().url().optional(),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().positive().optional(),
    /** Scripted provider: path (relative to the YAML) of a YAML list of decision objects. */
    script: z.string().min(1).optional(),
    /** Extra headers sent with each request (e.g. an Azure `api-version` query is better put in base_url). */
    headers: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((llm, ctx) => {
    if (llm.provider === 'scripted' && !llm.script) {
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'the scripted provider needs `script: <path>`' });
    }
    if (llm.provider !== 'scripted' && !llm.model) {
      ctx.addIssue({ code: 'custom', path: ['model'], message: `the ${llm.provider} provider needs \`model\`` });
    }
    if (llm.provider === 'openai-compatible' && !llm.base_url) {
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'openai-compatible needs `base_url`' });
    }
    if ((llm.api_key_env ?? '').match(/^(sk-|sk_)/)) {
      ctx.addIssue({ code: 'custom', path: ['api_key_env'], message: 'looks like a key: name the variable instead' });
    }
  });
export type RawLlmConfig = z.infer<typeof RawLlmConfig>;

/** `llm:` is either one config or a map of named configs with `global` as default. */
export const RawLlmSection = z.union([
  RawLlmConfig,
  z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), RawLlmConfig).refine((m) => 'global' in m, {
    message: 'a map of named llm configs needs a `global` entry (the default)',
  }),
]);

export const RawRoute = z.strictObject({
  target: z.string().min(1).optional(),
  to: z.string().min(1).optional(),
  condition: z.string().optional(),
  when: z.string().optional(),
});

/** `answer_model`: a JSON Schema object, a field map (`name: string`, `qty: integer?`), or a path to a JSON file. */
export const RawAnswerModel = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

export const RawExample = z.union([
  z.string(),
  z.looseObject({
    context: z.string().optional(),
    decision: z.unknown().optional(),
    visibility: z.enum(['always', 'never', 'dynamic']).optional(),
  }),
]);

export const RawStep = z.strictObject({
  step_id: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  description: z.string().optional(),
  desc: z.string().optional(),
  routes: z.array(RawRoute).optional(),
  paths: z.array(RawRoute).optional(),
  available_tools: z.array(z.string().min(1)).optional(),
  tools: z.array(z.string().min(1)).optional(),
  answer_model: RawAnswerModel.optional(),
  examples: z.array(RawExample).optional(),
  eg: z.array(RawExample).optional(),
  quick_suggestions: z.union([z.boolean(), z.array(z.string())]).optional(),
  auto_flow: z.boolean().optional(),
  overrides: z.strictObject({ persona: z.string().optional(), llm: z.string().optional() }).optional(),
});
export type RawStep = z.infer<typeof RawStep>;

export const RawRetriever = z.strictObject({
  method: z.literal('bm25'),
  kwargs: z.strictObject({ k: z.number().int().min(0).max(50).optional() }).optional(),
});

/** Memory window knobs (agent-wide under `memory:`, per flow under `components.memory`). */
export const RawMemoryWindow = {
  /** Most recent items shown verbatim (default 12). */
  recent_items: z.number().int().min(1).max(200).optional(),
  /** Character budget of the recent items (default 8000, ~2k tokens at 4 chars/token). */
  recent_chars: z.number().int().min(200).max(200_000).optional(),
  /** Older items kept for retrieval (default 200); beyond that only summaries remain. */
  max_items: z.number().int().min(1).max(5_000).optional(),
};

export const RawFlow = z.strictObject({
  flow_id: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  description: z.string().optional(),
  desc: z.string().optional(),
  enters: z.array(z.string().min(1)).min(1),
  exits: z.array(z.string().min(1)).min(1),
  components: z
    .strictObject({
      memory: z
        .strictObject({
          llm: z.string().optional(),
          retriever: RawRetriever.optional(),
          ...RawMemoryWindow,
        })
        .optional(),
    })
    .optional(),
});
export type RawFlow = z.infer<typeof RawFlow>;

/** NOMOS `tool_defs` entry: description and per-argument description overrides. */
export const RawToolDef = z.strictObject({
  description: z.string().optional(),
  desc: z.string().optional(),
  args: z
    .array(
      z.strictObject({
        key: z.string(),
        desc: z.string().optional(),
        description: z.string().optional(),
        type: z.string().optional(),
        default: z.unknown().optional(),
      }),
    )
    .optional(),
});

export const RawTools = z.strictObject({
  tool_files: z.array(z.string().min(1)).optional(),
  tool_defs: z.record(z.string(), RawToolDef).optional(),
  mcp_servers: z.array(z.looseObject({ name: z.string() })).optional(),
  external_tools: z.array(z.unknown()).optional(),
});

/** Duration: milliseconds as a number, or a string such as `30m`, `24h`, `2 days` (parsed with `ms`). */
export const RawDuration = z.union([z.number().int().positive(), z.string().min(1)]);

export const RawSession = z.strictObject({
  /** Idle sessions end after this long without a message (default `24h`). */
  idle_timeout: RawDuration.optional(),
  /**
   * Turns per workflow run before continue-as-new (default 500). At most 1,500: each turn is at least one update, and
   * Temporal accepts at most 2,000 updates per run (`history.maxTotalUpdates`, https://docs.temporal.io/workflows#limits).
   */
  max_turns_per_run: z.number().int().min(1).max(1_500, 'at most 1500 (Temporal accepts 2,000 updates per workflow run)').optional(),
  /** History size in bytes that triggers continue-as-new (default 10 MiB; Temporal warns at 10 MiB, fails at 50). */
  max_history_bytes: z.number().int().min(100_000).max(40_000_000).optional(),
});

export const RawAgent = z.strictObject({
  schema_version: z.literal(1).optional(),
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, `_`, `-`, `.` only'),
  persona: z.string().optional(),
  system_message: z.string().optional(),
  start_step_id: z.string().min(1),
  steps: z.array(RawStep).min(1),
  flows: z.array(RawFlow).optional(),
  llm: RawLlmSection,
  tools: RawTools.optional(),
  max_errors: z.number().int().min(1).max(20).optional(),
  max_iter: z.number().int().min(1).max(100).optional(),
  session: RawSession.optional(),
  memory: z
    .strictObject({
      retriever: RawRetriever.optional(),
      ...RawMemoryWindow,
    })
    .optional(),
  show_steps_desc: z.boolean().optional(),
  /** Examples shown per decision at most (NOMOS, default 5). */
  max_examples: z.number().int().min(0).max(50).optional(),
  /** Least similarity (0-1) of a dynamic example to be shown (NOMOS, default 0.5). */
  threshold: z.number().min(0).max(1).optional(),
  version: z.union([z.string(), z.number()]).optional(),
});
export type RawAgent = z.infer<typeof RawAgent>;
