/**
 * Provider presets: where each `llm.provider` is reached and which environment variable holds its key.
 *
 * Every provider except `anthropic` is spoken to with the official `openai` SDK (v6): `openai` at its default URL,
 * `azure` through the SDK's `AzureOpenAI` client, the others at their documented OpenAI-compatible endpoints. A
 * config's `base_url` overrides the preset URL (for tests, proxies, a remote Ollama). Keys are read from the worker's
 * environment only.
 */
import OpenAI, { AzureOpenAI } from 'openai';
import type { LlmConfig } from '../../src/config/agent.js';
import { DEFAULT_EMBEDDING_MODELS } from '../../src/config/embeddings.js';
import { API_TYPE_PROVIDERS, LLM_API_TYPES, type LlmApiType, type LlmProvider } from '../../src/config/schema.js';

/** Per-request HTTP timeout of the SDK client: 10 minutes (the activity's start-to-close is the real bound). */
export const OPENAI_TIMEOUT_MS = 10 * 60 * 1000;

/** How one provider is reached. */
export interface ProviderPreset {
  /** Which SDK client speaks to it. */
  sdk: 'openai' | 'azure' | 'anthropic' | 'none';
  /** Default base URL (`undefined`: the SDK's own default, or none needed). */
  baseUrl?: string;
  /** Environment variables holding the key, in order of preference (`api_key_env` overrides). */
  keyVariables: string[];
  /** Whether a missing key is an error (false: a placeholder is sent, e.g. a local Ollama). */
  keyRequired: boolean;
  /** Token-limit request field: `max_completion_tokens` (OpenAI's current name) or `max_tokens`. */
  tokenLimitField: 'max_completion_tokens' | 'max_tokens';
  /** Embeddings model used when `embedding_model` is not set (src/config/embeddings.ts), if the provider has one. */
  defaultEmbeddingModel?: string;
  /** Where the endpoint and key variable are documented. */
  docs: string;
}

/**
 * The presets. Base URLs as documented by each provider:
 * - mistral: `https://api.mistral.ai/v1` (https://docs.mistral.ai/api/), key `MISTRAL_API_KEY`;
 * - google: Gemini's OpenAI compatibility `https://generativelanguage.googleapis.com/v1beta/openai/`
 *   (https://ai.google.dev/gemini-api/docs/openai), key `GOOGLE_API_KEY` or `GEMINI_API_KEY`;
 * - ollama: `http://localhost:11434/v1`, key ignored by a local server (https://docs.ollama.com/api/openai-compatibility);
 * - huggingface: Inference Providers router `https://router.huggingface.co/v1`
 *   (https://huggingface.co/docs/inference-providers), key `HF_TOKEN` (or `HUGGINGFACEHUB_API_TOKEN`);
 * - groq: `https://api.groq.com/openai/v1` (https://console.groq.com/docs/openai), key `GROQ_API_KEY`;
 * - cohere: Compatibility API `https://api.cohere.ai/compatibility/v1` (https://docs.cohere.com/docs/compatibility-api),
 *   key `COHERE_API_KEY` (or `CO_API_KEY`, the Cohere SDK's name);
 * - azure: `AzureOpenAI` with `AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_ENDPOINT` and `OPENAI_API_VERSION` (the variables
 *   NOMOS's `AzureOpenAI` reads; https://learn.microsoft.com/azure/ai-services/openai/reference); `model` is the
 *   deployment name.
 */
