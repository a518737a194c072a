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
import { RawPricing, RawSessionTitle } from './raw-titles-and-pricing.js';
import { RawSummaryOverrides } from './summary-llm.js';

/**
 * Model providers. `openai` and `anthropic` use their official SDKs; `azure` uses the `openai` SDK's `AzureOpenAI`;
 * `mistral`, `google`, `ollama`, `huggingface`, `groq` and `cohere` are presets (base URL + key variable) over the
 * provider's OpenAI-compatible endpoint (NOMOS's provider names); `openai-compatible` takes any `base_url`;
 * `scripted` replays a YAML list of decisions (tests, offline demos). Endpoints and key variables: README "Providers".
 */
export const LLM_PROVIDERS = [
  'openai',
  'anthropic',
  'azure',
  'mistral',
  'google',
  'ollama',
  'huggingface',
  'groq',
  'cohere',
  'openai-compatible',
  'scripted',
] as const;
export const LlmProvider = z.enum(LLM_PROVIDERS);
export type LlmProvider = z.infer<typeof LlmProvider>;

/**
 * Which OpenAI API a decision goes through (`llm.api_type`, only for `openai` and `azure`): `chat_completions`
 * (`POST /chat/completions`, the default) or `responses` (`POST /responses`, stateless). When unset, the worker's
 * `LLM_API_TYPE` environment variable decides (OmniAgent's name), else `chat_completions`. README "Providers".
 */
export const LLM_API_TYPES = ['chat_completions', 'responses'] as const;
export const LlmApiType = z.enum(LLM_API_TYPES);
export type LlmApiType = z.infer<typeof LlmApiType>;

/** Providers that accept `api_type` (the ones that speak OpenAI's own API, Responses included). */
export const API_TYPE_PROVIDERS: readonly LlmProvider[] = ['openai', 'azure'];

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
    /** `openai` / `azure` only: Chat Completions or the Responses API ({@link LLM_API_TYPES}). */
    api_type: LlmApiType.optional(),
    /** Scripted provider: path (relative to the YAML) of a YAML list of decision objects. */
    script: z.string().min(1).optional(),
    /** Extra headers sent with each request (e.g. an Azure `api-version` query is better put in base_url). */
    headers: z.record(z.string(), z.string()).optional(),
    /**
     * NOMOS `kwargs`: extra request parameters merged into every model request (`temperature`, `max_tokens`,
     * `top_p`, `seed`, ...). Keys that Stepwise sets itself ({@link RESERVED_LLM_KWARGS}), `api_key` and keys naming
     * secrets are refused (they would enter workflow history).
     */
    kwargs: z.record(z.string(), z.unknown()).optional(),
    /** NOMOS `embedding_model`: the embeddings model of this provider (memory retrieval, examples). */
    embedding_model: z.string().min(1).optional(),
    /**
     * NOMOS: `api_key: "$OPENAI_API_KEY"`. Only an environment reference is accepted (read as `api_key_env`, never
     * expanded); a literal key is an error.
     */
    api_key: z.string().optional(),
    /** Settings of flow-memory summaries made with this llm (OmniAgent's `SummaryLLMOverrides`). */
    summary: RawSummaryOverrides.optional(),
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
    if (llm.api_type !== undefined && !API_TYPE_PROVIDERS.includes(llm.provider)) {
      ctx.addIssue({
        code: 'custom',
        path: ['api_type'],
        message: `api_type is for ${API_TYPE_PROVIDERS.join(' and ')} only (the ${llm.provider} provider speaks Chat Completions)`,
      });
    }
    if ((llm.api_key_env ?? '').match(/^(sk-|sk_)/)) {
      ctx.addIssue({ code: 'custom', path: ['api_key_env'], message: 'looks like a key: name the variable instead' });
    }
    for (const key of Object.keys(llm.kwargs ?? {})) {
      if (key === 'api_key' || key === 'apiKey') {
        ctx.addIssue({ code: 'custom', path: ['kwargs', key], message: 'API keys are read from the environment: use `api_key_env: <VARIABLE>`' });
      } else if ((RESERVED_LLM_KWARGS as readonly string[]).includes(key)) {
        ctx.addIssue({ code: 'custom', path: ['kwargs', key], message: `\`${key}\` is set by Stepwise and cannot be overridden` });
      }
    }
  });
export type RawLlmConfig = z.infer<typeof RawLlmConfig>;

