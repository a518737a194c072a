/** Zod schema of the agent YAML: steps (routes, answer models, examples) and flows (memory, retrievers). */
import { z } from 'zod';
import { RawLlmConfig } from './llm.js';

export const RawRoute = z.strictObject({
  target: z.string().min(1).optional(),
  to: z.string().min(1).optional(),
  condition: z.string().optional(),
  when: z.string().optional(),
});

/** `answer_model`: a JSON Schema object, a field map (`name: string`, `qty: integer?`), or a path to a JSON file. */
export const RawAnswerModel = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

/** NOMOS example visibility: `always` shown, `dynamic` chosen by similarity (`max_examples`, `threshold`), `never`. */
export const EXAMPLE_VISIBILITIES = ['always', 'dynamic', 'never'] as const;

export const RawExample = z.union([
  z.string(),
  z.looseObject({
    context: z.string().optional(),
    decision: z.unknown().optional(),
    visibility: z.enum(EXAMPLE_VISIBILITIES).optional(),
  }),
]);

export const RawStep = z.strictObject({
  step_id: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  description: z.string().optional(),
  desc: z.string().optional(),
  routes: z.array(RawRoute).optional(),
  paths: z.array(RawRoute).optional(),
  available_tools: z.array(z.string().min(1)).optional(),
  tools: z.array(z.string().min(1)).optional(),
  answer_model: RawAnswerModel.optional(),
  examples: z.array(RawExample).optional(),
  eg: z.array(RawExample).optional(),
  quick_suggestions: z.union([z.boolean(), z.array(z.string())]).optional(),
  auto_flow: z.boolean().optional(),
  overrides: z.strictObject({ persona: z.string().optional(), llm: z.string().optional() }).optional(),
  /** NOMOS: accepted and ignored (flows are declared by `flows[].enters` / `exits`). */
  flow_id: z.string().optional(),
  /** Every tool call of this step waits for a human's approval (see docs/approvals.md). */
  requires_approval: z.boolean().optional(),
});
export type RawStep = z.infer<typeof RawStep>;

/**
 * Retrievers: `bm25` (MiniSearch's BM25+), and NOMOS's default `embedding`, which loads with a warning and runs BM25
 * offline until an embeddings provider is wired (the parsed `method` is kept as written).
 */
export const RETRIEVER_METHODS = ['bm25', 'embedding'] as const;

/**
 * Retriever settings. `k`: items retrieved (top-k). BM25 tuning as NOMOS passes it to `bm25s.BM25(...)`: `k1` (term
 * frequency saturation, MiniSearch `k`, default 1.2), `b` (length normalisation, default 0.7), `delta` (BM25+ lower
 * bound, MiniSearch `d`, default 0.5). `method`/`idf_method` (bm25s variants) are accepted and ignored with a warning.
 */
export const RawRetriever = z.strictObject({
  method: z.enum(RETRIEVER_METHODS).optional(),
  kwargs: z
    .strictObject({
      k: z.number().int().min(0).max(50).optional(),
      k1: z.number().positive().max(100).optional(),
      b: z.number().min(0).max(1).optional(),
      delta: z.number().min(0).max(10).optional(),
      method: z.string().optional(),
      idf_method: z.string().optional(),
    })
    .optional(),
});

/** Memory window knobs (agent-wide under `memory:`, per flow under `components.memory`). */
export const RawMemoryWindow = {
  /** Most recent items shown verbatim (default 12). */
  recent_items: z.number().int().min(1).max(200).optional(),
  /** Character budget of the recent items (default 8000, ~2k tokens at 4 chars/token). */
  recent_chars: z.number().int().min(200).max(200_000).optional(),
  /** Older items kept for retrieval (default 200); beyond that only summaries remain. */
  max_items: z.number().int().min(1).max(5_000).optional(),
};

export const RawFlow = z.strictObject({
  flow_id: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  description: z.string().optional(),
  desc: z.string().optional(),
  enters: z.array(z.string().min(1)).min(1),
  exits: z.array(z.string().min(1)).min(1),
  components: z
    .strictObject({
      memory: z
        .strictObject({
          /** A name from the `llm` map, or (NOMOS) an inline model config. */
          llm: z.union([z.string(), RawLlmConfig]).optional(),
          retriever: RawRetriever.optional(),
          ...RawMemoryWindow,
        })
        .optional(),
    })
    .optional(),
  /** NOMOS cookbook configs carry it; NOMOS ignores it. Accepted with a warning. */
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type RawFlow = z.infer<typeof RawFlow>;
