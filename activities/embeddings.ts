/**
 * Embeddings ranking for the `rank` activity: embeds a query and candidate texts through the provider's embeddings
 * API (official `openai` SDK `embeddings.create`: OpenAI, Azure OpenAI and the OpenAI-compatible presets; see
 * activities/models/providers.ts) and returns cosine similarities, never vectors, so workflow history stays small.
 *
 * Vectors are cached in the worker process (LRU, `lru-cache`), keyed by a SHA-256 of the endpoint, model and text, so
 * the same memory item or example is embedded once, not every turn. Keys are read from the environment per call and
 * never logged or returned (errors are redacted by `toActivityFailure`).
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { LRUCache } from 'lru-cache';
import type OpenAI from 'openai';
import type { LlmConfig } from '../src/config/agent.js';
import type { RankRequest, RankResult } from '../src/engine/types.js';
import { toActivityFailure } from './models/errors.js';
import { resolveApiKey } from './models/model.js';
import { createOpenAIClient, providerBaseUrl } from './models/providers.js';

/** Bytes of vectors kept per worker by default: 64 MiB (~10,000 vectors of 1,536 float32 dimensions). */
export const DEFAULT_EMBEDDING_CACHE_BYTES = 64 * 1024 * 1024;

/** Dependencies of {@link Embeddings}. */
export interface EmbeddingsOptions {
  /** Where API keys (and Azure's endpoint/version) are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Most bytes of cached vectors (float32). Default {@link DEFAULT_EMBEDDING_CACHE_BYTES}. */
  maxCacheBytes?: number;
}

/** Cosine similarity of two vectors (0 when either is all zeros). Vectors of unequal length compare their common part. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Embeds and ranks texts with a worker-wide vector cache. One instance per worker. */
export class Embeddings {
  readonly #env: NodeJS.ProcessEnv;
  readonly #vectors: LRUCache<string, Float32Array>;
  readonly #clients = new Map<string, OpenAI>();
  /** Texts sent to a provider so far (cache misses): lets tests and metrics see the cache work. */
  embedded = 0;

  constructor(options: EmbeddingsOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#vectors = new LRUCache({
      maxSize: options.maxCacheBytes ?? DEFAULT_EMBEDDING_CACHE_BYTES,
      sizeCalculation: (v) => Math.max(1, v.byteLength),
    });
  }

  /**
   * Cosine similarity of each candidate to the query, in candidate order.
   *
   * @throws ApplicationFailure: non-retryable `INVALID_CONFIG` (a provider without an embeddings API, no model,
   *   azure without endpoint), non-retryable `MODEL_REQUEST_FAILED` (missing key, 4xx such as a server with no
   *   `/embeddings` route), retryable `MODEL_REQUEST_FAILED` (429/5xx/network), non-retryable `MODEL_OUTPUT_INVALID`
   *   (a response without one vector per text).
   */
  async rank(req: RankRequest, signal?: AbortSignal): Promise<RankResult> {
    const { vectors, inputTokens } = await this.embedCounted(req.llm, [req.query, ...req.candidates], signal);
    const [query, ...candidates] = vectors;
    return { scores: candidates.map((v) => cosine(query!, v)), model: req.llm.model, usage: { inputTokens, outputTokens: 0 } };
  }

  /** Vectors of `texts` (cached ones from the cache, the rest in one request). Throws as {@link rank}. */
  async embed(llm: LlmConfig, texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return (await this.embedCounted(llm, texts, signal)).vectors;
  }

  /**
   * {@link embed}, with the input tokens the provider reported for the texts it was sent (`usage.prompt_tokens`; 0 when
   * every vector came from the cache or the provider reports no usage). Throws as {@link rank}.
   */
  async embedCounted(llm: LlmConfig, texts: string[], signal?: AbortSignal): Promise<{ vectors: Float32Array[]; inputTokens: number }> {
    if (llm.provider === 'anthropic' || llm.provider === 'scripted') {
      throw ApplicationFailure.create({ type: 'INVALID_CONFIG', message: `the ${llm.provider} provider has no embeddings API`, nonRetryable: true });
    }
    if (!llm.model) throw ApplicationFailure.create({ type: 'INVALID_CONFIG', message: 'no embeddings model', nonRetryable: true });
    const scope = `${llm.provider}\n${providerBaseUrl(llm) ?? ''}\n${llm.model}\n`;
    const keys = texts.map((t) => createHash('sha256').update(scope).update(t).digest('base64url'));
    const missing = [...new Set(keys.filter((k) => !this.#vectors.has(k)))];
    let inputTokens = 0;
    if (missing.length > 0) {
      const input = missing.map((k) => texts[keys.indexOf(k)]!);
      const sent = await this.#request(llm, input, signal);
      missing.forEach((k, i) => this.#vectors.set(k, sent.vectors[i]!));
      this.embedded += input.length;
      inputTokens += sent.inputTokens;
    }
    // Read back what was just set even if the cache evicted it meanwhile (a tiny cache): fetch again in that case.
    const out = keys.map((k) => this.#vectors.get(k));
    if (out.some((v) => v === undefined)) {
      const again = await this.#request(llm, texts, signal);
      return { vectors: again.vectors, inputTokens: inputTokens + again.inputTokens };
    }
    return { vectors: out as Float32Array[], inputTokens };
  }

  async #request(llm: LlmConfig, input: string[], signal?: AbortSignal): Promise<{ vectors: Float32Array[]; inputTokens: number }> {
    const apiKey = resolveApiKey(llm, this.#env) ?? '';
    let res: OpenAI.CreateEmbeddingResponse;
    try {
      res = await this.#client(llm, apiKey).embeddings.create({ model: llm.model!, input, encoding_format: 'float' }, { signal });
    } catch (err) {
      throw toActivityFailure(err, llm.provider, { secrets: [apiKey] });
    }
    const data = [...(res.data ?? [])].sort((a, b) => a.index - b.index);
    if (data.length !== input.length || data.some((d) => !Array.isArray(d.embedding) || d.embedding.length === 0)) {
      throw ApplicationFailure.create({
        type: 'MODEL_OUTPUT_INVALID',
        message: `${llm.provider} embeddings: expected ${input.length} vectors, got ${data.length}`,
        nonRetryable: true,
      });
    }
    return { vectors: data.map((d) => Float32Array.from(d.embedding)), inputTokens: res.usage?.prompt_tokens ?? 0 };
  }

  /** One SDK client per endpoint and key (a rotated key gets a new client). */
  #client(llm: LlmConfig, apiKey: string): OpenAI {
    const id = createHash('sha256').update(JSON.stringify([llm.provider, providerBaseUrl(llm), llm.headers, llm.kwargs, apiKey])).digest('hex');
    let client = this.#clients.get(id);
    if (!client) {
      try {
        client = createOpenAIClient(llm, { apiKey, env: this.#env });
      } catch (err) {
        throw ApplicationFailure.create({ type: 'INVALID_CONFIG', message: (err as Error).message, nonRetryable: true });
      }
      this.#clients.set(id, client);
    }
    return client;
  }
}