/** `llm.kwargs` keys Stepwise sets itself on every request (the decision prompt, schema and streaming). */
export const RESERVED_LLM_KWARGS = ['model', 'messages', 'response_format', 'stream', 'stream_options', 'tools', 'tool_choice', 'system'] as const;

/** The model used when `llm:` is omitted: NOMOS's default (its `OpenAI` class defaults to `gpt-4o-mini`). */
export const DEFAULT_LLM = { provider: 'openai', model: 'gpt-4o-mini' } as const;

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

/** NOMOS example visibility: `always` shown, `dynamic` chosen by similarity (`max_examples`, `threshold`), `never`. */
export const EXAMPLE_VISIBILITIES = ['always', 'dynamic', 'never'] as const;

export const RawExample = z.union([
  z.string(),
  z.looseObject({
    context: z.string().optional(),
    decision: z.unknown().optional(),
    visibility: z.enum(EXAMPLE_VISIBILITIES).optional(),
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
  /** NOMOS: accepted and ignored (flows are declared by `flows[].enters` / `exits`). */
  flow_id: z.string().optional(),
  /** Every tool call of this step waits for a human's approval (see README "Approving tool calls"). */
  requires_approval: z.boolean().optional(),
});
export type RawStep = z.infer<typeof RawStep>;

/**
 * Retrievers: `bm25` (MiniSearch's BM25+), and NOMOS's default `embedding`, which loads with a warning and runs BM25
 * offline until an embeddings provider is wired (the parsed `method` is kept as written).
 */
export const RETRIEVER_METHODS = ['bm25', 'embedding'] as const;

/**
 * Retriever settings. `k`: items retrieved (top-k). BM25 tuning as NOMOS passes it to `bm25s.BM25(...)`: `k1` (term
 * frequency saturation, MiniSearch `k`, default 1.2), `b` (length normalisation, default 0.7), `delta` (BM25+ lower
 * bound, MiniSearch `d`, default 0.5). `method`/`idf_method` (bm25s variants) are accepted and ignored with a warning.
 */
export const RawRetriever = z.strictObject({
  method: z.enum(RETRIEVER_METHODS).optional(),
  kwargs: z
    .strictObject({
      k: z.number().int().min(0).max(50).optional(),
      k1: z.number().positive().max(100).optional(),
      b: z.number().min(0).max(1).optional(),
      delta: z.number().min(0).max(10).optional(),
      method: z.string().optional(),
      idf_method: z.string().optional(),
    })
    .optional(),
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
          /** A name from the `llm` map, or (NOMOS) an inline model config. */
          llm: z.union([z.string(), RawLlmConfig]).optional(),
          retriever: RawRetriever.optional(),
          ...RawMemoryWindow,
        })
        .optional(),
    })
    .optional(),
  /** NOMOS cookbook configs carry it; NOMOS ignores it. Accepted with a warning. */
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type RawFlow = z.infer<typeof RawFlow>;

/** Duration: milliseconds as a number, or a string such as `30m`, `24h`, `2 days` (parsed with `ms`). */
export const RawDuration = z.union([z.number().int().positive(), z.string().min(1)]);

/**
 * NOMOS `tool_defs` entry: description and per-argument overrides. `type` is a Python type expression as NOMOS
 * writes it (`int`, `Optional[str]`, `List[str]`, `Literal["a", "b"]`) and becomes the argument's JSON Schema;
 * `default` fills the argument when the model leaves it out. Stepwise adds approval (`requires_approval: true`, or
 * `approval: {timeout, on_timeout}`; see README "Approving tool calls").
 */
