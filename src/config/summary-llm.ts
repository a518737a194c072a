/**
 * Flow-memory summaries with their own model settings (OmniAgent's `SummaryLLMOverrides`): an llm's `summary:`
 * section (`model`, `temperature`, `max_tokens`, `kwargs`) applies to the summaries made with that llm and to nothing
 * else, so a session can decide with one temperature and summarise with another, or summarise on a cheaper model of
 * the same provider.
 *
 * Pure.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';

/** `llm.summary` as loaded: each field given replaces the llm's own for summaries (`kwargs` are merged over). */
export const SummaryOverrides = lazySchema(() => z.object({
  model: z.string().optional(),
  temperature: z.number().optional(),
  maxTokens: z.number().int().optional(),
  kwargs: z.record(z.string(), z.unknown()).optional(),
}));
export type SummaryOverrides = z.infer<typeof SummaryOverrides>;

/** YAML `llm.summary`: settings of summaries made with this llm (each replaces the llm's own; kwargs merged). */
export const RawSummaryOverrides = lazySchema(() => z.strictObject({
  model: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  kwargs: z.record(z.string(), z.unknown()).optional(),
}));
export type RawSummaryOverrides = z.infer<typeof RawSummaryOverrides>;

/** The subset of an llm config {@link summaryLlm} reads and writes. */
interface SummarisingLlm {
  model?: string;
  temperature?: number;
  maxTokens?: number;
  kwargs?: Record<string, unknown>;
  summary?: SummaryOverrides;
}

/**
 * The config a summary call uses: `llm` with its `summary` overrides applied and the `summary` section dropped (an
 * llm without one is returned unchanged, apart from nothing). Used by the `summarize` activity, so the request in
 * workflow history shows the overrides as written.
 */
export function summaryLlm<T extends SummarisingLlm>(llm: T): Omit<T, 'summary'> {
  const { summary, ...rest } = llm;
  if (!summary) return rest;
  const kwargs = summary.kwargs ? { ...(rest.kwargs ?? {}), ...summary.kwargs } : rest.kwargs;
  return {
    ...rest,
    ...(summary.model !== undefined ? { model: summary.model } : {}),
    ...(summary.temperature !== undefined ? { temperature: summary.temperature } : {}),
    ...(summary.maxTokens !== undefined ? { maxTokens: summary.maxTokens } : {}),
    ...(kwargs ? { kwargs } : {}),
  };
}
