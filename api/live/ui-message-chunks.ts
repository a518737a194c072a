/**
 * AI SDK's UI message stream protocol v1 (the stream `useChat` reads), as far as Stepwise writes it: the chunk
 * shapes, the response headers, and {@link UiTurnMapper}, which turns one turn's session events into chunks.
 *
 * Source: `ai@6` `src/ui-message-stream/ui-message-chunks.ts` (`uiMessageChunkSchema`), `ui-message-stream-headers.ts`
 * and `json-to-sse-transform-stream.ts` (frames are `data: <chunk JSON>\n\n`, the last one `data: [DONE]\n\n`). Each
 * shape here is strict: it lists only fields of the client's schema (ai@5 refused any other; ai@6 tolerates them), so
 * nothing Stepwise adds can make a client throw. Pure: no I/O; the route writes what the mapper returns.
 */
import { z } from 'zod';
import type { SessionEvent, TurnResult } from '../../src/engine/types.js';
import { TokenUsage } from '../../src/engine/usage.js';

/** Response headers of a UI message stream (`UI_MESSAGE_STREAM_HEADERS` in ai@6, without `connection`). */
export const UI_MESSAGE_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
};

/** The SSE frame of one chunk, as ai's `JsonToSseTransformStream` writes it. */
export function uiChunkFrame(chunk: UiChunk): string {
  return `data: ${JSON.stringify(UiChunk.parse(chunk))}\n\n`;
}

/** The frame that ends every stream. */
export const UI_STREAM_DONE_FRAME = 'data: [DONE]\n\n';

/**
 * `messageMetadata` of `finish`: where the session is after the turn (`flow` null outside flows), and the turn's token
 * usage when the session sums it (field names as AI SDK's `LanguageModelUsage`: `inputTokens`, `outputTokens`,
 * `totalTokens`, `cachedInputTokens`, `reasoningTokens`; plus `calls` and, with a price table, `costUsd`).
 */
export const StepwiseMessageMetadata = z.strictObject({
  step: z.string(),
  flow: z.string().nullable(),
  ended: z.boolean(),
  usage: TokenUsage.optional(),
});
export type StepwiseMessageMetadata = z.infer<typeof StepwiseMessageMetadata>;

/** `data-stepwise-step` data: the session moved between steps. */
export const StepData = z.strictObject({ from: z.string(), to: z.string() });
/** `data-stepwise-flow` data: a flow was entered or exited, with its summary. */
export const FlowData = z.strictObject({ event: z.enum(['enter', 'exit']), flowId: z.string(), summary: z.string() });

/** The chunks Stepwise writes (a subset of ai@6's `UIMessageChunk`). Tool chunks are `dynamic`: the client has no tool types. */
export const UiChunk = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('start'), messageId: z.string() }),
  z.strictObject({ type: z.literal('start-step') }),
  z.strictObject({ type: z.literal('finish-step') }),
  z.strictObject({ type: z.literal('text-start'), id: z.string() }),
  z.strictObject({ type: z.literal('text-delta'), id: z.string(), delta: z.string() }),
  z.strictObject({ type: z.literal('text-end'), id: z.string() }),
  z.strictObject({ type: z.literal('tool-input-available'), toolCallId: z.string(), toolName: z.string(), input: z.unknown(), dynamic: z.literal(true) }),
  z.strictObject({ type: z.literal('tool-approval-request'), approvalId: z.string(), toolCallId: z.string() }),
  z.strictObject({ type: z.literal('tool-output-available'), toolCallId: z.string(), output: z.unknown(), dynamic: z.literal(true) }),
  z.strictObject({ type: z.literal('tool-output-error'), toolCallId: z.string(), errorText: z.string(), dynamic: z.literal(true) }),
  z.strictObject({ type: z.literal('tool-output-denied'), toolCallId: z.string() }),
  z.strictObject({ type: z.literal('data-stepwise-step'), data: StepData }),
  z.strictObject({ type: z.literal('data-stepwise-flow'), data: FlowData }),
  z.strictObject({ type: z.literal('data-stepwise-suggestions'), data: z.strictObject({ suggestions: z.array(z.string()) }) }),
  /** Raw model output as it streams (decision JSON, not the reply): a preview, never stored in the message. */
  z.strictObject({ type: z.literal('data-stepwise-token'), data: z.strictObject({ text: z.string() }), transient: z.literal(true) }),
  z.strictObject({ type: z.literal('error'), errorText: z.string() }),
  z.strictObject({
    type: z.literal('finish'),
    finishReason: z.enum(['stop', 'tool-calls', 'error']),
    messageMetadata: StepwiseMessageMetadata.optional(),
  }),
]);
export type UiChunk = z.infer<typeof UiChunk>;

