/**
 * OpenAI adapter (official `openai` SDK, v6): Chat Completions, also used for OpenAI-compatible servers (Ollama,
 * vLLM, Azure OpenAI, Mistral...) through `llm.baseUrl`; for `openai` and `azure`, the Responses API instead when
 * `llm.apiType` (or the worker's `LLM_API_TYPE`) is `responses` (converters in `./openai-responses.ts`).
 *
 * Decisions use `response_format: json_schema` (Responses: `text.format`) with `strict: false` (tool argument objects
 * are open, which strict mode forbids). SDK retries are off: Temporal owns retries.
 */
import OpenAI from 'openai';
import type { LlmConfig } from '../../src/config/agent.js';
import type { LlmApiType } from '../../src/config/schema.js';
import { buildTitlePrompt, type TitleRequest, type TitleResult } from '../../src/engine/title.js';
import type { DecideRequest, DecideResult, SummarizeRequest, SummarizeResult } from '../../src/engine/types.js';
import type { ProviderUsage } from '../../src/engine/usage.js';
import { NO_FILES, openAIChatParts, type ResolvedFiles } from './attachments.js';
import { modelOutputInvalid, toActivityFailure } from './errors.js';
import type { DecideOptions, DecisionModel, SummarizeOptions } from './decision-model.js';
import { buildSummaryPrompt, finishSummary, finishTitle, parseDecisionText } from './output.js';
import {
  fromResponsesResponse,
  readResponsesStream,
  responsesUsage,
  responseText,
  toResponsesRequest,
  toResponsesSummaryRequest,
} from './openai-responses.js';
import { createOpenAIClient, PROVIDER_PRESETS, resolveApiType, splitKwargs } from './providers.js';

export { OPENAI_TIMEOUT_MS } from './providers.js';

/**
 * The provider's JSON Schema for `req.schema`: OpenAI requires `type: "object"` at the root, so a root
 * `oneOf`/`anyOf` union of object variants (see `decisionJsonSchema`) becomes `{type: "object", anyOf: variants}`
 * (the variants are disjoint on `action`, so `anyOf` and `oneOf` accept the same documents). Other schemas pass as is.
 */
export function toOpenAISchema(schema: Record<string, unknown>): Record<string, unknown> {
  if (schema.type === 'object') return schema;
  const variants = (schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
  if (!Array.isArray(variants)) return { type: 'object', ...schema };
  const { oneOf: _oneOf, anyOf: _anyOf, ...rest } = schema;
  return { type: 'object', ...rest, anyOf: variants };
}

/**
 * Pure converter: a {@link DecideRequest} to a Chat Completions request body. `temperature` and the token limit are
 * set only when configured; the limit is `max_completion_tokens` for `openai` and `azure` (what current OpenAI models
 * accept) and `max_tokens` for the other OpenAI-compatible providers. `llm.kwargs` (NOMOS `kwargs`) are merged last,
 * so they can set any other request parameter (`top_p`, `seed`, `max_tokens`, ...); client keys (`CLIENT_KWARGS`:
 * `base_url`, `timeout`, ...) configure the client instead. A user message with `files` becomes a text part plus one
 * part per file, from `files` (resolved by `resolveFiles`, `./attachments.ts`).
 *
 * @throws ApplicationFailure non-retryable `FILES_NOT_SUPPORTED` for a file Chat Completions cannot take.
 */
export function toOpenAIRequest(req: DecideRequest, files: ResolvedFiles = NO_FILES): OpenAI.ChatCompletionCreateParamsNonStreaming {
  return {
    model: req.llm.model ?? '',
    messages: req.messages.map((m): OpenAI.ChatCompletionMessageParam =>
      m.role === 'user' && m.files?.length ? { role: 'user', content: openAIChatParts(m, files, req.llm.provider) } : { role: m.role, content: m.content },
    ),
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'decision', schema: toOpenAISchema(req.schema), strict: false },
    },
    ...samplingParams(req.llm),
  };
}

/**
 * Pure converter: a Chat Completions response to a {@link DecideResult} (content parsed as JSON).
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` on no choice, a refusal, output cut at the token
 *   limit, empty content, or content that is not JSON (the message carries a short excerpt).
 */