export const PROVIDER_PRESETS: Record<LlmProvider, ProviderPreset> = {
  openai: {
    sdk: 'openai',
    keyVariables: ['OPENAI_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_completion_tokens',
    defaultEmbeddingModel: DEFAULT_EMBEDDING_MODELS.openai,
    docs: 'https://platform.openai.com/docs/api-reference',
  },
  anthropic: {
    sdk: 'anthropic',
    keyVariables: ['ANTHROPIC_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_tokens',
    docs: 'https://docs.anthropic.com/en/api/messages',
  },
  azure: {
    sdk: 'azure',
    keyVariables: ['AZURE_OPENAI_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_completion_tokens',
    defaultEmbeddingModel: DEFAULT_EMBEDDING_MODELS.azure,
    docs: 'https://learn.microsoft.com/azure/ai-services/openai/reference',
  },
  mistral: {
    sdk: 'openai',
    baseUrl: 'https://api.mistral.ai/v1',
    keyVariables: ['MISTRAL_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_tokens',
    defaultEmbeddingModel: DEFAULT_EMBEDDING_MODELS.mistral,
    docs: 'https://docs.mistral.ai/api/',
  },
  google: {
    sdk: 'openai',
    baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/',
    keyVariables: ['GOOGLE_API_KEY', 'GEMINI_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_tokens',
    docs: 'https://ai.google.dev/gemini-api/docs/openai',
  },
  ollama: {
    sdk: 'openai',
    baseUrl: 'http://localhost:11434/v1',
    keyVariables: ['OLLAMA_API_KEY'],
    keyRequired: false,
    tokenLimitField: 'max_tokens',
    docs: 'https://docs.ollama.com/api/openai-compatibility',
  },
  huggingface: {
    sdk: 'openai',
    baseUrl: 'https://router.huggingface.co/v1',
    keyVariables: ['HF_TOKEN', 'HUGGINGFACEHUB_API_TOKEN'],
    keyRequired: true,
    tokenLimitField: 'max_tokens',
    docs: 'https://huggingface.co/docs/inference-providers',
  },
  groq: {
    sdk: 'openai',
    baseUrl: 'https://api.groq.com/openai/v1',
    keyVariables: ['GROQ_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_tokens',
    docs: 'https://console.groq.com/docs/openai',
  },
  cohere: {
    sdk: 'openai',
    baseUrl: 'https://api.cohere.ai/compatibility/v1',
    keyVariables: ['COHERE_API_KEY', 'CO_API_KEY'],
    keyRequired: true,
    tokenLimitField: 'max_tokens',
    docs: 'https://docs.cohere.com/docs/compatibility-api',
  },
  'openai-compatible': {
    sdk: 'openai',
    keyVariables: ['OPENAI_API_KEY'],
    keyRequired: false,
    tokenLimitField: 'max_tokens',
    docs: 'https://platform.openai.com/docs/api-reference/chat',
  },
  scripted: { sdk: 'none', keyVariables: [], keyRequired: false, tokenLimitField: 'max_tokens', docs: 'docs/providers-and-tools.md "Providers"' },
};

/**
 * `llm.kwargs` keys that configure the SDK client rather than the request: NOMOS passes its `kwargs` to the provider
 * client's constructor (`OpenAI(**kwargs)`), so these keep their NOMOS meaning. `timeout` is in seconds, as in the
 * Python SDKs. Every other key is a request parameter.
 */
export const CLIENT_KWARGS = ['base_url', 'organization', 'project', 'timeout', 'api_version', 'azure_endpoint'] as const;

/** Splits `llm.kwargs` into client options ({@link CLIENT_KWARGS}) and request parameters. */
export function splitKwargs(kwargs: Record<string, unknown> | undefined): {
  client: Partial<Record<(typeof CLIENT_KWARGS)[number], unknown>>;
  request: Record<string, unknown>;
} {
  const client: Record<string, unknown> = {};
  const request: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs ?? {})) ((CLIENT_KWARGS as readonly string[]).includes(k) ? client : request)[k] = v;
  return { client, request };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/** Azure OpenAI data-plane API version used when `OPENAI_API_VERSION` is unset (a GA version). */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/**
 * Azure API version used for `api_type: responses` when `OPENAI_API_VERSION` is unset: the first version serving
 * `/openai/responses` (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/responses); the GA
 * {@link DEFAULT_AZURE_API_VERSION} does not.
 */
export const DEFAULT_AZURE_RESPONSES_API_VERSION = '2025-03-01-preview';

/** Environment variable giving the worker-wide default of `llm.api_type` (OmniAgent's name). */
export const LLM_API_TYPE_VARIABLE = 'LLM_API_TYPE';

/**
 * The API an OpenAI-speaking model uses: `llm.apiType`, else `LLM_API_TYPE` from `env` for `openai` and `azure`
 * (other providers always use `chat_completions`; the variable is process-wide and they have no Responses API), else
 * `chat_completions`. An empty variable counts as unset.
 *
 * @throws Error when `LLM_API_TYPE` is set to something else than {@link LLM_API_TYPES} (the caller turns it into a
 *   non-retryable INVALID_CONFIG).
 */
export function resolveApiType(llm: LlmConfig, env: NodeJS.ProcessEnv): LlmApiType {
  if (llm.apiType) return llm.apiType;
  if (!API_TYPE_PROVIDERS.includes(llm.provider)) return 'chat_completions';
  const value = env[LLM_API_TYPE_VARIABLE]?.trim();
  if (!value) return 'chat_completions';
  if (!(LLM_API_TYPES as readonly string[]).includes(value)) {
    throw new Error(`${LLM_API_TYPE_VARIABLE}=${JSON.stringify(value)} is not one of ${LLM_API_TYPES.join(', ')}`);
  }
  return value as LlmApiType;
}

/** The base URL requests go to: `llm.baseUrl`, `kwargs.base_url`, else the preset's (undefined: the SDK default). */
export function providerBaseUrl(llm: LlmConfig): string | undefined {
  return llm.baseUrl ?? str(llm.kwargs?.base_url) ?? PROVIDER_PRESETS[llm.provider].baseUrl;
}

/**
 * The `openai` SDK client for an OpenAI-speaking provider: `AzureOpenAI` for `azure` (endpoint from `llm.baseUrl`,
 * `kwargs.azure_endpoint` or `AZURE_OPENAI_ENDPOINT`; API version from `kwargs.api_version` or `OPENAI_API_VERSION`,
 * default {@link DEFAULT_AZURE_API_VERSION}, or {@link DEFAULT_AZURE_RESPONSES_API_VERSION} for the Responses API),
 * else `OpenAI` at {@link providerBaseUrl}. SDK retries off (Temporal retries); request timeout `kwargs.timeout`
 * seconds, default 10 minutes; `kwargs.organization` / `project` passed on.
 *
 * @throws Error when `azure` has no endpoint or `LLM_API_TYPE` is invalid (the caller turns it into a non-retryable
 *   INVALID_CONFIG).
 */
export function createOpenAIClient(
  llm: LlmConfig,
  deps: { apiKey: string; env: NodeJS.ProcessEnv; fetch?: typeof fetch },
): OpenAI {
  const { client } = splitKwargs(llm.kwargs);
  const timeoutSeconds = typeof client.timeout === 'number' && client.timeout > 0 ? client.timeout : undefined;
  const common = {
    apiKey: deps.apiKey,
    maxRetries: 0,
    timeout: timeoutSeconds ? Math.round(timeoutSeconds * 1000) : OPENAI_TIMEOUT_MS,
    ...(str(client.organization) ? { organization: str(client.organization) } : {}),
    ...(str(client.project) ? { project: str(client.project) } : {}),
    ...(llm.headers ? { defaultHeaders: llm.headers } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  if (llm.provider === 'azure') {
    const endpoint = llm.baseUrl ?? str(client.azure_endpoint) ?? deps.env.AZURE_OPENAI_ENDPOINT?.trim();
    if (!endpoint) throw new Error('the azure provider needs `base_url` or AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com)');
    const defaultVersion = resolveApiType(llm, deps.env) === 'responses' ? DEFAULT_AZURE_RESPONSES_API_VERSION : DEFAULT_AZURE_API_VERSION;
    const apiVersion = str(client.api_version) ?? (deps.env.OPENAI_API_VERSION?.trim() || defaultVersion);
    // No fixed `deployment`: the SDK routes each request to `/deployments/<body.model>/...` (chat and embeddings differ).
    return new AzureOpenAI({ ...common, endpoint, apiVersion });
  }
  const baseURL = providerBaseUrl(llm);
  return new OpenAI({ ...common, ...(baseURL ? { baseURL } : {}) });
}
