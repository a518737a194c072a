/**
 * Example selection (semantics ≥ 2): which of a step's decision examples the prompt shows, following NOMOS
 * (`Step.get_examples` in nomos/models/agent.py): every `always` example, never a `never` one, and the
 * `max_examples - #always` `dynamic` examples most similar to the conversation, kept only when their similarity is at
 * least `threshold`.
 *
 * Similarity: as NOMOS, the cosine of embeddings of each example's `context` and the user's message, when the session
 * ranks with embeddings ({@link selectExamplesByScore}; `threshold` is then an absolute cosine). Otherwise (no
 * embeddings model, or ranking failed) the project's lexical ranking ({@link selectExamples}) — MiniSearch's BM25+ (as
 * memory retrieval, ./memory.ts) of the example contexts against the user's message, each score divided by the best
 * one, so the best match scores 1 and an example sharing no term with the message scores 0: `threshold` is then
 * relative to the best match (0.5 = at least half as relevant).
 *
 * Pure: deterministic for the same inputs.
 */
import MiniSearch from 'minisearch';
import type { Example } from '../config/agent.js';

/** Selection knobs: examples shown at most, least relative similarity (0-1) of a dynamic example. */
export interface ExampleSelection {
  maxExamples: number;
  threshold: number;
}

/**
 * The examples to show for `query` (the user's message): `always` ones first (all of them, NOMOS does not cap them),
 * then the best-scoring `dynamic` ones, most similar first. Returns `[]` when the step has no examples.
 */
export function selectExamples(examples: Example[], query: string, opts: ExampleSelection): Example[] {
  const always = examples.filter((e) => e.visibility === 'always');
  const dynamic = examples.filter((e) => (e.visibility ?? 'dynamic') === 'dynamic');
  const room = opts.maxExamples - always.length;
  if (room <= 0 || dynamic.length === 0 || !query.trim()) return always;
  const index = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], idField: 'id' });
  index.addAll(dynamic.map((e, id) => ({ id, text: exampleText(e) })));
  const hits = index.search(query, { prefix: false, fuzzy: false, combineWith: 'OR' });
  const best = hits[0]?.score ?? 0;
  if (best <= 0) return always;
  const chosen = hits
    .map((h) => ({ id: h.id as number, similarity: h.score / best }))
    .sort((a, b) => b.similarity - a.similarity || a.id - b.id)
    .slice(0, room)
    .filter((h) => h.similarity >= opts.threshold)
    .map((h) => dynamic[h.id]);
  return [...always, ...chosen];
}

/** The text an example is embedded or matched on: its context (NOMOS embeds the context only), else its decision's JSON. */
export function exampleText(example: Example): string {
  return example.context ?? JSON.stringify(example.decision ?? '') ?? '';
}

/**
 * The dynamic examples worth ranking for a decision: those that could be shown (none when `always` ones fill
 * `maxExamples`), at most `cap`, in config order.
 */
export function rankableExamples(examples: Example[], maxExamples: number, cap: number): Example[] {
  const always = examples.filter((e) => e.visibility === 'always').length;
  if (maxExamples - always <= 0) return [];
  return examples.filter((e) => (e.visibility ?? 'dynamic') === 'dynamic').slice(0, cap);
}

/**
 * NOMOS's selection (`Step.get_examples`) over given similarities: every `always` example, then of `ranked` (from
 * {@link rankableExamples}, `scores[i]` the cosine of `ranked[i]` to the message) the `maxExamples - #always` most
 * similar, kept when their similarity is at least `threshold` (absolute). Most similar first; ties in config order.
 */
export function selectExamplesByScore(examples: Example[], ranked: Example[], scores: number[], opts: ExampleSelection): Example[] {
  const always = examples.filter((e) => e.visibility === 'always');
  const chosen = ranked
    .map((example, i) => ({ example, i, similarity: scores[i] ?? -Infinity }))
    .sort((a, b) => b.similarity - a.similarity || a.i - b.i)
    .slice(0, Math.max(0, opts.maxExamples - always.length))
    .filter((h) => h.similarity >= opts.threshold)
    .map((h) => h.example);
  return [...always, ...chosen];
}
