/**
 * The factory that picks a provider adapter from an {@link LlmConfig}, and the per-worker {@link ModelCache}. The
 * interface the adapters implement is in `./decision-model.ts` (re-exported here), so no adapter imports this file.
 *
 * API keys are read from the worker's environment only (never from config values that reach workflow history).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { LlmConfig } from '../../src/config/agent.js';
import type { DecisionModel } from './decision-model.js';
import { AnthropicModel } from './anthropic.js';
import { OpenAIModel } from './openai.js';
import { PROVIDER_PRESETS } from './providers.js';
import { ScriptedModel } from './scripted.js';

export type { DecideOptions, DecisionModel, SummarizeOptions } from './decision-model.js';

/** Dependencies of {@link createModel}. */
export interface CreateModelOptions {
  /** Where API keys are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** `fetch` used by the vendor SDKs. Default the global `fetch`. */
  fetch?: typeof fetch;
}

/** Placeholder key sent to OpenAI-compatible servers that need none (Ollama, local vLLM). */
export const NO_KEY_PLACEHOLDER = 'not-needed';

/**
 * The API key for `llm`, from the environment: `llm.apiKeyEnv` if set, else the first set variable of the provider's
 * preset (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `AZURE_OPENAI_API_KEY`, `MISTRAL_API_KEY`, `GOOGLE_API_KEY` /
 * `GEMINI_API_KEY`, `HF_TOKEN`, `GROQ_API_KEY`, `COHERE_API_KEY`; see {@link PROVIDER_PRESETS}). Providers that need
 * no key (`ollama`, `openai-compatible`) get {@link NO_KEY_PLACEHOLDER} when none is set; scripted needs none
 * (`undefined`).
 *
 * @throws ApplicationFailure non-retryable `MODEL_REQUEST_FAILED` naming the variable(s) (never a value) when a
 *   provider that needs a key has none, or when an explicit `apiKeyEnv` is unset.
 */
export function resolveApiKey(llm: LlmConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (llm.provider === 'scripted') return undefined;
  const preset = PROVIDER_PRESETS[llm.provider];
  const variables = llm.apiKeyEnv ? [llm.apiKeyEnv] : preset.keyVariables;
  for (const variable of variables) {
    const key = env[variable]?.trim();
    if (key) return key;
  }
  if (!preset.keyRequired && !llm.apiKeyEnv) return NO_KEY_PLACEHOLDER;
  const variable = variables.join(' or ');
  throw ApplicationFailure.create({
    type: 'MODEL_REQUEST_FAILED',
    message: `no API key for the ${llm.provider} model: environment variable ${variable} is not set on the worker`,
    nonRetryable: true,
    details: [{ provider: llm.provider, variable }],
  });
}

/**
 * Builds the adapter for `llm.provider`: `anthropic` → {@link AnthropicModel}, `scripted` → {@link ScriptedModel},
 * every other provider → {@link OpenAIModel} (official `openai` SDK; `AzureOpenAI` for `azure`; the preset's
 * OpenAI-compatible base URL, or `llm.baseUrl`, for the rest).
 *
 * @throws ApplicationFailure non-retryable: `MODEL_REQUEST_FAILED` for a missing key (see {@link resolveApiKey}),
 *   `INVALID_CONFIG` for a config without `model` (or `script` for scripted), `openai-compatible` without
 *   `base_url`, or `azure` without an endpoint.
 */
export function createModel(llm: LlmConfig, options: CreateModelOptions = {}): DecisionModel {
  const env = options.env ?? process.env;
  const apiKey = resolveApiKey(llm, env);
  if (llm.provider === 'scripted') {
    if (!llm.script) throw invalidConfig('the scripted provider needs `script` (absolute path of a YAML file)');
    return new ScriptedModel(llm);
  }
  if (!llm.model) throw invalidConfig(`the ${llm.provider} provider needs \`model\``);
  if (llm.provider === 'anthropic') return new AnthropicModel(llm, { apiKey: apiKey!, fetch: options.fetch });
  if (llm.provider === 'openai-compatible' && !llm.baseUrl) {
    throw invalidConfig('the openai-compatible provider needs `base_url`');
  }
  try {
    return new OpenAIModel(llm, { apiKey: apiKey!, env, fetch: options.fetch });
  } catch (err) {
    throw invalidConfig((err as Error).message);
  }
}

/**
 * Reuses one adapter (and so one SDK client and its connection pool) per distinct model config within a worker.
 * Keyed by the config's JSON with sorted keys; a failed creation (missing key) is not cached, so setting the
 * variable and retrying works.
 */
export class ModelCache {
  readonly #models = new Map<string, DecisionModel>();
  readonly #options: CreateModelOptions;

  constructor(options: CreateModelOptions = {}) {
    this.#options = options;
  }

  /** The adapter for `llm`, created on first use. Throws as {@link createModel}. */
  get(llm: LlmConfig): DecisionModel {
    const key = stableJson(llm);
    let model = this.#models.get(key);
    if (!model) {
      model = createModel(llm, this.#options);
      this.#models.set(key, model);
    }
    return model;
  }

  /** Where this cache's adapters read API keys (its `env` option, else `process.env`). */
  get env(): NodeJS.ProcessEnv {
    return this.#options.env ?? process.env;
  }

  /** Number of cached adapters. */
  get size(): number {
    return this.#models.size;
  }

  /** Forgets every adapter (e.g. after rotating keys). */
  clear(): void {
    this.#models.clear();
  }
}

function invalidConfig(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'INVALID_CONFIG', message, nonRetryable: true });
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
