/** Zod schema of the agent YAML: the `llm` section (providers, API types, one model's settings). */
import { z } from 'zod';
import { RawSummaryOverrides } from '../summary-llm.js';
import { API_TYPE_PROVIDERS, LlmApiType, LlmProvider } from './providers.js';

export * from './providers.js';

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
