/**
 * Carried session state (continue-as-new input, archived snapshots): loading (parse -> version check -> schema parse),
 * and the byte bounds of what it keeps (clipped fields, a whole-state budget), applied by the engine after every turn.
 *
 * Version history (keep a fixture per released version under `test/fixtures/state/`):
 * - 1: first release.
 * - 2: a turn may carry `approval` (calls waiting for a human decision). Version 1 state loads unchanged (it has none).
 *
 * Pure.
 */
import { z } from 'zod';
import { clip, utf8Bytes } from './memory.js';
import {
  type ClippedValue,
  KEPT_PREVIEW_CHARS,
  MAX_KEPT_FIELD_BYTES,
  MAX_STATE_BYTES,
  type SessionEvent,
  SESSION_STATE_VERSION,
  SessionState,
  type TurnResult,
} from './types.js';

/** Thrown when carried state cannot be used. Not retryable: the same bytes will fail the same way. */
export class StateVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateVersionError';
  }
}

/**
 * Reads carried session state of any known version and returns the current version.
 *
 * @throws StateVersionError for a missing, unknown or future `schemaVersion`, or a body that fails the schema
 *   (message names the version and the first failing paths).
 */
export function loadSessionState(raw: unknown): SessionState {
  const version = z.object({ schemaVersion: z.number().int() }).safeParse(raw);
  if (!version.success) throw new StateVersionError('carried session state has no numeric schemaVersion');
  const v = version.data.schemaVersion;
  if (v > SESSION_STATE_VERSION) {
    throw new StateVersionError(
      `carried session state has schemaVersion ${v}, newer than this worker understands (${SESSION_STATE_VERSION}); upgrade the worker`,
    );
  }
  if (v < 1) throw new StateVersionError(`carried session state has unknown schemaVersion ${v}`);
  // Version 1 differs only by what it cannot hold (a turn's `approval`): it reads as version 2.
  const parsed = SessionState.safeParse(v === 1 ? { ...(raw as object), schemaVersion: SESSION_STATE_VERSION } : raw);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new StateVersionError(`carried session state (schemaVersion ${v}) is invalid: ${where}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------------------------
// Byte bounds of kept state
// ---------------------------------------------------------------------------------------------------------------

/** UTF-8 bytes of `value`'s JSON (0 for `undefined`). */
export function jsonBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : utf8Bytes(json);
}

/**
 * A text field as kept in state: unchanged if its JSON fits in `maxBytes`, else its head cut to fit, ending in
 * `… [clipped: <original JSON bytes> bytes]`.
 */
export function clipText(text: string, maxBytes = MAX_KEPT_FIELD_BYTES): string {
  const bytes = jsonBytes(text);
  if (bytes <= maxBytes) return text;
  const marker = `… [clipped: ${bytes} bytes]`;
  // Characters are 1-6 JSON bytes (ASCII to `\u001f`): shrink in proportion until the cut fits.
  for (let chars = maxBytes; ; ) {
    const out = clip(text, chars, marker);
    const size = jsonBytes(out);
    if (size <= maxBytes || chars <= marker.length) return out;
    chars = Math.floor((chars * maxBytes) / size) - 1;
  }
}

/**
 * A non-text field as kept in state: unchanged if its JSON fits in `maxBytes`, else a {@link ClippedValue} (preview of
 * at most {@link KEPT_PREVIEW_CHARS} and `maxBytes / 8` characters).
 */
export function clipValue(value: unknown, maxBytes = MAX_KEPT_FIELD_BYTES): unknown {
  const json = JSON.stringify(value);
  if (json === undefined) return value;
  const bytes = utf8Bytes(json);
  if (bytes <= maxBytes) return value;
  // At most 6 JSON bytes a character: the marker itself fits, so clipping a clipped value changes nothing.
  const chars = Math.min(KEPT_PREVIEW_CHARS, Math.floor(maxBytes / 8));
  const clipped: ClippedValue = { clipped: true, bytes, preview: clip(typeof value === 'string' ? value : json, chars, '…') };
  return clipped;
}

/** An event as kept in state after its turn: every free-size field clipped by {@link clipText} or {@link clipValue}. */
export function clipEvent(event: SessionEvent, maxBytes = MAX_KEPT_FIELD_BYTES): SessionEvent {
  switch (event.type) {
    case 'user_message':
    case 'reply': {
      const text = clipText(event.text, maxBytes);
      if (event.type === 'user_message') return text === event.text ? event : { ...event, text };
      const answer = clipValue(event.answer, maxBytes);
      return text === event.text && answer === event.answer ? event : { ...event, text, answer };
    }
    case 'decision_error':
    case 'tool_error':
    case 'turn_failed':
    case 'retrieval_fallback':
    case 'summary_failed': {
      const message = clipText(event.message, maxBytes);
      return message === event.message ? event : { ...event, message };
    }
    case 'flow_enter':
    case 'flow_exit': {
      const summary = clipText(event.summary, maxBytes);
      return summary === event.summary ? event : { ...event, summary };
    }
    case 'decision': {
      const entries = Object.entries(event.decision).map(([k, v]) => [k, clipValue(v, maxBytes)] as const);
      const same = entries.every(([k, v]) => v === event.decision[k]);
      return same ? event : { ...event, decision: Object.fromEntries(entries) };
    }
    case 'approval_requested': {
      const args = clipValue(event.arguments, maxBytes);
      return args === event.arguments ? event : { ...event, arguments: args };
    }
    case 'approval_decided': {
      const reason = event.reason === undefined ? undefined : clipText(event.reason, maxBytes);
      return reason === event.reason ? event : { ...event, reason };
    }
    case 'tool_call': {
      const args = clipValue(event.arguments, maxBytes);
      return args === event.arguments ? event : { ...event, arguments: args };
    }
    case 'tool_result': {
      const result = clipValue(event.result, maxBytes);
      return result === event.result ? event : { ...event, result };
    }
    case 'turn_started':
    case 'step_change':
    case 'session_ended':
    case 'rewound':
      return event; // ids and enums only
  }
}

/** A turn result as kept in `recentResults`: reply, answer and events clipped like {@link clipEvent}. */
export function clipTurnResult(result: TurnResult, maxBytes = MAX_KEPT_FIELD_BYTES): TurnResult {
  const answer = clipValue(result.answer, maxBytes);
  return {
    ...result,
    reply: clipText(result.reply, maxBytes),
    ...(answer !== undefined ? { answer } : {}),
    events: result.events.map((e) => clipEvent(e, maxBytes)),
  };
}

/**
 * Bounds carried state to `maxBytes` of JSON (default {@link MAX_STATE_BYTES}), dropping, oldest first and only while
 * it is over: whole earlier turns (their kept events and result together); then the newest turn's kept events; then
 * its result (a repeated message id can then no longer be answered from state); then memory items, the session's
 * before the active flow's.
 * Never drops the step, flow, counters, turn state or memory summaries. The archive keeps everything dropped.
 *
 * @returns `state` itself when it fits; state that fits unless summaries and ids alone are over `maxBytes`. Never throws.
 */
export function boundStateBytes(state: SessionState, maxBytes = MAX_STATE_BYTES): SessionState {
  let total = jsonBytes(state);
  if (total <= maxBytes) return state;
  const events = [...state.events];
  const results = [...state.recentResults];
  const memory = { ...state.memory, items: [...state.memory.items] };
  const flowMemory = state.flow ? { ...state.flow.memory, items: [...state.flow.memory.items] } : undefined;
  // Removing one element of a JSON array removes its text and, unless it was the only one, a comma.
  const dropFirst = (list: unknown[]) => {
    total -= jsonBytes(list[0]) + (list.length > 1 ? 1 : 0);
    list.shift();
  };

  for (;;) {
    const oldest = Math.min(events[0]?.turn ?? Infinity, results[0]?.turn ?? Infinity);
    if (total <= maxBytes || oldest >= state.counters.turns) break;
    while (events[0]?.turn === oldest) dropFirst(events);
    while (results[0]?.turn === oldest) dropFirst(results);
  }
  while (total > maxBytes && events.length > 0) dropFirst(events);
  while (total > maxBytes && results.length > 0) dropFirst(results);
  while (total > maxBytes && memory.items.length > 0) dropFirst(memory.items);
  while (total > maxBytes && flowMemory && flowMemory.items.length > 0) dropFirst(flowMemory.items);

  return {
    ...state,
    events,
    recentResults: results,
    memory,
    ...(state.flow && flowMemory ? { flow: { ...state.flow, memory: flowMemory } } : {}),
  };
}
