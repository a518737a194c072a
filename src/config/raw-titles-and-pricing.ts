/**
 * YAML shapes of `session_title` and `pricing` (normalised by ./titles-and-pricing.ts). Imports nothing of the
 * config's own, so ./schema.ts can use them.
 *
 * Pure.
 */
import { z } from 'zod';

/** Longest generated title, in characters (OmniAgent's); `max_chars` may lower it. */
export const DEFAULT_TITLE_MAX_CHARS = 60;

/**
 * YAML `session_title`: `true` (titles by the global llm), `false`, or the settings. `llm` names an entry of the
 * agent's `llm` map (default `global`) to start from; `provider`/`model` replace its provider and model; then
 * `temperature`, `max_tokens`; `max_chars` is the longest title (1-60, default 60).
 */
export const RawSessionTitle = z.union([
  z.boolean(),
  z.strictObject({
    enabled: z.boolean().optional(),
    llm: z.string().min(1).optional(),
    provider: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().positive().optional(),
    max_chars: z.number().int().min(1).max(DEFAULT_TITLE_MAX_CHARS).optional(),
  }),
]);
export type RawSessionTitle = z.infer<typeof RawSessionTitle>;

/** YAML `pricing`: `<model>: {input, output, cached_input?}`, US dollars per million tokens. */
export const RawPricing = z.record(
  z.string().min(1),
  z.strictObject({ input: z.number().nonnegative(), output: z.number().nonnegative(), cached_input: z.number().nonnegative().optional() }),
);
export type RawPricing = z.infer<typeof RawPricing>;

