/**
 * What a decision sees of memory and examples: ranked by embeddings when the session ranks with them, else by BM25.
 *
 * In a session with `embeddings` (see `SessionState`), before a decision the engine asks its host to `rank` the
 * candidates — the older memory items when the memory's `retriever.method` is `embedding`, and the step's dynamic
 * examples (semantics ≥ 2) — against the user's message; the host answers with one cosine similarity per candidate
 * (`ranked`), which pick the top-k items and, as NOMOS's `Step.get_examples`, the examples at or above `threshold`.
 * No `rank` is asked when nothing needs ranking (every older item fits in k, no dynamic example can be shown, no user
 * text). When ranking fails (`rankFailed`), BM25 serves the rest of the turn.
 *
 * Bounds (./types.ts): at most {@link MAX_RANK_MEMORY_ITEMS} newest older items and {@link MAX_RANK_EXAMPLES} examples,
 * each text clipped to {@link RANK_TEXT_CHARS} characters.
 *
 * Pure.
 */
import { type AgentSnapshot, DEFAULT_EXAMPLES, type Example, type Step } from '../config/agent.js';
import { embeddingsLlm } from '../config/embeddings.js';
import { exampleText, rankableExamples, selectExamples, selectExamplesByScore } from './examples.js';
import { clip, memoryWindow, type MemoryWindow, retrieve, splitRecent, topByScore } from './memory.js';
import { currentMemory, memoryConfig, nomos, requireTurn } from './turn-state.js';
import { MAX_RANK_EXAMPLES, MAX_RANK_MEMORY_ITEMS, type MemoryItem, RANK_TEXT_CHARS, type RankRequest, type SessionState } from './types.js';

/** The context of the next decision, or the ranking it needs first. */
export type DecisionContext = { window: MemoryWindow; examples: Example[] | undefined } | { rank: RankRequest };

/**
 * The memory window and examples for the next decision at `step`, or a {@link RankRequest} to play first (its scores
 * come back as the turn's `ranking`). `examples` is undefined before semantics 2 (the prompt then pastes them all).
 */
export function decisionContext(agent: AgentSnapshot, state: SessionState, step: Step): DecisionContext {
  const turn = requireTurn(state);
  const query = turn.userText;
  const config = memoryConfig(agent, state);
  const memory = currentMemory(state);
  const selection = {
    maxExamples: agent.maxExamples ?? DEFAULT_EXAMPLES.maxExamples,
    threshold: agent.exampleThreshold ?? DEFAULT_EXAMPLES.threshold,
  };
  const llm = state.embeddings ? embeddingsLlm(agent) : undefined;
  const ranking = turn.ranking;
  const lexical = (): DecisionContext => ({
    window: memoryWindow(memory, config, query),
    examples: nomos(state) ? selectExamples(step.examples, query, selection) : undefined,
  });
  if (!llm || !query.trim() || (ranking && 'fallback' in ranking)) return lexical();

  const { recent, older } = splitRecent(memory, config);
  const k = config.retrieveK;
  const byEmbedding = config.retrieverMethod === 'embedding';
  const items: MemoryItem[] = byEmbedding && older.length > k && k > 0 ? older.slice(-MAX_RANK_MEMORY_ITEMS) : [];
  const examples = nomos(state) ? rankableExamples(step.examples, selection.maxExamples, MAX_RANK_EXAMPLES) : [];
  const window = (retrieved: MemoryItem[]): MemoryWindow => ({ summaries: memory.summaries.slice(-2), retrieved, recent });
  // Top-k of at most k older items is all of them; BM25 memories rank lexically whatever the examples do.
  const unranked = !byEmbedding ? retrieve(older, query, k, config.bm25) : k > 0 ? older : [];

  if (items.length === 0 && examples.length === 0) {
    return { window: window(unranked), examples: nomos(state) ? selectExamples(step.examples, query, selection) : undefined };
  }
  if (!ranking) {
    const candidates = [...items.map((i) => i.text), ...examples.map(exampleText)].map((t) => clip(t, RANK_TEXT_CHARS));
    return { rank: { sessionId: state.sessionId, llm, query: clip(query, RANK_TEXT_CHARS), candidates } };
  }
  // Scores for other candidates (a host bug): BM25 rather than a wrong ranking or asking again forever.
  if (ranking.scores.length !== items.length + examples.length) return lexical();
  const itemScores = ranking.scores.slice(0, items.length);
  return {
    window: window(items.length > 0 ? topByScore(items, itemScores, k) : unranked),
    examples: nomos(state)
      ? examples.length > 0
        ? selectExamplesByScore(step.examples, examples, ranking.scores.slice(items.length), selection)
        : selectExamples(step.examples, query, selection)
      : undefined,
  };
}
