/**
 * Redaction of agent snapshots before an HTTP reply shows them (`GET /agents/:agentId`).
 *
 * Snapshots are meant to be secret-free (API keys are named by `api_key_env`, environment values in llm headers are a
 * load error), but a literal written in the YAML (`headers: {Authorization: "Bearer ..."}`, a token in `kwargs`)
 * still reaches the snapshot. Reads replace such values by {@link REDACTED}; the snapshot sessions pin is unchanged.
 *
 * Pure: no I/O.
 */
import type { AgentSnapshot, LlmConfig } from './agent.js';

/** What a redacted value reads as. */
export const REDACTED = '[redacted]';

/**
 * Keys whose string value is a secret: authorization, api key, token, secret, password, cookie, credential, private
 * key (any case, `-`/`_` or none between words: `X-Api-Key`, `api_token`, `Set-Cookie`). Keys ending in `Env` / `_env`
 * name an environment variable (`apiKeyEnv`) and are not secrets.
 */
const SECRET_KEY = /authori[sz]ation|api[-_]?key|token|secret|passw(or)?d|cookie|credential|private[-_]?key/i;
const VARIABLE_NAME_KEY = /(Env|_env)$/;

/**
 * Values that are secrets whatever their key: an HTTP credential (`Bearer ...`, `Basic ...`), an OpenAI/Anthropic/Stripe
 * style key (`sk-...`, `sk_...`), a GitHub token (`ghp_...`, `github_pat_...`), a Slack token (`xoxb-...`) or a JWT.
 */
const SECRET_VALUE = [
  /^(Bearer|Basic|Token)\s+\S/i,
  /^sk[-_][A-Za-z0-9_-]{8,}/,
  /^(gh[pousr]_|github_pat_)[A-Za-z0-9_]{16,}/,
  /^xox[abprs]-[A-Za-z0-9-]{8,}/,
  /^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/,
];

/** Whether `key` names a secret (see {@link SECRET_KEY}). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !VARIABLE_NAME_KEY.test(key);
}

/** Whether `value` looks like a secret on its own (see {@link SECRET_VALUE}). */
export function isSecretValue(value: string): boolean {
  return SECRET_VALUE.some((re) => re.test(value.trim()));
}

/**
 * A deep copy of a JSON value with secrets replaced by {@link REDACTED}: a string under a secret-named key
 * ({@link isSecretKey}) at any depth, and any string that looks like a credential ({@link isSecretValue}).
 * Numbers, booleans and objects under secret-named keys are kept (`maxTokens: 1000`; a tool argument schema named
 * `password` is an object, only its string leaves are checked). Never throws; the input is not modified.
 */
export function redactSecrets<T>(value: T): T {
  return redact(value, undefined) as T;
}

/**
 * What `GET /agents/:agentId` shows of a snapshot: {@link redactSecrets}, and every header value of every model
 * config (`llms.*.headers`, `embeddingModel.headers`) replaced by {@link REDACTED} whatever its name, since request
 * headers are where credentials go. Header names stay visible. Never throws; the input is not modified.
 */
export function redactSnapshot(agent: AgentSnapshot): AgentSnapshot {
  const redacted = redactSecrets(agent);
  const llms = Object.fromEntries(Object.entries(redacted.llms).map(([name, llm]) => [name, withoutHeaderValues(llm)]));
  return {
    ...redacted,
    llms,
    ...(redacted.embeddingModel ? { embeddingModel: withoutHeaderValues(redacted.embeddingModel) } : {}),
  };
}

function withoutHeaderValues(llm: LlmConfig): LlmConfig {
  if (!llm.headers) return llm;
  return { ...llm, headers: Object.fromEntries(Object.keys(llm.headers).map((name) => [name, REDACTED])) };
}

function redact(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') return (key !== undefined && isSecretKey(key)) || isSecretValue(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((item) => redact(item, undefined));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
}
