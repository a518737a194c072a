/**
 * Anthropic Messages adapter (official `@anthropic-ai/sdk`, v1.x).
 *
 * Decisions are a forced tool call: one tool named `decision` whose `input_schema` is the step's decision schema
 * flattened to one object (Anthropic requires `type: "object"` at the root), and
 * `tool_choice: {type: "tool", name: "decision"}`. SDK retries are off: Temporal owns retries.
 *
 * Note: the SDK's `MessageCreateParams` has no `temperature`, so `llm.temperature` is not sent to Anthropic.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { LlmConfig } from '../../src/config/agent.js';
import { buildTitlePrompt, type TitleRequest, type TitleResult } from '../../src/engine/title.js';
import type { ChatMessage, DecideRequest, DecideResult, SummarizeRequest, SummarizeResult } from '../../src/engine/types.js';
import type { ProviderUsage } from '../../src/engine/usage.js';
import { anthropicFileBlocks, NO_FILES, type ResolvedFiles } from './attachments.js';
import { modelOutputInvalid, toActivityFailure } from './errors.js';
import type { DecideOptions, DecisionModel, SummarizeOptions } from './decision-model.js';
import { buildSummaryPrompt, finishSummary, finishTitle } from './output.js';
import { splitKwargs } from './providers.js';

/** Name of the forced tool that carries the decision. */
export const DECISION_TOOL = 'decision';

/** `max_tokens` when `llm.maxTokens` is not set (Anthropic requires one). */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;

/** Per-request HTTP timeout of the SDK client: 10 minutes (the activity's start-to-close is the real bound). */
export const ANTHROPIC_TIMEOUT_MS = 10 * 60 * 1000;

const DECISION_TOOL_DESCRIPTION =
  'Record your decision for the current step. Set `action` and only the fields that action uses, as the ' +
  'instructions describe.';

type JsonObject = Record<string, unknown>;

/**
 * Flattens a decision schema to one object schema, as Anthropic's `input_schema` needs: a root `oneOf`/`anyOf` of
 * object variants becomes `{type: "object", properties: <union of the variants' properties>, required: ["action"]}`
 * with `action` an enum of every variant's action. A property that differs between variants becomes an `anyOf` of
 * its distinct forms. Root `$defs`/`definitions` are kept. The engine validates the real per-action shape afterwards.
 */
export function toAnthropicInputSchema(schema: JsonObject): Anthropic.Tool.InputSchema {
  const variants = (schema.oneOf ?? schema.anyOf) as JsonObject[] | undefined;
  if (!Array.isArray(variants)) {
    return { ...schema, type: 'object' } as Anthropic.Tool.InputSchema;
  }
  const actions: unknown[] = [];
  const forms = new Map<string, JsonObject[]>();
  for (const variant of variants) {
    const props = (variant.properties ?? {}) as Record<string, JsonObject>;
    for (const [name, prop] of Object.entries(props)) {
      if (name === 'action') {
        const values = prop.const !== undefined ? [prop.const] : Array.isArray(prop.enum) ? prop.enum : [];
        for (const v of values) if (!actions.includes(v)) actions.push(v);
        continue;
      }
      const list = forms.get(name) ?? [];
      if (!list.some((f) => JSON.stringify(f) === JSON.stringify(prop))) list.push(prop);
      forms.set(name, list);
    }
  }
  const properties: JsonObject = {
    action: { type: 'string', enum: actions, description: 'The action taken; the other fields depend on it.' },
  };
  for (const [name, list] of forms) properties[name] = list.length === 1 ? list[0] : { anyOf: list };
  const out: Anthropic.Tool.InputSchema = { type: 'object', properties, required: ['action'] };
  for (const key of ['$defs', 'definitions', 'description']) if (schema[key] !== undefined) out[key] = schema[key];
  return out;
}

/**
 * Splits chat messages into Anthropic's `system` string and alternating user/assistant messages (consecutive messages
 * of one role joined by a blank line). A user message with `files` becomes content blocks: its text, then `image` /
 * `document` blocks from `files` (`./attachments.ts`), whose order the joined message keeps.
 *
 * @throws ApplicationFailure non-retryable `FILES_NOT_SUPPORTED` for a file type Anthropic cannot take.
 */
