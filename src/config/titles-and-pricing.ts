/**
 * Two optional agent sections about what model calls are for and what they cost:
 * - `session_title`: generated session titles (OmniAgent's chat names), off unless written; the loading process's
 *   OmniAgent variables (`CHAT_NAME_LLM_PROVIDER`, `CHAT_NAME_MODEL`, `CHAT_NAME_TEMPERATURE`,
 *   `CHAT_NAME_LLM_API_TYPE`) give the defaults of the fields the YAML leaves out;
 * - `pricing`: US dollars per million tokens by model name, turning token usage into `costUsd`.
 *
 * Pure (the environment is passed in).
 */
import type { ModelPrices } from '../engine/usage.js';
import type { AgentSnapshot, LlmConfig } from './agent.js';
import { DEFAULT_TITLE_MAX_CHARS, type RawPricing, type RawSessionTitle } from './raw-titles-and-pricing.js';
import { API_TYPE_PROVIDERS, LLM_API_TYPES, LLM_PROVIDERS, type LlmApiType, type LlmProvider } from './schema.js';
import type { PathIssue } from './validate.js';

export { DEFAULT_TITLE_MAX_CHARS };

/** OmniAgent's environment names read as defaults of `session_title` fields. */
export const CHAT_NAME_ENV = {
  provider: 'CHAT_NAME_LLM_PROVIDER',
  model: 'CHAT_NAME_MODEL',
  temperature: 'CHAT_NAME_TEMPERATURE',
  apiType: 'CHAT_NAME_LLM_API_TYPE',
} as const;

/** The snapshot's `sessionTitle`. */
export type SessionTitleConfig = NonNullable<AgentSnapshot['sessionTitle']>;

/**
 * The title settings of a snapshot, or undefined when titles are off (absent, `false`, `enabled: false`). Problems
 * (an unknown `llm` name, a provider without `model`, a bad `CHAT_NAME_*` value) are pushed to `issues` at
 * `['session_title', ...]`.
 */
export function sessionTitleConfig(
  raw: RawSessionTitle | undefined,
  llms: Record<string, LlmConfig>,
  env: Record<string, string | undefined>,
  issues: PathIssue[],
): SessionTitleConfig | undefined {
  if (raw === undefined || raw === false) return undefined;
  const yaml = raw === true ? {} : raw;
  if (yaml.enabled === false) return undefined;
  const path = ['session_title'];
  const base = llms[yaml.llm ?? 'global'];
  if (!base) {
    issues.push({ path: [...path, 'llm'], message: `session_title.llm names no llm entry "${yaml.llm}" (known: ${Object.keys(llms).join(', ')})` });
    return undefined;
  }
  const envProvider = envValue(env, CHAT_NAME_ENV.provider);
  if (envProvider !== undefined && !(LLM_PROVIDERS as readonly string[]).includes(envProvider)) {
    issues.push({ path, message: `${CHAT_NAME_ENV.provider}=${envProvider} is not a provider (one of ${LLM_PROVIDERS.join(', ')})` });
    return undefined;
  }
  if (yaml.provider !== undefined && !(LLM_PROVIDERS as readonly string[]).includes(yaml.provider)) {
    issues.push({ path: [...path, 'provider'], message: `session_title.provider ${yaml.provider} is not a provider (one of ${LLM_PROVIDERS.join(', ')})` });
    return undefined;
  }
  const provider = (yaml.provider ?? envProvider) as LlmProvider | undefined;
  const model = yaml.model ?? envValue(env, CHAT_NAME_ENV.model);
  const { summary: _summary, ...own } = base;
  let llm: LlmConfig;
  if (provider !== undefined && provider !== base.provider) {
    if (!model) {
      issues.push({ path: [...path, 'model'], message: `session_title.provider ${provider} needs a model (session_title.model or ${CHAT_NAME_ENV.model})` });
      return undefined;
    }
    llm = { provider, model };
  } else {
    llm = { ...own, ...(model && base.provider !== 'scripted' ? { model } : {}) };
  }
  const temperature = yaml.temperature ?? envNumber(env, CHAT_NAME_ENV.temperature, path, issues);
  if (temperature !== undefined) llm.temperature = temperature;
  if (yaml.max_tokens !== undefined) llm.maxTokens = yaml.max_tokens;
  const apiType = envApiType(env, path, issues);
  if (apiType && API_TYPE_PROVIDERS.includes(llm.provider) && llm.apiType === undefined) llm.apiType = apiType;
  return { llm, maxChars: yaml.max_chars ?? DEFAULT_TITLE_MAX_CHARS };
}

/** The snapshot's `prices` from YAML `pricing` (undefined when absent). */
export function modelPrices(raw: RawPricing | undefined): ModelPrices | undefined {
  if (!raw) return undefined;
  return Object.fromEntries(
    Object.entries(raw).map(([model, p]) => [
      model,
      { inputPerMillion: p.input, outputPerMillion: p.output, ...(p.cached_input !== undefined ? { cachedInputPerMillion: p.cached_input } : {}) },
    ]),
  );
}

function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function envNumber(env: Record<string, string | undefined>, name: string, path: string[], issues: PathIssue[]): number | undefined {
  const v = envValue(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 2) {
    issues.push({ path, message: `${name}=${v} is not a temperature between 0 and 2` });
    return undefined;
  }
  return n;
}

/** `CHAT_NAME_LLM_API_TYPE`, OmniAgent's `chat_completion` spelling accepted for `chat_completions`. */
function envApiType(env: Record<string, string | undefined>, path: string[], issues: PathIssue[]): LlmApiType | undefined {
  const v = envValue(env, CHAT_NAME_ENV.apiType);
  if (v === undefined) return undefined;
  const value = v === 'chat_completion' ? 'chat_completions' : v;
  if (!(LLM_API_TYPES as readonly string[]).includes(value)) {
    issues.push({ path, message: `${CHAT_NAME_ENV.apiType}=${v} is not one of ${LLM_API_TYPES.join(', ')}` });
    return undefined;
  }
  return value as LlmApiType;
}
