/**
 * Which embeddings model an agent ranks with (NOMOS `embedding_model`), or why it has none and BM25 is used.
 *
 * An embeddings model is used for `retriever.method: embedding` memory and for choosing dynamic examples. It is, in
 * order: the agent-level `embedding_model` (NOMOS's `{provider, model}` object, or a model name on the global llm's
 * provider); else the global llm's own `embedding_model`; else its provider's default embeddings model
 * ({@link DEFAULT_EMBEDDING_MODELS}). Anthropic has no embeddings API and the scripted model none either: BM25 then.
 *
 * Pure.
 */
import type { LlmConfig } from './agent.js';
import type { LlmProvider } from './schema.js';

/**
 * Default embeddings model per provider, NOMOS's defaults where it has one: OpenAI's and Azure OpenAI's
 * `text-embedding-3-small` (on Azure, the deployment name), Mistral's `mistral-embed`. Other OpenAI-compatible
 * providers (Google, Ollama, Hugging Face, Groq, Cohere, openai-compatible) need `embedding_model` written.
 */
export const DEFAULT_EMBEDDING_MODELS: Partial<Record<LlmProvider, string>> = {
  openai: 'text-embedding-3-small',
  azure: 'text-embedding-3-small',
  mistral: 'mistral-embed',
};

/** Why a provider cannot embed at all (its API has no embeddings endpoint, or it is not a real model). */
const NO_EMBEDDINGS: Partial<Record<LlmProvider, string>> = {
  anthropic: 'the anthropic provider has no embeddings API',
  scripted: 'the scripted model has no embeddings',
};

/** The embeddings model to rank with (`llm.model` is the embeddings model's name), or why there is none. */
export type EmbeddingsChoice = { llm: LlmConfig } | { none: string };

/**
 * Resolves the embeddings model from the agent's global llm and its agent-level `embedding_model` (see the module
 * comment). The returned config keeps what reaches the provider (provider, base URL, key variable name, headers,
 * client kwargs) and drops decision settings (temperature, token limit, script).
 */
export function chooseEmbeddings(global: LlmConfig | undefined, agentLevel: LlmConfig | undefined): EmbeddingsChoice {
  const source = agentLevel ?? global;
  if (!source) return { none: 'the agent has no model' };
  const reason = NO_EMBEDDINGS[source.provider];
  if (reason) return { none: reason };
  const model = agentLevel ? (agentLevel.embeddingModel ?? agentLevel.model) : (source.embeddingModel ?? DEFAULT_EMBEDDING_MODELS[source.provider]);
  if (!model) return { none: `the ${source.provider} provider has no default embeddings model: set embedding_model` };
  const { provider, baseUrl, apiKeyEnv, headers, kwargs } = source;
  return {
    llm: {
      provider,
      model,
      ...(baseUrl !== undefined ? { baseUrl } : {}),
      ...(apiKeyEnv !== undefined ? { apiKeyEnv } : {}),
      ...(headers !== undefined ? { headers } : {}),
      ...(kwargs !== undefined ? { kwargs } : {}),
    },
  };
}

/** The agent's embeddings model, or undefined (BM25 is used). */
export function embeddingsLlm(agent: { llms: Record<string, LlmConfig>; embeddingModel?: LlmConfig }): LlmConfig | undefined {
  const choice = chooseEmbeddings(agent.llms.global, agent.embeddingModel);
  return 'llm' in choice ? choice.llm : undefined;
}