/** Where the session is after `result`'s turn, as `finish` metadata. */
export function metadataOf(result: Pick<TurnResult, 'stepId' | 'flowId' | 'ended' | 'usage'>): StepwiseMessageMetadata {
  return { step: result.stepId, flow: result.flowId ?? null, ended: result.ended, ...(result.usage ? { usage: result.usage } : {}) };
}

/** The assistant message id of the turn for user message `messageId` (stable, so a retried POST replaces, not adds). */
export function assistantMessageId(messageId: string): string {
  return `${messageId}:reply`;
}

/** The user message id behind an assistant message id from {@link assistantMessageId}, or undefined. */
export function userMessageIdOf(assistantId: string): string | undefined {
  return assistantId.endsWith(':reply') ? assistantId.slice(0, -':reply'.length) || undefined : undefined;
}

/**
 * One stream's chunks for one turn: feed the turn's events in `seq` order with {@link event} (each at most once),
 * then close with {@link finish}. Keeps the stream well formed for the client: a `start-step` before anything, a new
 * step at each model decision after the first that produced something, a denied call ends `tool-output-denied`
 * (not the tool error the engine records for it), and `error` (a failed turn) comes after the fallback reply text.
 */
export class UiTurnMapper {
  readonly #messageId: string;
  #stepHasContent = false;
  #textParts = 0;
  #failure: string | undefined;
  readonly #denied = new Set<string>();

  constructor(messageId: string) {
    this.#messageId = messageId;
  }

  /** True once a reply's text was sent. */
  get sentText(): boolean {
    return this.#textParts > 0;
  }

  /** The opening chunks: `start` (with the assistant message id) and the first `start-step`. */
  start(): UiChunk[] {
    return [{ type: 'start', messageId: assistantMessageId(this.#messageId) }, { type: 'start-step' }];
  }

  /** The chunks of one of the turn's events (none for bookkeeping events). */
  event(e: SessionEvent): UiChunk[] {
    const out = this.#map(e);
    if (out.length > 0) this.#stepHasContent = true;
    return out;
  }

  /** The chunks of a reply text: one text part holding exactly `text`. */
  text(text: string): UiChunk[] {
    const id = `${this.#messageId}:text:${this.#textParts++}`;
    this.#stepHasContent = true;
    return [{ type: 'text-start', id }, { type: 'text-delta', id, delta: text }, { type: 'text-end', id }];
  }

  /**
   * The closing chunks: `finish-step`, `error` when the turn failed (a `turn_failed` event, or `failure`: the turn
   * could not be run or followed), `finish` with where the session is when known (`paused`: the turn waits for
   * approval, `finishReason: 'tool-calls'`).
   */
  finish(where: StepwiseMessageMetadata | undefined, paused: boolean, failure?: string): UiChunk[] {
    const errorText = failure ?? this.#failure;
    const finishReason = errorText !== undefined ? 'error' : paused ? 'tool-calls' : 'stop';
    return [
      { type: 'finish-step' },
      ...(errorText === undefined ? [] : [{ type: 'error' as const, errorText }]),
      { type: 'finish', finishReason, ...(where ? { messageMetadata: where } : {}) },
    ];
  }

  #map(e: SessionEvent): UiChunk[] {
    switch (e.type) {
      case 'decision':
        // A new model call: a new step, as AI SDK's multi-step tool calling has one step per model call.
        if (!this.#stepHasContent) return [];
        this.#stepHasContent = false;
        return [{ type: 'finish-step' }, { type: 'start-step' }];
      case 'tool_call':
        return [{ type: 'tool-input-available', toolCallId: e.callId, toolName: e.tool, input: e.arguments ?? {}, dynamic: true }];
      case 'approval_requested':
        return [{ type: 'tool-approval-request', approvalId: e.callId, toolCallId: e.callId }];
      case 'approval_decided':
        if (e.decision !== 'deny') return [];
        this.#denied.add(e.callId);
        return [{ type: 'tool-output-denied', toolCallId: e.callId }];
      case 'tool_result':
        return [{ type: 'tool-output-available', toolCallId: e.callId, output: e.result ?? null, dynamic: true }];
      case 'tool_error':
        return this.#denied.has(e.callId) ? [] : [{ type: 'tool-output-error', toolCallId: e.callId, errorText: e.message, dynamic: true }];
      case 'step_change':
        return [{ type: 'data-stepwise-step', data: { from: e.from, to: e.to } }];
      case 'flow_enter':
      case 'flow_exit':
        return [{ type: 'data-stepwise-flow', data: { event: e.type === 'flow_enter' ? 'enter' : 'exit', flowId: e.flowId, summary: e.summary } }];
      case 'turn_failed':
        this.#failure = e.message; // sent by finish(), after the fallback reply
        return [];
      case 'reply': {
        const suggestions: UiChunk[] = e.suggestions?.length ? [{ type: 'data-stepwise-suggestions', data: { suggestions: e.suggestions } }] : [];
        return [...(e.text ? this.text(e.text) : []), ...suggestions];
      }
      default:
        return [];
    }
  }
}
