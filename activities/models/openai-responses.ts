/**
 * Pure converters for OpenAI's Responses API (`POST /responses`, official `openai` SDK v6 `client.responses.create`),
 * used by {@link OpenAIModel} when `llm.api_type` (or the worker's `LLM_API_TYPE`) is `responses`.
 *
 * The decision design is the one of Chat Completions: one JSON decision per call, constrained by the step's schema,
 * here through `text.format` (`json_schema`, `strict: false`) instead of `response_format`. Calls are stateless
 * (`store: false`, no `previous_response_id`): Temporal's history is the record of the conversation, and each call
 * sends the whole prompt, so a session survives a provider or model change mid-way.
 * API reference: https://platform.openai.com/docs/api-reference/responses
 */
import type OpenAI from 'openai';
import type { LlmConfig } from '../../src/config/agent.js';
import type { ChatMessage, DecideRequest, DecideResult } from '../../src/engine/types.js';
import type { ProviderUsage } from '../../src/engine/usage.js';
import { NO_FILES, type ResolvedFiles, responsesParts } from './attachments.js';
import { modelOutputInvalid } from './errors.js';
import { parseDecisionText } from './output.js';
import { splitKwargs } from './providers.js';

type ResponsesBody = OpenAI.Responses.ResponseCreateParamsNonStreaming;

/**
 * A prompt's messages as Responses fields: the `system` messages, joined by a blank line, become `instructions`;
 * the others become `input` message items in order (`{type: 'message', role, content}`); a user message with `files`
 * gets `input_text` + `input_image` / `input_file` content from `files` (`./attachments.ts`).
 *
 * @throws ApplicationFailure non-retryable `FILES_NOT_SUPPORTED` for a file type the Responses API cannot take.
 */
export function toResponsesInput(messages: ChatMessage[], files: ResolvedFiles = NO_FILES, provider = 'openai'): Pick<ResponsesBody, 'instructions' | 'input'> {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const input: OpenAI.Responses.EasyInputMessage[] = messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({ type: 'message', role: m.role, content: m.role === 'user' && m.files?.length ? responsesParts(m, files, provider) : m.content }));
  return { ...(system.length ? { instructions: system.join('\n\n') } : {}), input };
}

/**
 * Pure converter: a {@link DecideRequest} to a Responses request body. `schema` is the provider's form of the step
 * schema (`toOpenAISchema`); `max_output_tokens` comes from `max_tokens`, `temperature` as configured; `store: false`
 * unless `llm.kwargs` say otherwise (kwargs request keys are merged last, as for Chat Completions).
 */
export function toResponsesRequest(req: DecideRequest, schema: Record<string, unknown>, files: ResolvedFiles = NO_FILES): ResponsesBody {
  return {
    model: req.llm.model ?? '',
    ...toResponsesInput(req.messages, files, req.llm.provider),
    text: { format: { type: 'json_schema', name: 'decision', schema, strict: false } },
    ...responsesParams(req.llm),
  };
}

/** Body of a flow-memory summary call: plain text out, same parameters as decisions. */
export function toResponsesSummaryRequest(llm: LlmConfig, prompt: { system: string; user: string }): ResponsesBody {
  return {
    model: llm.model ?? '',
    instructions: prompt.system,
    input: [{ type: 'message', role: 'user', content: prompt.user }],
    ...responsesParams(llm),
  };
}

/**
 * The text of a Response's assistant message(s) (every `output_text` part, in order).
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` when the model refused (a `refusal` content part),
 *   when the response is `incomplete` (`max_output_tokens`: cut at the token limit; `content_filter`: blocked), or
 *   when it `failed` (its `error.message` is quoted).
 */
export function responseText(res: OpenAI.Responses.Response, provider = 'openai'): string {
  let text = '';
  for (const item of res.output ?? []) {
    if (item.type !== 'message') continue;
    for (const part of item.content ?? []) {
      if (part.type === 'refusal') throw modelOutputInvalid(provider, 'the model refused', part.refusal);
      if (part.type === 'output_text') text += part.text;
    }
  }
  if (res.status === 'incomplete') {
    const reason = res.incomplete_details?.reason;
    if (reason === 'content_filter') throw modelOutputInvalid(provider, 'output blocked by the content filter');
    throw modelOutputInvalid(provider, reason === 'max_output_tokens' ? 'output cut at the token limit' : `response incomplete (${reason ?? 'no reason given'})`, text);
  }
  if (res.status === 'failed') throw modelOutputInvalid(provider, 'response failed', res.error?.message ?? '');
  return text;
}

/**
 * Responses usage as {@link ProviderUsage}: `input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
 * `output_tokens_details.reasoning_tokens` (undefined without `usage`).
 */
export function responsesUsage(usage: OpenAI.Responses.ResponseUsage | null | undefined): ProviderUsage | undefined {
  if (!usage) return undefined;
  const cached = usage.input_tokens_details?.cached_tokens;
  const reasoning = usage.output_tokens_details?.reasoning_tokens;
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    ...(cached ? { cachedInputTokens: cached } : {}),
    ...(reasoning ? { reasoningTokens: reasoning } : {}),
  };
}

/**
 * Pure converter: a Response to a {@link DecideResult}, usage by {@link responsesUsage}.
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` as {@link responseText}, and on empty or non-JSON
 *   text (see `parseDecisionText`).
 */
export function fromResponsesResponse(res: OpenAI.Responses.Response, provider = 'openai'): DecideResult {
  const decision = parseDecisionText(responseText(res, provider), provider);
  const usage = responsesUsage(res.usage);
  return { decision, model: res.model, ...(usage ? { usage } : {}) };
}

/**
 * Reads a Responses event stream: forwards each `response.output_text.delta` to `onToken` and returns the final
 * Response carried by `response.completed`, `response.incomplete` or `response.failed`.
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` when the stream ends without a final response;
 *   an `error` event is thrown by the SDK as an `APIError` (the caller maps it with `toActivityFailure`).
 */
export async function readResponsesStream(
  stream: AsyncIterable<OpenAI.Responses.ResponseStreamEvent>,
  onToken: (text: string) => void,
  provider = 'openai',
): Promise<OpenAI.Responses.Response> {
  let final: OpenAI.Responses.Response | undefined;
  for await (const event of stream) {
    if (event.type === 'response.output_text.delta' && event.delta) onToken(event.delta);
    else if (event.type === 'response.completed' || event.type === 'response.incomplete' || event.type === 'response.failed') {
      final = event.response;
    }
  }
  if (!final) throw modelOutputInvalid(provider, 'the stream ended without a final response');
  return final;
}

function responsesParams(llm: LlmConfig): { store: boolean; temperature?: number; max_output_tokens?: number } {
  return {
    store: false,
    ...(llm.temperature !== undefined ? { temperature: llm.temperature } : {}),
    ...(llm.maxTokens !== undefined ? { max_output_tokens: llm.maxTokens } : {}),
    ...splitKwargs(llm.kwargs).request,
  };
}
