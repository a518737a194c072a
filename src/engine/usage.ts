/**
 * Token accounting: what one provider call reports ({@link ProviderUsage}), the sums kept per turn and per session
 * ({@link TokenUsage}), and the optional price table that turns tokens into cost ({@link ModelPrices}).
 *
 * Provider fields map as follows (adapters in activities/models/ and activities/embeddings.ts):
 * - OpenAI Chat Completions: `prompt_tokens` → input, `completion_tokens` → output,
 *   `prompt_tokens_details.cached_tokens` → cachedInput, `completion_tokens_details.reasoning_tokens` → reasoning;
 * - OpenAI Responses: `input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
 *   `output_tokens_details.reasoning_tokens`;
 * - Anthropic Messages: `input_tokens` (+ `cache_read_input_tokens` + `cache_creation_input_tokens`, which Anthropic
 *   counts apart) → input, `cache_read_input_tokens` → cachedInput, `output_tokens` → output;
 * - embeddings: `prompt_tokens` → input (vectors served from the worker's cache cost nothing and count nothing);
 * - scripted models: zero (a call with no tokens still counts in `calls`).
 *
 * Pure (no Node imports): the session workflow sums with it.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';

const count = lazySchema(() => z.number().int().nonnegative());

/** Token counts one provider call reported; every field optional (a provider may leave any out). */
export const ProviderUsage = lazySchema(() => z.object({
  inputTokens: z.number().optional(),
  outputTokens: z.number().optional(),
  /** Input tokens served from the provider's prompt cache (part of `inputTokens`). */
  cachedInputTokens: z.number().optional(),
  /** Output tokens spent on hidden reasoning (part of `outputTokens`; OpenAI o-series / Responses). */
  reasoningTokens: z.number().optional(),
}));
export type ProviderUsage = z.infer<typeof ProviderUsage>;

/** What a provider call was for. */
export const USAGE_PURPOSES = ['decide', 'summarize', 'rank', 'title'] as const;
export const UsagePurpose = lazySchema(() => z.enum(USAGE_PURPOSES));
export type UsagePurpose = z.infer<typeof UsagePurpose>;

/**
 * Summed usage of a turn or a session: tokens (`totalTokens` = input + output), the number of provider calls counted,
 * and `costUsd` when the agent has a price table (`pricing`) that names every model used; calls of a model the table
 * does not name leave `costUsd` out and are counted in `unpricedCalls`.
 */
export const TokenUsage = lazySchema(() => z.object({
  inputTokens: count,
  outputTokens: count,
  totalTokens: count,
  cachedInputTokens: count.optional(),
  reasoningTokens: count.optional(),
  /** Provider calls summed (decisions, summaries, embeddings requests, titles), including scripted ones. */
  calls: count,
  /** US dollars, from the agent's `pricing` table; absent without a table or when some call had no price. */
  costUsd: z.number().nonnegative().optional(),
  /** Calls whose model had no entry in the price table (so `costUsd` is left out). Absent when zero. */
  unpricedCalls: count.optional(),
}));
export type TokenUsage = z.infer<typeof TokenUsage>;

/** Price of one model, US dollars per million tokens (`cached_input` defaults to `input`). */
export const ModelPrice = lazySchema(() => z.object({
  inputPerMillion: z.number().nonnegative(),
  outputPerMillion: z.number().nonnegative(),
  cachedInputPerMillion: z.number().nonnegative().optional(),
}));
export type ModelPrice = z.infer<typeof ModelPrice>;

/**
 * Price table by model name (agent YAML `pricing:`). A call's model is looked up by the configured model name, then
 * by the model the provider reported (e.g. a dated `gpt-4.1-mini-2025-04-14`), then by the longest table key that
 * the reported or configured name starts with.
 */
export const ModelPrices = lazySchema(() => z.record(z.string(), ModelPrice));
export type ModelPrices = z.infer<typeof ModelPrices>;

/** No usage yet. */
export const ZERO_USAGE: TokenUsage = Object.freeze({ inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 0 }) as TokenUsage;

const whole = (n: number | undefined): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