export function toAnthropicMessages(messages: ChatMessage[], files: ResolvedFiles = NO_FILES, provider = 'anthropic'): { system?: string; messages: Anthropic.MessageParam[] } {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const out: { role: 'user' | 'assistant'; text: string; blocks: Anthropic.ContentBlockParam[] }[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const content = m.content.trim() ? m.content : '(empty)';
    const blocks = m.role === 'user' ? anthropicFileBlocks(m, files, provider) : [];
    const last = out.at(-1);
    if (last && last.role === m.role && last.blocks.length === 0) {
      last.text = `${last.text}\n\n${content}`;
      last.blocks = blocks;
    } else if (last && last.role === m.role) {
      last.blocks.push({ type: 'text', text: content }, ...blocks);
    } else out.push({ role: m.role, text: content, blocks });
  }
  // The Messages API needs a user message first.
  if (out[0]?.role !== 'user') out.unshift({ role: 'user', text: '(conversation start)', blocks: [] });
  const params = out.map((m): Anthropic.MessageParam => ({
    role: m.role,
    content: m.blocks.length === 0 ? m.text : [{ type: 'text', text: m.text }, ...m.blocks],
  }));
  return { ...(system ? { system } : {}), messages: params };
}

/**
 * Pure converter: a {@link DecideRequest} to a Messages API request with the forced `decision` tool;
 * `max_tokens` = `llm.maxTokens` ?? {@link DEFAULT_ANTHROPIC_MAX_TOKENS}; `llm.kwargs` (NOMOS `kwargs`: `temperature`,
 * `top_p`, `max_tokens`, ...) are merged over those. User messages' `files` come from `files` (see
 * {@link toAnthropicMessages}, which throws for a file Anthropic cannot take).
 */
export function toAnthropicRequest(req: DecideRequest, files: ResolvedFiles = NO_FILES): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: req.llm.model ?? '',
    max_tokens: req.llm.maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
    ...splitKwargs(req.llm.kwargs).request,
    ...toAnthropicMessages(req.messages, files, req.llm.provider),
    tools: [{ name: DECISION_TOOL, description: DECISION_TOOL_DESCRIPTION, input_schema: toAnthropicInputSchema(req.schema) }],
    tool_choice: { type: 'tool', name: DECISION_TOOL },
  };
}

/**
 * Pure converter: a Messages API response to a {@link DecideResult}; the decision is the `decision` tool_use block's
 * `input`.
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` when there is no tool_use block (e.g. a refusal or
 *   plain text, quoted in the message), the output was cut at `max_tokens`, or the input is not an object.
 */
export function fromAnthropicResponse(res: Anthropic.Message, provider = 'anthropic'): DecideResult {
  const text = res.content
    .filter((b): b is Anthropic.TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('');
  if (res.stop_reason === 'refusal') throw modelOutputInvalid(provider, 'the model refused', text);
  if (res.stop_reason === 'max_tokens') throw modelOutputInvalid(provider, 'output cut at max_tokens', text);
  const blocks = res.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
  const block = blocks.find((b) => b.name === DECISION_TOOL) ?? blocks[0];
  if (!block) throw modelOutputInvalid(provider, 'no tool_use block', text);
  let input: unknown;
  try {
    input = block.input;
  } catch {
    throw modelOutputInvalid(provider, 'tool input is not JSON');
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw modelOutputInvalid(provider, 'tool input is not an object', JSON.stringify(input) ?? String(input));
  }
  const usage = anthropicUsage(res.usage);
  return { decision: input, model: res.model, ...(usage ? { usage } : {}) };
}

/**
 * Messages usage as {@link ProviderUsage}. Anthropic counts cache reads and cache writes apart from `input_tokens`, so
 * input is their sum and `cache_read_input_tokens` is the cached part.
 */
export function anthropicUsage(usage: Anthropic.Usage | null | undefined): ProviderUsage | undefined {
  if (!usage) return undefined;
  const read = usage.cache_read_input_tokens ?? 0;
  const created = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + read + created,
    outputTokens: usage.output_tokens ?? 0,
    ...(read ? { cachedInputTokens: read } : {}),
  };
}

/** {@link DecisionModel} over the Anthropic Messages API. */
export class AnthropicModel implements DecisionModel {
  readonly client: Anthropic;
  readonly #llm: LlmConfig;
  readonly #apiKey: string;

