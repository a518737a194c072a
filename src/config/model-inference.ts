/**
 * Model strings (OmniAgent's ergonomic path): `llm: gpt-4.1-mini`, a map entry `fast: claude-3-5-haiku-latest`, or an
 * llm object with `model` but no `provider` get their provider from a map of model-name prefixes, the longest
 * matching prefix winning. The default map is {@link DEFAULT_MODEL_PROVIDER_MAP}; the loading process's
 * `LLM_MODEL_PROVIDER_INFERENCE_MAP` (a JSON object, OmniAgent's name and format: `{"<prefix>[*]": "<provider>"}`) adds
 * entries and overrides defaults. A model string no prefix matches is a `validate` error saying what to write.
 *
 * Runs on the YAML document before its schema is checked, so everything after sees explicit `{provider, model}`.
 * Pure (the environment is passed in).
 */
import { LLM_PROVIDERS, type LlmProvider } from './schema.js';
import type { KeyPath, PathIssue } from './validate.js';

/** Environment variable holding extra prefix → provider entries (JSON object). */
export const MODEL_PROVIDER_INFERENCE_VARIABLE = 'LLM_MODEL_PROVIDER_INFERENCE_MAP';

/**
 * Model-name prefixes and their providers (a trailing `*` is allowed and ignored, as in OmniAgent): OpenAI's `gpt-`,
 * `o1`, `o3`, `o4`, `chatgpt-`, `text-embedding-`; Anthropic's `claude-`; Google's `gemini-`; Mistral's `mistral-`,
 * `open-mistral-`, `codestral-`, `ministral-`, `magistral-`, `pixtral-`; Cohere's `command-`. Models served by other
 * providers (Ollama, vLLM, Groq, Hugging Face...) share names across them, so they need an explicit `provider`.
 */
export const DEFAULT_MODEL_PROVIDER_MAP: Readonly<Record<string, LlmProvider>> = {
  'gpt-': 'openai',
  o1: 'openai',
  o3: 'openai',
  o4: 'openai',
  'chatgpt-': 'openai',
  'text-embedding-': 'openai',
  'claude-': 'anthropic',
  'gemini-': 'google',
  'mistral-': 'mistral',
  'open-mistral-': 'mistral',
  'codestral-': 'mistral',
  'ministral-': 'mistral',
  'magistral-': 'mistral',
  'pixtral-': 'mistral',
  'command-': 'cohere',
};

/**
 * The map in force: the defaults with `LLM_MODEL_PROVIDER_INFERENCE_MAP`'s entries over them. A variable that is not
 * a JSON object of provider names comes back as `problem` (a config error) and the defaults are used.
 */
export function modelProviderMap(env: Record<string, string | undefined>): { map: Record<string, LlmProvider>; problem?: string } {
  const text = env[MODEL_PROVIDER_INFERENCE_VARIABLE]?.trim();
  if (!text) return { map: { ...DEFAULT_MODEL_PROVIDER_MAP } };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { map: { ...DEFAULT_MODEL_PROVIDER_MAP }, problem: `${MODEL_PROVIDER_INFERENCE_VARIABLE} is not JSON (write a JSON object such as {"llama": "ollama"})` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { map: { ...DEFAULT_MODEL_PROVIDER_MAP }, problem: `${MODEL_PROVIDER_INFERENCE_VARIABLE} must be a JSON object of "<model prefix>": "<provider>"` };
  }
  const map: Record<string, LlmProvider> = { ...DEFAULT_MODEL_PROVIDER_MAP };
  for (const [prefix, provider] of Object.entries(parsed)) {
    if (typeof provider !== 'string' || !(LLM_PROVIDERS as readonly string[]).includes(provider)) {
      return {
        map: { ...DEFAULT_MODEL_PROVIDER_MAP },
        problem: `${MODEL_PROVIDER_INFERENCE_VARIABLE}: "${prefix}" maps to ${JSON.stringify(provider)}, not a provider (one of ${LLM_PROVIDERS.join(', ')})`,
      };
    }
    map[prefix] = provider as LlmProvider;
  }
  return { map };
}

