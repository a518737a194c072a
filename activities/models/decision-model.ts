/**
 * The provider-neutral model interface used by the `decide` and `summarize` activities, implemented by every adapter
 * (`./openai.ts`, `./anthropic.ts`, `./scripted.ts`) and built by the factory in `./model.ts`.
 */
import type { TitleRequest, TitleResult } from '../../src/engine/title.js';
import type { ResolvedFiles } from './attachments.js';
import type { DecideRequest, DecideResult, SummarizeRequest, SummarizeResult } from '../../src/engine/types.js';

/** Per-call options of {@link DecisionModel.decide}. */
export interface DecideOptions {
  /** Aborts the HTTP request (pass the activity's cancellation signal). */
  signal?: AbortSignal;
  /**
   * Called with each chunk of raw model output as it streams (JSON text of the decision being written). When set,
   * the openai / openai-compatible / anthropic adapters use the streaming API; the result is the same.
   */
  onToken?: (text: string) => void;
  /**
   * The prompt's files, resolved (`resolveFiles` in `./attachments.ts`). Required when a message has `files`; only
   * the adapters of `FILE_PROVIDERS` read it.
   */
  files?: ResolvedFiles;
}

/** Per-call options of {@link DecisionModel.summarize}. */
export interface SummarizeOptions {
  signal?: AbortSignal;
}

/**
 * A model that returns decisions and summaries. Every method throws only Temporal `ApplicationFailure`s:
 * - `MODEL_REQUEST_FAILED`: retryable (408/409/429/5xx/network, with `nextRetryDelay` from `retry-after`) or
 *   non-retryable (other 4xx, missing API key);
 * - `MODEL_OUTPUT_INVALID` (non-retryable): the model answered with no usable decision (refusal, empty, not JSON);
 * - `SCRIPT_EXHAUSTED` / `INVALID_CONFIG` (non-retryable): scripted provider only.
 */
export interface DecisionModel {
  /** Asks for one decision; the result is parsed JSON, not yet validated against the step (the engine does that). */
  decide(req: DecideRequest, opts?: DecideOptions): Promise<DecideResult>;
  /** Returns a plain-text summary of `req.items`, at most `req.maxChars` characters, with the call's usage. */
  summarize(req: SummarizeRequest, opts?: SummarizeOptions): Promise<SummarizeResult>;
  /**
   * Returns a session title for the first exchange, cleaned (`cleanTitle`) to at most `req.maxChars` characters.
   * Throws as the other methods; an empty title is `MODEL_OUTPUT_INVALID` (non-retryable).
   */
  title(req: TitleRequest, opts?: SummarizeOptions): Promise<TitleResult>;
}
