/**
 * Session and flow memory, and the bounded window a decision sees of it.
 *
 * Window = latest summaries + the newest items (up to `recentItems` and `recentChars`) + the top-k older items ranked
 * by BM25 against the current user message (or, with embeddings, by cosine similarity: ./ranking.ts). Retrieval uses MiniSearch, whose scoring is BM25+ (Lv & Zhai, "Lower-
 * bounding term frequency normalization", CIKM 2011), a variant of Okapi BM25 that never scores a matching long
 * document below a non-matching one.
 *
 * Pure: deterministic for the same inputs, no clock, no I/O.
 */
import MiniSearch from 'minisearch';
import type { MemoryWindowConfig } from '../config/agent.js';
import { MAX_ITEM_CHARS, MAX_MEMORY_BYTES, MAX_SUMMARIES, type MemoryItem, type MemoryState } from './types.js';

/** An empty memory. */
export function emptyMemory(): MemoryState {
  return { summaries: [], items: [] };
}

/**
 * Cuts `text` to at most `max` characters (default {@link MAX_ITEM_CHARS}), marking the cut with `marker` (default:
 * `… [truncated]` when `max` is 200 or more, a bare `…` below that); no marker when `max` leaves no room for it.
 */
export function clip(text: string, max = MAX_ITEM_CHARS, marker = max >= 200 ? '… [truncated]' : '…'): string {
  if (text.length <= max) return text;
  if (max <= marker.length) return text.slice(0, Math.max(0, max));
  return `${text.slice(0, max - marker.length).trimEnd()}${marker}`;
}

/** Length of `text` in UTF-8 bytes (a lone surrogate counts 3, as U+FFFD). Pure: no `Buffer` or `TextEncoder`. */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point above U+FFFF
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Appends an item (text clipped to {@link MAX_ITEM_CHARS}), dropping the oldest beyond `maxItems` items or beyond
 * {@link MAX_MEMORY_BYTES} of item text (the newest item is always kept). Returns a new memory.
 */
export function remember(memory: MemoryState, item: MemoryItem, maxItems: number): MemoryState {
  const items = [...memory.items, { ...item, text: clip(item.text) }];
  let first = Math.max(0, items.length - maxItems);
  let bytes = 0;
  for (let i = items.length - 1; i >= first; i--) {
    bytes += utf8Bytes(items[i].text);
    if (bytes > MAX_MEMORY_BYTES && i < items.length - 1) {
      first = i + 1;
      break;
    }
  }
  return { ...memory, items: first > 0 ? items.slice(first) : items };
}

/** Adds a summary, keeping the newest {@link MAX_SUMMARIES}. Returns a new memory. */
export function addSummary(memory: MemoryState, summary: string): MemoryState {
  const summaries = [...memory.summaries, clip(summary)];
  return { ...memory, summaries: summaries.slice(-MAX_SUMMARIES) };
}

/** What a decision sees of a memory. */
export interface MemoryWindow {
  summaries: string[];
  /** Older items retrieved for the current message, oldest first. */
  retrieved: MemoryItem[];
  /** Newest items, oldest first. */
  recent: MemoryItem[];
}

/**
 * Selects the window: the newest `recentItems` items within `recentChars` (always at least the newest one), and the
 * top `retrieveK` older items by BM25 against `query`. Summaries: the newest two.
 */
export function memoryWindow(memory: MemoryState, config: MemoryWindowConfig, query: string): MemoryWindow {
  const { recent, older } = splitRecent(memory, config);
  const retrieved = config.retrieveK > 0 ? retrieve(older, query, config.retrieveK, config.bm25) : [];
  return { summaries: memory.summaries.slice(-2), retrieved, recent };
}

/**
 * Splits items into the newest `recentItems` within `recentChars` (always at least the newest one) and the `older`
 * ones retrieval chooses from; both oldest first.
 */