export const RawToolDef = z.strictObject({
  requires_approval: z.boolean().optional(),
  approval: z
    .strictObject({
      /** How long a call waits for a decision, or `never`; default `session.approval_timeout` (24 h). */
      timeout: RawDuration.optional(),
      /** What an expired wait decides (default `deny`). */
      on_timeout: z.enum(['deny', 'allow']).optional(),
    })
    .optional(),
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

/** A tool-source name: used as a prefix of its tool names (`<name>__<tool>`) and as a group name in `tools:`. */
const SourceName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, `_` and `-` only');

/**
 * NOMOS `external_tools` entry (`tag`, `name`, `kwargs`, `map`), plus Stepwise's HTTP fields for `@api` tools.
 * Tags: `@api/<url template>` (HTTP call), `@mcp/<url>` (MCP server over streamable HTTP); `@pkg`, `@crewai` and
 * `@langchain` are Python-only and refused with a config error. See README "External tools (HTTP and MCP)".
 */
export const RawExternalTool = z.strictObject({
  tag: z.string().regex(/^@[A-Za-z0-9_-]+\/.+/, 'a tag looks like `@api/<url>` or `@mcp/<url>`'),
  name: z.string().min(1).optional(),
  kwargs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** `@api` with several endpoints: tool name → `"<METHOD> <path>"` relative to the tag's URL. */
  map: z.record(z.string(), z.string().min(1)).optional(),
  description: z.string().optional(),
  /** `@api`: HTTP method (default GET; `kwargs.method` also works). */
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  /** `@api`: request headers; `{arg}` placeholders are filled from the call's arguments. */
  headers: z.record(z.string(), z.string()).optional(),
  /** `@api`: JSON body template; string values `{arg}` are replaced by the argument's value. */
  body: z.unknown().optional(),
  /** `@api`: JSON Schema of the arguments (default: one required string per `{placeholder}`). */
  parameters: z.record(z.string(), z.unknown()).optional(),
  /** `@api`: request timeout (milliseconds or `30s`); default 30 s. */
  timeout: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
});
export type RawExternalTool = z.infer<typeof RawExternalTool>;

/** A Model Context Protocol server: `command` (stdio) or `url` (streamable HTTP). */
export const RawMcpServer = z
  .strictObject({
    name: SourceName,
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    /** Extra environment variables of the stdio server (`$VAR` interpolation applies). */
    env: z.record(z.string(), z.string()).optional(),
    /** Working directory of the stdio server, relative to the YAML. */
    cwd: z.string().optional(),
    url: z.string().url().optional(),
    /** Headers sent to an HTTP server (e.g. `Authorization: Bearer ${TOKEN}`); they stay on the worker. */
    headers: z.record(z.string(), z.string()).optional(),
    /** Only these of the server's tools (default all). */
    tools: z.array(z.string().min(1)).optional(),
  })
  .refine((s) => (s.command === undefined) !== (s.url === undefined), {
    message: 'an MCP server needs exactly one of `command` (stdio) or `url` (streamable HTTP)',
  });
export type RawMcpServer = z.infer<typeof RawMcpServer>;

/** NOMOS MCP server entry under `tools.servers` (`name`, `url`, `path`, `transport`, `use`, `exclude`). */
export const RawNomosServer = z.strictObject({
  type: z.string().optional(),
  name: z.string().min(1),
  url: z.string().min(1),
  path: z.string().optional(),
  transport: z.string().optional(),
  use: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
});

/** `tools:` — NOMOS aliases `files` (tool_files), `ext` (external_tools) and `defs` (tool_defs) are accepted. */
export const RawTools = z.strictObject({
  tool_files: z.array(z.string().min(1)).optional(),
  files: z.array(z.string().min(1)).optional(),
  tool_defs: z.record(z.string(), RawToolDef).optional(),
  defs: z.record(z.string(), RawToolDef).optional(),
  /** Model Context Protocol servers (stdio `command` or streamable HTTP `url`). */
  mcp_servers: z.array(RawMcpServer).optional(),
  external_tools: z.array(RawExternalTool).optional(),
  /** NOMOS alias of `external_tools`. */
  ext: z.array(RawExternalTool).optional(),
  /** NOMOS MCP servers (HTTP). */
  servers: z.array(RawNomosServer).optional(),
});
export type RawTools = z.infer<typeof RawTools>;

export const RawSession = z.strictObject({
  /** Idle sessions end after this long without a message (default `24h`). */
  idle_timeout: RawDuration.optional(),
  /** How long a tool call waits for approval when its `approval.timeout` is unset (default `24h`); `never`: no timeout. */
  approval_timeout: RawDuration.optional(),
  /**
   * Turns per workflow run before continue-as-new (default 500). At most 1,500: each turn is at least one update, and
   * Temporal accepts at most 2,000 updates per run (`history.maxTotalUpdates`, https://docs.temporal.io/workflows#limits).
   */
  max_turns_per_run: z.number().int().min(1).max(1_500, 'at most 1500 (Temporal accepts 2,000 updates per workflow run)').optional(),
  /** History size in bytes that triggers continue-as-new (default 10 MiB; Temporal warns at 10 MiB, fails at 50). */
  max_history_bytes: z.number().int().min(100_000).max(40_000_000).optional(),
});

/** NOMOS `server.security` (FastAPI server): accepted; Stepwise's own auth, CORS and rate limits are set elsewhere. */
export const RawServerSecurity = z.strictObject({
  allowed_origins: z.array(z.string()).optional(),
  enable_auth: z.boolean().optional(),
  auth_type: z.enum(['jwt', 'api_key']).optional(),
  jwt_secret_key: z.string().optional(),
  api_key_url: z.string().optional(),
  enable_rate_limiting: z.boolean().optional(),
  redis_url: z.string().optional(),
  rate_limit_times: z.number().int().optional(),
  rate_limit_seconds: z.number().int().optional(),
  /** Written in NOMOS's docs (`"100/minute"`); NOMOS ignores it. */
  rate_limit: z.string().optional(),
  enable_csrf_protection: z.boolean().optional(),
  csrf_secret_key: z.string().optional(),
  enable_token_endpoint: z.boolean().optional(),
});

/** NOMOS `server:` — `port`/`host` are used by `stepwise api` and `stepwise dev` when `PORT`/`HOST` are unset. */
export const RawServer = z.strictObject({
  port: z.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  workers: z.number().int().optional(),
  security: RawServerSecurity.optional(),
  session: z
    .strictObject({
      store_type: z.enum(['memory', 'production']).optional(),
      default_ttl: z.number().int().optional(),
      cache_ttl: z.number().int().optional(),
      database_url: z.string().optional(),
      redis_url: z.string().optional(),
      kafka_brokers: z.string().optional(),
      kafka_topic: z.string().optional(),
      events_enabled: z.boolean().optional(),
    })
    .optional(),
});
export type RawServer = z.infer<typeof RawServer>;

/** NOMOS `logging:` (loguru handlers). Accepted with a warning: Stepwise logs through pino (`LOG_LEVEL`). */
export const RawLogging = z.strictObject({
  enable: z.boolean(),
  handlers: z
    .array(z.strictObject({ type: z.string(), level: z.string(), format: z.string().optional() }))
    .optional(),
});

export const RawAgent = z.strictObject({
  schema_version: z.literal(1).optional(),
  /** Agent name. A display name with spaces (NOMOS allows any text) gets a URL-safe id derived from it. */
  name: z.string().min(1).max(200),
  persona: z.string().optional(),
  system_message: z.string().optional(),
  start_step_id: z.string().min(1),
  steps: z.array(RawStep).min(1),
  flows: z.array(RawFlow).optional(),
  /** Optional, as in NOMOS: {@link DEFAULT_LLM} (openai `gpt-4o-mini`) when absent, with a warning. */
  llm: RawLlmSection.optional(),
  tools: RawTools.optional(),
  max_errors: z.number().int().min(1).max(20).optional(),
  max_iter: z.number().int().min(1).max(100).optional(),
  session: RawSession.optional(),
  memory: z
    .strictObject({
      retriever: RawRetriever.optional(),
      ...RawMemoryWindow,
      /** NOMOS memory type (`base` | `summarization`) and its kwargs: accepted with a warning. */
      type: z.enum(['base', 'summarization']).optional(),
      kwargs: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  show_steps_desc: z.boolean().optional(),
  version: z.union([z.string(), z.number()]).optional(),
  /** NOMOS: most examples shown per decision (default 5) and the least similarity of a dynamic example (0.5). */
  max_examples: z.number().int().min(0).max(100).optional(),
  threshold: z.number().min(-1).max(1).optional(),
  /**
   * NOMOS: the embeddings model (memory retrieval with `retriever.method: embedding`, dynamic examples): a config
   * (`{provider, model}`) or a model name on the global llm's provider. See src/config/embeddings.ts.
   */
  embedding_model: z.union([z.string().min(1), RawLlmConfig]).optional(),
  /** NOMOS: named answer-model schemas, `name: path` relative to the YAML (`.json` JSON Schema files). */
  schemas: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), z.string().min(1)).optional(),
  server: RawServer.optional(),
  logging: RawLogging.optional(),
  /** Generated session titles (off unless written; see src/config/titles-and-pricing.ts). */
  session_title: RawSessionTitle.optional(),
  /** US dollars per million tokens by model name: usage gets a cost. */
  pricing: RawPricing.optional(),
});
export type RawAgent = z.infer<typeof RawAgent>;
