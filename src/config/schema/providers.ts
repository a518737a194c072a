/**
 * Model providers and OpenAI API types: the enumerations the agent snapshot (src/config/agent.ts) shares with the
 * YAML schema (./llm.ts, which re-exports them). Their own module so that the workflow bundle, which needs the
 * snapshot's schemas but never parses YAML, does not build the YAML schemas in every workflow it loads.
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';

/**
 * Model providers. `openai` and `anthropic` use their official SDKs; `azure` uses the `openai` SDK's `AzureOpenAI`;
 * `mistral`, `google`, `ollama`, `huggingface`, `groq` and `cohere` are presets (base URL + key variable) over the
 * provider's OpenAI-compatible endpoint (NOMOS's provider names); `openai-compatible` takes any `base_url`;
 * `scripted` replays a YAML list of decisions (tests, offline demos). Endpoints and key variables: docs/providers-and-tools.md "Providers".
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
export const LlmProvider = lazySchema(() => z.enum(LLM_PROVIDERS));
export type LlmProvider = z.infer<typeof LlmProvider>;

/**
 * Which OpenAI API a decision goes through (`llm.api_type`, only for `openai` and `azure`): `chat_completions`
 * (`POST /chat/completions`, the default) or `responses` (`POST /responses`, stateless). When unset, the worker's
 * `LLM_API_TYPE` environment variable decides (OmniAgent's name), else `chat_completions`. docs/providers-and-tools.md "Providers".
 */
export const LLM_API_TYPES = ['chat_completions', 'responses'] as const;
export const LlmApiType = lazySchema(() => z.enum(LLM_API_TYPES));
export type LlmApiType = z.infer<typeof LlmApiType>;

/** Providers that accept `api_type` (the ones that speak OpenAI's own API, Responses included). */
export const API_TYPE_PROVIDERS: readonly LlmProvider[] = ['openai', 'azure'];
