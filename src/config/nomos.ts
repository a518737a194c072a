/**
 * NOMOS compatibility of the agent YAML: what NOMOS (`dowhiledev/nomos`, `nomos/config.py`, `nomos/models/*.py`,
 * `nomos/memory/flow.py`) accepts that Stepwise reads differently or not at all.
 *
 * - {@link agentIdFromName}: NOMOS names are free text (`Nomos Github Bot`); Stepwise needs a URL-safe agent id.
 * - {@link nomosKeyWarnings}: one warning per key NOMOS accepts and Stepwise does not use, naming the key and why, and
 *   a note (a warning) per key NOMOS ignores and Stepwise applies ({@link NOMOS_IGNORED_LLM_KEYS}).
 *   A key neither knows stays an error (strict schema), so a typo still fails fast.
 *
 * Pure.
 */
import type { z } from 'zod';
import type { LlmConfig } from './agent.js';
import { chooseEmbeddings } from './embeddings.js';
import { DEFAULT_LLM, type RawAgent, type RawLlmConfig, type RawRetriever, type RawTools } from './schema.js';
import { keyOf, type KeyPath, type PathIssue } from './validate.js';

/** Agent ids: what `GET /agents/:agentId` and session routes accept. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9_.-]+$/;

/**
 * The agent id for a name: the name itself when it is already URL-safe (so existing ids never change), otherwise a
 * slug — lower case, runs of other characters replaced by `-`, trimmed (`Nomos Github Bot` → `nomos-github-bot`).
 * Returns `undefined` when nothing URL-safe remains (e.g. a name of only emoji).
 */
export function agentIdFromName(name: string): string | undefined {
  if (AGENT_ID_PATTERN.test(name)) return name;
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return slug || undefined;
}

/** `tools:` with NOMOS aliases resolved (`files`, `ext`, `defs`). */
export interface CanonicalTools {
  toolFiles: string[];
  toolFilesKey: string;
  toolDefs?: NonNullable<RawTools['tool_defs']>;
  toolDefsKey: string;
}

/** Resolves the NOMOS aliases of `tools:` (the alias checks make sure only one of each pair is written). */
export function canonicalTools(tools: RawTools | undefined): CanonicalTools {
  const t = tools ?? {};
  return {
    toolFiles: t.tool_files ?? t.files ?? [],
    toolFilesKey: keyOf(t, 'tool_files', 'files'),
    toolDefs: t.tool_defs ?? t.defs,
    toolDefsKey: keyOf(t, 'tool_defs', 'defs'),
  };
}

const AUTH_REASON = 'set API auth with STEPWISE_API_KEYS / STEPWISE_JWT_* (docs/production.md "Authentication")';

/** Why each `server.security` key is not read, by key (the rest: {@link AUTH_REASON}). */
const SECURITY_REASONS: Record<string, string> = {
  allowed_origins: 'allowed browser origins are the API process\'s own setting: STEPWISE_CORS_ORIGINS',
  enable_rate_limiting: 'rate limits are the API process\'s own settings, not the agent\'s',
  rate_limit: 'rate limits are the API process\'s own settings, not the agent\'s',
  rate_limit_times: 'rate limits are the API process\'s own settings, not the agent\'s',
  rate_limit_seconds: 'rate limits are the API process\'s own settings, not the agent\'s',
  redis_url: 'Stepwise keeps no Redis',
  enable_csrf_protection: 'the API takes no cookies, so there is nothing for CSRF to forge',
  csrf_secret_key: 'the API takes no cookies, so there is nothing for CSRF to forge',
};

/**
 * `llm` keys NOMOS ignores and Stepwise applies: NOMOS's `LLMConfig` (nomos/llms/__init__.py) reads only `provider`,
 * `model`, `kwargs` and `embedding_model` (pydantic drops other keys), so a NOMOS config's top-level `temperature`
 * changes nothing there but is sent by Stepwise.
 */
export const NOMOS_IGNORED_LLM_KEYS = ['temperature', 'max_tokens'] as const;

/** One note per {@link NOMOS_IGNORED_LLM_KEYS} key set in `llm` (one config, or each entry of a named map). */
function ignoredLlmKeyNotes(raw: RawAgent): PathIssue[] {
  const section = raw.llm as RawLlmConfig | Record<string, RawLlmConfig> | undefined;
  if (section === undefined) return [];
  const configs: [KeyPath, RawLlmConfig][] =
    typeof section.provider === 'string'
      ? [[['llm'], section as RawLlmConfig]]
      : Object.entries(section as Record<string, RawLlmConfig>).map(([name, c]) => [['llm', name], c]);
  return configs.flatMap(([path, config]) =>
    NOMOS_IGNORED_LLM_KEYS.filter((key) => config[key] !== undefined).map((key) => {
      const name = [...path, key].join('.');
      return warn([...path, key], `NOMOS ignores ${name} (it reads only provider, model, kwargs, embedding_model); Stepwise applies it to every request of this model`);
    }),
  );
}

function warn(path: KeyPath, message: string): PathIssue {
  return { path, message, severity: 'warning', at: 'key' };
}