/** The provider of `model` by the longest matching prefix of `map` (a trailing `*` ignored), or undefined. */
export function inferProvider(model: string, map: Readonly<Record<string, LlmProvider>>): LlmProvider | undefined {
  let best: { length: number; provider: LlmProvider } | undefined;
  for (const [pattern, provider] of Object.entries(map)) {
    const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
    if (prefix && model.startsWith(prefix) && prefix.length > (best?.length ?? -1)) best = { length: prefix.length, provider };
  }
  return best?.provider;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether an `llm:` object is one config (it has `provider`, `model` or `script` as text) rather than a map. */
function isSingleConfig(o: Obj): boolean {
  return ['provider', 'model', 'script'].some((k) => typeof o[k] === 'string');
}

function unknownModel(path: KeyPath, model: string, form: 'string' | 'object'): PathIssue {
  const write = form === 'string' ? `{provider: <provider>, model: ${model}}` : `provider: <provider> beside model: ${model}`;
  return {
    path,
    message:
      `no provider is known for model "${model}" (no prefix of the inference map matches it): write ${write} ` +
      `(providers: ${LLM_PROVIDERS.filter((p) => p !== 'scripted').join(', ')}), or add {"${model}": "<provider>"} to ${MODEL_PROVIDER_INFERENCE_VARIABLE}`,
  };
}

/**
 * The document with providers filled in where a model string or a provider-less llm object stands (`llm`, its map
 * entries, `embedding_model` objects, flows' inline `components.memory.llm` objects), and the problems: unknown model
 * strings (at their key path) and a bad `LLM_MODEL_PROVIDER_INFERENCE_MAP`. Other values are left as they are for the
 * schema to judge. Does not mutate `doc`.
 */
export function inferLlmProviders(doc: unknown, env: Record<string, string | undefined>): { doc: unknown; issues: PathIssue[] } {
  if (!isObj(doc)) return { doc, issues: [] };
  const { map, problem } = modelProviderMap(env);
  const issues: PathIssue[] = problem ? [{ path: ['llm'], message: problem }] : [];
  const fill = (value: unknown, path: KeyPath, strings: boolean): unknown => {
    if (typeof value === 'string' && strings) {
      const provider = inferProvider(value, map);
      if (!provider) {
        issues.push(unknownModel(path, value, 'string'));
        return value;
      }
      return { provider, model: value };
    }
    if (isObj(value) && value.provider === undefined && typeof value.model === 'string') {
      const provider = inferProvider(value.model, map);
      if (!provider) {
        issues.push(unknownModel([...path, 'model'], value.model, 'object'));
        return value;
      }
      return { provider, ...value };
    }
    return value;
  };
  const out: Obj = { ...doc };
  if (typeof out.llm === 'string') out.llm = fill(out.llm, ['llm'], true);
  else if (isObj(out.llm)) {
    out.llm = isSingleConfig(out.llm)
      ? fill(out.llm, ['llm'], false)
      : Object.fromEntries(Object.entries(out.llm).map(([name, c]) => [name, fill(c, ['llm', name], true)]));
  }
  if (isObj(out.embedding_model)) out.embedding_model = fill(out.embedding_model, ['embedding_model'], false);
  if (Array.isArray(out.flows)) {
    out.flows = out.flows.map((flow, i) => {
      const llm = isObj(flow) && isObj(flow.components) && isObj(flow.components.memory) ? flow.components.memory.llm : undefined;
      if (!isObj(llm)) return flow; // a string there names an llm entry (NOMOS), not a model
      const f = flow as Obj & { components: Obj & { memory: Obj } };
      return { ...f, components: { ...f.components, memory: { ...f.components.memory, llm: fill(llm, ['flows', i, 'components', 'memory', 'llm'], false) } } };
    });
  }
  return { doc: out, issues };
}