export function fromOpenAIResponse(res: OpenAI.ChatCompletion, provider = 'openai'): DecideResult {
  const choice = res.choices?.[0];
  if (!choice) throw modelOutputInvalid(provider, 'no choices in the response');
  const { message } = choice;
  if (message.refusal) throw modelOutputInvalid(provider, 'the model refused', message.refusal);
  if (choice.finish_reason === 'length') {
    throw modelOutputInvalid(provider, 'output cut at the token limit', message.content ?? '');
  }
  if (choice.finish_reason === 'content_filter') throw modelOutputInvalid(provider, 'output blocked by the content filter');
  const decision = parseDecisionText(message.content, provider);
  const usage = chatUsage(res.usage);
  return { decision, model: res.model, ...(usage ? { usage } : {}) };
}

/**
 * Chat Completions usage as {@link ProviderUsage}: `prompt_tokens`, `completion_tokens`,
 * `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens` (undefined without `usage`).
 */
export function chatUsage(usage: OpenAI.CompletionUsage | null | undefined): ProviderUsage | undefined {
  if (!usage) return undefined;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  return {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    ...(cached ? { cachedInputTokens: cached } : {}),
    ...(reasoning ? { reasoningTokens: reasoning } : {}),
  };
}

/**
 * Folds streamed chunks into the {@link OpenAI.ChatCompletion} a non-streaming call would have returned (first
 * choice only), so {@link fromOpenAIResponse} applies unchanged.
 */