/**
 * One warning per NOMOS key that Stepwise accepts but does not use (or uses differently), each naming the key and
 * the reason. `server.port`/`server.host` are used (by `stepwise api` / `dev`), so they get none.
 */
export function nomosKeyWarnings(raw: RawAgent): PathIssue[] {
  const out: PathIssue[] = [...ignoredLlmKeyNotes(raw)];
  const server = raw.server;
  if (server?.workers !== undefined) {
    out.push(warn(['server', 'workers'], 'NOMOS server.workers is not used: scale Stepwise by running more `stepwise worker` / `stepwise api` processes'));
  }
  for (const key of Object.keys(server?.security ?? {})) {
    out.push(warn(['server', 'security', key], `NOMOS server.security.${key} is not used: ${SECURITY_REASONS[key] ?? AUTH_REASON}`));
  }
  for (const key of Object.keys(server?.session ?? {})) {
    out.push(warn(['server', 'session', key], `NOMOS server.session.${key} is not used: sessions are Temporal workflows (archive: DATABASE_URL; idle timeout: session.idle_timeout)`));
  }
  for (const [name, file] of Object.entries(raw.schemas ?? {})) {
    if (!file.endsWith('.json')) {
      out.push(warn(['schemas', name], `schema ${name} (${file}) is not JSON Schema: Python models cannot be loaded; an answer_model naming it fails`));
    }
  }
  if (raw.logging !== undefined) {
    out.push(warn(['logging'], 'NOMOS logging is not used: Stepwise logs through pino (LOG_LEVEL) and the Temporal UI'));
  }
  if (raw.memory?.type !== undefined) {
    out.push(warn(['memory', 'type'], 'NOMOS memory.type is not used: Stepwise always keeps summaries + a recent window + retrieval (memory.recent_items, recent_chars, max_items, retriever)'));
  }
  if (raw.memory?.kwargs !== undefined) {
    out.push(warn(['memory', 'kwargs'], 'NOMOS memory.kwargs is not used: tune memory.recent_items, recent_chars, max_items instead'));
  }
  const embeddings = rawEmbeddings(raw);
  if (raw.embedding_model !== undefined && 'none' in embeddings) {
    out.push(warn(['embedding_model'], `embedding_model is not used: ${embeddings.none}; memory retrieval and examples use BM25`));
  }
  raw.steps.forEach((step, i) => {
    if (step.flow_id !== undefined) {
      out.push(warn(['steps', i, 'flow_id'], 'NOMOS step.flow_id is not used: a step belongs to a flow through flows[].enters / exits'));
    }
  });
  (raw.flows ?? []).forEach((flow, i) => {
    if (flow.metadata !== undefined) out.push(warn(['flows', i, 'metadata'], 'flow metadata is not used (NOMOS ignores it too)'));
    const retriever = flow.components?.memory?.retriever;
    out.push(...retrieverWarnings(retriever, ['flows', i, 'components', 'memory', 'retriever'], embeddings));
  });
  out.push(...retrieverWarnings(raw.memory?.retriever, ['memory', 'retriever'], embeddings));
  return out;
}

/**
 * {@link chooseEmbeddings} on the raw document, enough to tell whether embeddings will be used: the global llm
 * (NOMOS's default when `llm` is absent) and the agent-level `embedding_model` (a string names a model of the global
 * llm's provider).
 */
function rawEmbeddings(raw: RawAgent): ReturnType<typeof chooseEmbeddings> {
  const section = raw.llm as RawLlmConfig | Record<string, RawLlmConfig> | undefined;
  const rawGlobal: RawLlmConfig | undefined =
    section === undefined ? { ...DEFAULT_LLM } : typeof section.provider === 'string' ? (section as RawLlmConfig) : (section as Record<string, RawLlmConfig>).global;
  const asLlm = (c: RawLlmConfig): LlmConfig => ({ provider: c.provider, model: c.model, embeddingModel: c.embedding_model });
  const global = rawGlobal ? asLlm(rawGlobal) : undefined;
  const own = raw.embedding_model;
  const agentLevel = own === undefined ? undefined : typeof own === 'string' ? (global ? { ...global, model: own, embeddingModel: undefined } : undefined) : asLlm(own);
  return chooseEmbeddings(global, agentLevel);
}

function retrieverWarnings(
  retriever: z.infer<typeof RawRetriever> | undefined,
  path: KeyPath,
  embeddings: ReturnType<typeof chooseEmbeddings>,
): PathIssue[] {
  const out: PathIssue[] = [];
  if (!retriever) return out;
  if (retriever.method === 'embedding' && 'none' in embeddings) {
    out.push(warn([...path, 'method'], `retriever method "embedding": ${embeddings.none}, so BM25 is used as the offline fallback`));
  }
  for (const key of ['method', 'idf_method'] as const) {
    if (retriever.kwargs?.[key] !== undefined) {
      out.push(warn([...path, 'kwargs', key], `bm25s ${key} is not supported by MiniSearch's BM25+: ignored`));
    }
  }
  return out;
}