export function splitRecent(memory: MemoryState, config: MemoryWindowConfig): { recent: MemoryItem[]; older: MemoryItem[] } {
  const recent: MemoryItem[] = [];
  let chars = 0;
  for (let i = memory.items.length - 1; i >= 0 && recent.length < config.recentItems; i--) {
    const item = memory.items[i];
    if (recent.length > 0 && chars + item.text.length > config.recentChars) break;
    recent.unshift(item);
    chars += item.text.length;
  }
  return { recent, older: memory.items.slice(0, memory.items.length - recent.length) };
}

/**
 * The best `k` of `items` by `scores` (one per item, e.g. cosine similarities), in conversation order; ties keep the
 * newer item, as {@link retrieve} does.
 */
export function topByScore(items: MemoryItem[], scores: number[], k: number): MemoryItem[] {
  return items
    .map((item, i) => ({ i, score: scores[i] ?? -Infinity }))
    .sort((a, b) => b.score - a.score || b.i - a.i)
    .slice(0, k)
    .map((h) => h.i)
    .sort((a, b) => a - b)
    .map((i) => items[i]);
}

/** MiniSearch's BM25+ defaults (its `defaultBM25params`): term saturation 1.2, length normalisation 0.7, δ 0.5. */
const MINISEARCH_BM25 = { k: 1.2, b: 0.7, d: 0.5 };

/**
 * Ranks `items` by BM25+ relevance to `query` and returns the best `k`, in conversation order. Ties keep the newer item.
 * Returns `[]` for an empty query or no matches.
 *
 * @param bm25 optional tuning in NOMOS/bm25s names: `k1` → MiniSearch `k`, `b` → `b`, `delta` → `d`; unset values keep
 *   MiniSearch's defaults.
 */
export function retrieve(items: MemoryItem[], query: string, k: number, bm25?: MemoryWindowConfig['bm25']): MemoryItem[] {
  if (items.length === 0 || k <= 0 || !query.trim()) return [];
  const index = new MiniSearch<MemoryItem & { id: number }>({ fields: ['text'], idField: 'id' });
  index.addAll(items.map((item, i) => ({ ...item, id: i })));
  const tuning = bm25 ? { bm25: { k: bm25.k1 ?? MINISEARCH_BM25.k, b: bm25.b ?? MINISEARCH_BM25.b, d: bm25.delta ?? MINISEARCH_BM25.d } } : {};
  const hits = index.search(query, { prefix: false, fuzzy: false, combineWith: 'OR', ...tuning });
  const best = hits
    .sort((a, b) => b.score - a.score || (b.id as number) - (a.id as number))
    .slice(0, k)
    .map((h) => h.id as number)
    .sort((a, b) => a - b);
  return best.map((i) => items[i]);
}

/** Items sent to the summariser at most (newest kept). */
export const SUMMARY_MAX_ITEMS = 40;
/** Characters sent to the summariser at most. */
export const SUMMARY_MAX_INPUT_CHARS = 16_000;

/** The newest items, at most {@link SUMMARY_MAX_ITEMS} and {@link SUMMARY_MAX_INPUT_CHARS} characters (≥ 1 item). */
export function summaryInput(items: MemoryItem[]): MemoryItem[] {
  const out: MemoryItem[] = [];
  let chars = 0;
  for (let i = items.length - 1; i >= 0 && out.length < SUMMARY_MAX_ITEMS; i--) {
    chars += items[i].text.length;
    if (out.length > 0 && chars > SUMMARY_MAX_INPUT_CHARS) break;
    out.unshift(items[i]);
  }
  return out;
}

/** Deterministic extractive summary (used when the summariser fails): the newest 8 items, clipped to `maxChars`. */
export function extractiveSummary(memory: MemoryState, maxChars: number): string {
  return clip(
    summaryInput(memory.items)
      .slice(-8)
      .map((i) => `${i.role}: ${i.text}`)
      .join('\n'),
    maxChars,
  );
}