export function accumulateChunks(chunks: OpenAI.ChatCompletionChunk[]): OpenAI.ChatCompletion {
  let content = '';
  let refusal = '';
  let finish: OpenAI.ChatCompletion.Choice['finish_reason'] = 'stop';
  let usage: OpenAI.CompletionUsage | undefined;
  for (const chunk of chunks) {
    const choice = chunk.choices?.find((c) => c.index === 0);
    if (choice?.delta?.content) content += choice.delta.content;
    if (choice?.delta?.refusal) refusal += choice.delta.refusal;
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  const first = chunks[0];
  return {
    id: first?.id ?? '',
    object: 'chat.completion',
    created: first?.created ?? 0,
    model: chunks.at(-1)?.model ?? first?.model ?? '',
    choices: chunks.length
      ? [
          {
            index: 0,
            finish_reason: finish,
            logprobs: null,
            message: { role: 'assistant', content: content || null, refusal: refusal || null },
          },
        ]
      : [],
    ...(usage ? { usage } : {}),
  };
}

/** {@link DecisionModel} over the OpenAI Chat Completions API, or the Responses API (see {@link apiType}). */
export class OpenAIModel implements DecisionModel {
  readonly client: OpenAI;
  /** Which API decisions and summaries use (`resolveApiType`: `llm.apiType`, `LLM_API_TYPE`, `chat_completions`). */
  readonly apiType: LlmApiType;
  readonly #llm: LlmConfig;
  readonly #apiKey: string;

  /**
   * `apiKey` comes from the environment (see `resolveApiKey`); `env` gives Azure's endpoint and API version and
   * `LLM_API_TYPE`; `fetch` is for tests. Throws as {@link createOpenAIClient} and `resolveApiType` do.
   */
  constructor(llm: LlmConfig, deps: { apiKey: string; env?: NodeJS.ProcessEnv; fetch?: typeof fetch }) {
    const env = deps.env ?? process.env;
    this.#llm = llm;
    this.#apiKey = deps.apiKey;
    this.apiType = resolveApiType(llm, env);
    this.client = createOpenAIClient(llm, { apiKey: deps.apiKey, env, fetch: deps.fetch });
  }

  /** One model call (streamed when `opts.onToken` is set). Throws as {@link DecisionModel}. */
  async decide(req: DecideRequest, opts: DecideOptions = {}): Promise<DecideResult> {
    if (this.apiType === 'responses') return this.#decideResponses(req, opts);
    const body = toOpenAIRequest({ ...req, llm: this.#llm }, opts.files);
    const provider = this.#llm.provider;
    if (!opts.onToken) {
      const res = await this.#call(() => this.client.chat.completions.create(body, { signal: opts.signal }));
      return fromOpenAIResponse(res, provider);
    }
    const onToken = opts.onToken;
    const chunks = await this.#call(async () => {
      const stream = await this.client.chat.completions.create(
        {
          ...body,
          stream: true,
          ...(provider === 'openai' ? { stream_options: { include_usage: true } } : {}),
        },
        { signal: opts.signal },
      );
      const received: OpenAI.ChatCompletionChunk[] = [];
      for await (const chunk of stream) {
        received.push(chunk);
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) onToken(text);
      }
      return received;
    });
    return fromOpenAIResponse(accumulateChunks(chunks), provider);
  }

  /** One Responses call: `text.format` carries the schema; streamed events feed `opts.onToken`. */
  async #decideResponses(req: DecideRequest, opts: DecideOptions): Promise<DecideResult> {
    const body = toResponsesRequest({ ...req, llm: this.#llm }, toOpenAISchema(req.schema), opts.files);
    const provider = this.#llm.provider;
    const onToken = opts.onToken;
    if (!onToken) {
      const res = await this.#call(() => this.client.responses.create(body, { signal: opts.signal }));
      return fromResponsesResponse(res, provider);
    }
    const res = await this.#call(async () => {
      const stream = await this.client.responses.create({ ...body, stream: true }, { signal: opts.signal });
      return readResponsesStream(stream, onToken, provider);
    });
    return fromResponsesResponse(res, provider);
  }

  /** A plain completion (or response) asking for a summary, clipped to `req.maxChars`. Throws as {@link DecisionModel}. */
  async summarize(req: SummarizeRequest, opts: SummarizeOptions = {}): Promise<SummarizeResult> {
    const out = await this.#complete(this.#llm, buildSummaryPrompt(req), opts);
    const summary = finishSummary(out.text, req.maxChars, this.#llm.provider);
    return { summary, ...(out.model ? { model: out.model } : {}), ...(out.usage ? { usage: out.usage } : {}) };
  }

  /** A plain completion asking for a session title (the request's `llm` carries the title temperature). */
  async title(req: TitleRequest, opts: SummarizeOptions = {}): Promise<TitleResult> {
    const out = await this.#complete({ ...this.#llm, ...pickSampling(req.llm) }, buildTitlePrompt(req), opts);
    return { title: finishTitle(out.text, req.maxChars, this.#llm.provider), ...(out.model ? { model: out.model } : {}), ...(out.usage ? { usage: out.usage } : {}) };
  }

  /** One plain-text call (Chat Completions, or Responses with `api_type: responses`): its text, model and usage. */
  async #complete(
    llm: LlmConfig,
    prompt: { system: string; user: string },
    opts: SummarizeOptions,
  ): Promise<{ text: string | null | undefined; model?: string; usage?: ProviderUsage }> {
    if (this.apiType === 'responses') {
      const body = toResponsesSummaryRequest(llm, prompt);
      const res = await this.#call(() => this.client.responses.create(body, { signal: opts.signal }));
      const usage = responsesUsage(res.usage);
      return { text: responseText(res, llm.provider), model: res.model, ...(usage ? { usage } : {}) };
    }
    const res = await this.#call(() =>
      this.client.chat.completions.create(
        {
          model: llm.model ?? '',
          messages: [
            { role: 'system', content: prompt.system },
            { role: 'user', content: prompt.user },
          ],
          ...samplingParams(llm),
        },
        { signal: opts.signal },
      ),
    );
    const message = res.choices?.[0]?.message;
    if (message?.refusal) throw modelOutputInvalid(llm.provider, 'the model refused', message.refusal);
    const usage = chatUsage(res.usage);
    return { text: message?.content, model: res.model, ...(usage ? { usage } : {}) };
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toActivityFailure(err, this.#llm.provider, { secrets: [this.#apiKey] });
    }
  }
}

function samplingParams(llm: LlmConfig): { temperature?: number; max_tokens?: number; max_completion_tokens?: number } {
  return {
    ...(llm.temperature !== undefined ? { temperature: llm.temperature } : {}),
    ...(llm.maxTokens !== undefined ? { [PROVIDER_PRESETS[llm.provider].tokenLimitField]: llm.maxTokens } : {}),
    ...splitKwargs(llm.kwargs).request,
  };
}

/** The sampling fields of a per-call llm (title temperature / token limit) to lay over the adapter's config. */
function pickSampling(llm: LlmConfig): Partial<LlmConfig> {
  return {
    ...(llm.temperature !== undefined ? { temperature: llm.temperature } : {}),
    ...(llm.maxTokens !== undefined ? { maxTokens: llm.maxTokens } : {}),
  };
}