  /** `apiKey` comes from the environment (see `resolveApiKey`); `fetch` is for tests. */
  constructor(llm: LlmConfig, deps: { apiKey: string; fetch?: typeof fetch }) {
    this.#llm = llm;
    this.#apiKey = deps.apiKey;
    this.client = new Anthropic({
      apiKey: deps.apiKey,
      ...(llm.baseUrl ? { baseURL: llm.baseUrl } : {}),
      maxRetries: 0,
      timeout: ANTHROPIC_TIMEOUT_MS,
      ...(llm.headers ? { defaultHeaders: llm.headers } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
  }

  /** One Messages call (streamed when `opts.onToken` is set). Throws as {@link DecisionModel}. */
  async decide(req: DecideRequest, opts: DecideOptions = {}): Promise<DecideResult> {
    const body = toAnthropicRequest({ ...req, llm: this.#llm }, opts.files);
    if (!opts.onToken) {
      const res = await this.#call(() => this.client.messages.create(body, { signal: opts.signal }));
      return fromAnthropicResponse(res, this.#llm.provider);
    }
    const onToken = opts.onToken;
    const { message, json } = await this.#call(async () => {
      const stream = this.client.messages.stream(body, { signal: opts.signal });
      let buffered = '';
      stream.on('inputJson', (delta) => {
        buffered += delta;
        if (delta) onToken(delta);
      });
      stream.on('text', (delta) => {
        if (delta) onToken(delta);
      });
      return { message: await stream.finalMessage(), json: buffered };
    });
    return fromAnthropicResponse(withStrictToolInput(message, json, this.#llm.provider), this.#llm.provider);
  }

  /** A plain message (no tool) asking for a summary, clipped to `req.maxChars`. Throws as {@link DecisionModel}. */
  async summarize(req: SummarizeRequest, opts: SummarizeOptions = {}): Promise<SummarizeResult> {
    const out = await this.#complete(buildSummaryPrompt(req), {}, opts);
    const summary = finishSummary(out.text, req.maxChars, this.#llm.provider);
    return { summary, model: out.model, ...(out.usage ? { usage: out.usage } : {}) };
  }

  /** A plain message asking for a session title (`req.llm.temperature` sent as `temperature` when set). */
  async title(req: TitleRequest, opts: SummarizeOptions = {}): Promise<TitleResult> {
    const extra = {
      ...(req.llm.temperature !== undefined ? { temperature: req.llm.temperature } : {}),
      ...(req.llm.maxTokens !== undefined ? { max_tokens: req.llm.maxTokens } : {}),
    };
    const out = await this.#complete(buildTitlePrompt(req), extra, opts);
    return { title: finishTitle(out.text, req.maxChars, this.#llm.provider), model: out.model, ...(out.usage ? { usage: out.usage } : {}) };
  }

  /** One plain Messages call: its text, model and usage. `extra` is merged over the request. */
  async #complete(
    prompt: { system: string; user: string },
    extra: Record<string, unknown>,
    opts: SummarizeOptions,
  ): Promise<{ text: string; model: string; usage?: ProviderUsage }> {
    const res = await this.#call(() =>
      this.client.messages.create(
        {
          model: this.#llm.model ?? '',
          max_tokens: this.#llm.maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
          ...splitKwargs(this.#llm.kwargs).request,
          ...extra,
          system: prompt.system,
          messages: [{ role: 'user', content: prompt.user }],
        },
        { signal: opts.signal },
      ),
    );
    const text = res.content
      .filter((b): b is Anthropic.TextBlock => b.type === 'text')
      .map((b) => b.text)
      .join('');
    const usage = anthropicUsage(res.usage);
    return { text, model: res.model, ...(usage ? { usage } : {}) };
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toActivityFailure(err, this.#llm.provider, { secrets: [this.#apiKey] });
    }
  }
}

/**
 * The SDK's stream accumulator parses tool input leniently (partial JSON); a decision must be complete JSON, so the
 * streamed input text is parsed strictly here and replaces the lenient value.
 */
function withStrictToolInput(message: Anthropic.Message, json: string, provider: string): Anthropic.Message {
  if (!json.trim()) return message;
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch {
    if (message.stop_reason === 'max_tokens') return message; // reported as cut off by fromAnthropicResponse
    throw modelOutputInvalid(provider, 'tool input is not JSON', json);
  }
  return {
    ...message,
    content: message.content.map((b) => (b.type === 'tool_use' && b.name === DECISION_TOOL ? { ...b, input } : b)),
  };
}
