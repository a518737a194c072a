/**
 * What the app shows of a session, derived from its events alone (pure; no DOM): the chat transcript, the current
 * step and flow, the pending approvals, and the partial reply streamed by the model's tokens. Events are the
 * record: a reload or reconnect rebuilds the same view from the same events.
 */
import type { FileRef } from '../../src/engine/files.js';
import type { PendingApproval, SessionEvent } from './api.js';

export interface ChatMessage {
  /** Stable key: the event's seq. */
  seq: number;
  turn: number;
  role: 'user' | 'agent' | 'notice';
  text: string;
  /** Structured answer (steps with an `answer_model`). */
  answer?: unknown;
  /** The engine's graceful fallback reply (the model failed). */
  fallback?: boolean;
  /** A user message's attachments (references: `fileUrl` in ../api.ts says where each is). */
  files?: FileRef[];
  at: string;
}

export interface SessionSummary {
  messages: ChatMessage[];
  /** Current step, from the latest `step_change` (undefined when none happened: use the state's). */
  stepId?: string;
  /** Active flow; `null` after an exit (so the state's value is overridden), undefined when no flow event was seen. */
  flowId?: string | null;
  ended: boolean;
  /** Approvals requested and not decided yet, by call id. */
  pendingApprovals: PendingApproval[];
  /** Quick suggestions of the latest reply (empty when the user spoke since). */
  suggestions: string[];
  /** Highest seq seen (-1 for none). */
  lastSeq: number;
  /** A turn is running (started, no reply or failure yet). */
  busy: boolean;
}

/** Summarises `events` (any order; duplicates by seq are ignored). */
export function summarize(events: readonly SessionEvent[]): SessionSummary {
  const sorted = [...new Map(events.map((e) => [e.seq, e])).values()].sort((a, b) => a.seq - b.seq);
  const out: SessionSummary = { messages: [], ended: false, pendingApprovals: [], suggestions: [], lastSeq: -1, busy: false };
  const pending = new Map<string, PendingApproval>();
  for (const e of sorted) {
    out.lastSeq = e.seq;
    switch (e.type) {
      case 'turn_started':
        out.busy = true;
        break;
      case 'user_message':
        out.messages.push({ seq: e.seq, turn: e.turn, role: 'user', text: e.text, ...(e.files?.length ? { files: e.files } : {}), at: e.at });
        out.suggestions = [];
        break;
      case 'reply':
        out.busy = false;
        out.messages.push({
          seq: e.seq,
          turn: e.turn,
          role: 'agent',
          text: e.text,
          ...(e.answer === undefined ? {} : { answer: e.answer }),
          ...(e.fallback ? { fallback: true } : {}),
          at: e.at,
        });
        out.suggestions = e.suggestions ?? [];
        break;
      case 'turn_failed':
        out.busy = false;
        out.messages.push({ seq: e.seq, turn: e.turn, role: 'notice', text: `The turn failed: ${e.message}`, at: e.at });
        break;
      case 'step_change':
        out.stepId = e.to;
        break;
      case 'flow_enter':
        out.flowId = e.flowId;
        break;
      case 'flow_exit':
        out.flowId = null;
        break;
      case 'session_ended':
        out.ended = true;
        out.busy = false;
        out.suggestions = [];
        out.messages.push({ seq: e.seq, turn: e.turn, role: 'notice', text: `Session ended (${e.reason.replace(/_/g, ' ')}).`, at: e.at });
        break;
      case 'approval_requested':
        pending.set(e.callId, { callId: e.callId, tool: e.tool, arguments: e.arguments, requestedAt: e.at, ...(e.timeoutAt ? { timeoutAt: e.timeoutAt } : {}) });
        break;
      case 'approval_decided':
        pending.delete(e.callId);
        break;
      default:
        break;
    }
  }
  out.pendingApprovals = out.ended ? [] : [...pending.values()];
  return out;
}

/**
 * The `response` text of a decision the model is still writing, from its raw streamed output (`token` events carry
 * the model's JSON text, e.g. `{"action":"RESPOND","response":"One lat`). Returns the decoded prefix of the last
 * `"response"` string so far, or undefined when the text has none yet (a tool call, a move).
 */
export function partialResponse(raw: string): string | undefined {
  const re = /"response"\s*:\s*"/g;
  let start = -1;
  for (let m = re.exec(raw); m; m = re.exec(raw)) start = m.index + m[0].length;
  if (start < 0) return undefined;
  let text = '';
  for (let i = start; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '"') return text;
    if (ch !== '\\') {
      text += ch;
      continue;
    }
    const next = raw[i + 1];
    if (next === undefined) return text; // an escape cut in half: wait for the next token
    if (next === 'u') {
      const hex = raw.slice(i + 2, i + 6);
      if (hex.length < 4) return text;
      text += String.fromCharCode(parseInt(hex, 16));
      i += 5;
      continue;
    }
    text += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[next] ?? next;
    i++;
  }
  return text;
}