/** The price of `models` (configured name first, then the reported one) in `prices`, if any. */
export function priceOf(prices: ModelPrices | undefined, ...models: Array<string | undefined>): ModelPrice | undefined {
  if (!prices) return undefined;
  const names = models.filter((m): m is string => typeof m === 'string' && m.length > 0);
  for (const name of names) if (Object.hasOwn(prices, name)) return prices[name];
  let best: { length: number; price: ModelPrice } | undefined;
  for (const [key, price] of Object.entries(prices)) {
    if (names.some((n) => n.startsWith(key)) && key.length > (best?.length ?? -1)) best = { length: key.length, price };
  }
  return best?.price;
}

/**
 * The usage of one provider call: counts as whole non-negative numbers (missing ones 0), `calls` 1, and `costUsd`
 * when `prices` names the model (cached input at its own price when given). `model` is the configured model name,
 * `reportedModel` the one the provider answered with.
 */
export function callUsage(raw: ProviderUsage | undefined, opts: { prices?: ModelPrices; model?: string; reportedModel?: string } = {}): TokenUsage {
  const input = whole(raw?.inputTokens);
  const output = whole(raw?.outputTokens);
  const cached = Math.min(whole(raw?.cachedInputTokens), input);
  const reasoning = whole(raw?.reasoningTokens);
  const usage: TokenUsage = {
    inputTokens: input,
    outputTokens: output,
    totalTokens: input + output,
    ...(cached ? { cachedInputTokens: cached } : {}),
    ...(reasoning ? { reasoningTokens: reasoning } : {}),
    calls: 1,
  };
  if (!opts.prices) return usage;
  const price = priceOf(opts.prices, opts.model, opts.reportedModel);
  if (!price) return { ...usage, unpricedCalls: 1 };
  const cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion;
  const cost = ((input - cached) * price.inputPerMillion + cached * cachedPrice + output * price.outputPerMillion) / 1_000_000;
  return { ...usage, costUsd: roundUsd(cost) };
}

/**
 * `a + b`. `costUsd` is kept only while every call summed had a price (once a call had none, the sum has
 * `unpricedCalls` and no cost: a partial cost would read as the whole).
 */
export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const cached = (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0);
  const reasoning = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  const unpriced = (a.unpricedCalls ?? 0) + (b.unpricedCalls ?? 0);
  const priced = (u: TokenUsage) => u.calls === 0 || u.costUsd !== undefined;
  const cost = !unpriced && priced(a) && priced(b) && (a.costUsd !== undefined || b.costUsd !== undefined) ? roundUsd((a.costUsd ?? 0) + (b.costUsd ?? 0)) : undefined;
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    ...(cached ? { cachedInputTokens: cached } : {}),
    ...(reasoning ? { reasoningTokens: reasoning } : {}),
    calls: a.calls + b.calls,
    ...(cost !== undefined ? { costUsd: cost } : {}),
    ...(unpriced ? { unpricedCalls: unpriced } : {}),
  };
}

/** Dollars rounded to 1e-9 (below a billionth of a cent, so sums stay stable in JSON). */
function roundUsd(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

/**
 * Sums a turn's and a session's usage as calls finish (the session workflow holds one; plain JSON inside, so its
 * {@link session} total can be carried across continue-as-new).
 */
export class UsageMeter {
  #turn: TokenUsage = ZERO_USAGE;
  #session: TokenUsage;

  /** `carried`: the session total a previous run handed over (absent: zero). */
  constructor(carried?: TokenUsage) {
    this.#session = carried ?? ZERO_USAGE;
  }

  /** Counts one call in the running turn (when `inTurn`) and in the session. */
  add(usage: TokenUsage, inTurn = true): void {
    if (inTurn) this.#turn = addUsage(this.#turn, usage);
    this.#session = addUsage(this.#session, usage);
  }

  /** Starts a new turn's sum. */
  startTurn(): void {
    this.#turn = ZERO_USAGE;
  }

  /** The running (or last) turn's sum. */
  get turn(): TokenUsage {
    return this.#turn;
  }

  /** The session's sum over every run so far. */
  get session(): TokenUsage {
    return this.#session;
  }
}
