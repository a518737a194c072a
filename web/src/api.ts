/**
 * The REST API as the browser app uses it: typed `fetch` calls, errors as {@link ApiError} with the API's stable
 * code. Shapes come from the server's own types where they are settled (`src/engine/types.ts`); fields other
 * Stepwise features add (userId, suggestions, approvals) are optional here so the app works with and without them.
 */
import type { SessionEvent as EngineEvent, TurnResult as EngineTurnResult } from '../../src/engine/types.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import type { AgentGraph } from '../../src/config/graph.js';
import type { AgentSource, ValidateReply } from '../../src/builder/shapes.js';
import type { FileRef } from '../../src/engine/files.js';

/** A tool call waiting for a human decision (`pendingApprovals` items). */
export interface PendingApproval {
  callId: string;
  tool: string;
  arguments: unknown;
  requestedAt?: string;
  timeoutAt?: string;
}

type EventBase = { seq: number; turn: number; at: string };
/** Human approval events (see the approval contract); part of the server's union once approvals are merged. */
export type ApprovalEvent =
  | (EventBase & { type: 'approval_requested'; callId: string; tool: string; arguments: unknown; timeoutAt?: string })
  | (EventBase & {
      type: 'approval_decided';
      callId: string;
      tool: string;
      decision: 'approve' | 'deny';
      approver?: string;
      reason?: string;
      timedOut: boolean;
    });

/** Every event the app shows: the engine's, replies with optional `suggestions`, and approval events. */
export type SessionEvent =
  | Exclude<EngineEvent, { type: 'reply' }>
  | (Extract<EngineEvent, { type: 'reply' }> & { suggestions?: string[] })
  | ApprovalEvent;
export type SessionEventType = SessionEvent['type'];

/** Every event type an event stream may carry (the EventSource needs one listener per name). */
export const EVENT_TYPES: readonly SessionEventType[] = [
  'turn_started',
  'user_message',
  'decision',
  'decision_error',
  'tool_call',
  'tool_result',
  'tool_error',
  'step_change',
  'flow_enter',
  'flow_exit',
  'reply',
  'turn_failed',
  'retrieval_fallback',
  'summary_failed',
  'session_ended',
  'approval_requested',
  'approval_decided',
  'rewound',
];

export type TurnResult = EngineTurnResult & { suggestions?: string[]; pendingApprovals?: PendingApproval[] };

export interface AgentSummary {
  name: string;
  [key: string]: unknown;
}

/** `GET /sessions/:id` */
export interface SessionState {
  sessionId: string;
  agentName: string;
  status: 'active' | 'ended';
  stepId: string;
  flowId?: string;
  turns: number;
  run: number;
  busy: boolean;
  lastEventSeq: number;
  createdAt: string;
  updatedAt: string;
  source?: 'live' | 'archive';
  userId?: string;
  name?: string;
  pendingApprovals?: PendingApproval[];
  /** Token usage of the whole session (sessions since token accounting); `costUsd` with a price table. */
  usage?: TokenUsage;
}

/** Summed token usage (`usage` of a session or turn). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
  calls: number;
  costUsd?: number;
}

/** One row of `GET /sessions`. */
export interface SessionRow {
  sessionId: string;
  agentName: string;
  status: 'active' | 'ended' | 'failed';
  stepId?: string;
  flowId?: string;
  turnCount: number;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  endReason?: string;
  userId?: string;
  name?: string;
}

export interface SessionFilter {
  agentId?: string;
  status?: string;
  userId?: string;
  cursor?: string;
  limit?: number;
}

/** `GET /app/config.json` */
export interface WebConfig {
  temporalUiUrl: string;
  namespace: string;
}

/** An error reply of the API (`{error: {code, message, details?}}`), or a network failure (`NETWORK`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A request; a `FormData` body goes as `multipart/form-data` (the browser sets the boundary), anything else as JSON. */
async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    const form = body instanceof FormData;
    res = await fetch(url, {
      method,
      headers: body === undefined || form ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `cannot reach the server (${(err as Error).message})`);
  }
  const text = await res.text();
  const json = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text || res.statusText));
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const enc = encodeURIComponent;

/** A message id that is unique enough and works outside secure contexts (where `crypto.randomUUID` is missing). */
export function newMessageId(): string {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `web-${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}

export type { AgentGraph, AgentSnapshot, AgentSource, ValidateReply };

export const api = {
  config: () => request<WebConfig>('GET', '/app/config.json'),
  /** The snapshot new sessions get (llm header values redacted). */
  agent: (agentId: string) => request<AgentSnapshot>('GET', `/agents/${enc(agentId)}`),
  graph: (agentId: string) => request<AgentGraph>('GET', `/agents/${enc(agentId)}/graph`),
  /** `stepwise dev` only (404 `NOT_FOUND` elsewhere): the agent's YAML file. */
  source: (agentId: string) => request<AgentSource>('GET', `/agents/${enc(agentId)}/source`),
  /** `stepwise dev` only: writes the file and reloads the agent; 409 `SOURCE_CHANGED` when the file changed since `baseHash`. */
  saveSource: (agentId: string, yaml: string, baseHash: string) => request<AgentSource>('PUT', `/agents/${enc(agentId)}/source`, { yaml, baseHash }),
  validate: (yaml: string, agentId?: string) => request<ValidateReply>('POST', '/agents/validate', agentId ? { yaml, agentId } : { yaml }),
  agents: async () => (await request<{ agents: AgentSummary[] }>('GET', '/agents')).agents,
  /** Starts a session; with `initiate` the agent speaks first (its turn result comes back). */
  startSession: (body: { agentId: string; initiate?: boolean; message?: string; userId?: string }) =>
    request<{ sessionId: string } & Partial<TurnResult>>('POST', '/sessions', body),
  /** Sends a message; with `files`, as `multipart/form-data` (fields `text`, `messageId`, one `file` part each). */
  send: (sessionId: string, text: string, messageId = newMessageId(), files: File[] = []) =>
    request<TurnResult | { status: 'queued' | 'running'; resultUrl: string }>('POST', `/sessions/${enc(sessionId)}/messages`, files.length === 0 ? { text, messageId } : messageForm(text, messageId, files)),
  state: (sessionId: string) => request<SessionState>('GET', `/sessions/${enc(sessionId)}`),
  end: (sessionId: string) => request<SessionState>('DELETE', `/sessions/${enc(sessionId)}`),
  list: (filter: SessionFilter) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== '') q.set(k, String(v));
    return request<{ sessions: SessionRow[]; nextCursor?: string }>('GET', `/sessions?${q}`);
  },
  /** Time travel (docs/time-travel.md): a new session from the state after `atTurn`. */
  fork: (sessionId: string, atTurn: number) => request<SessionState>('POST', `/sessions/${enc(sessionId)}/fork`, { atTurn }),
  /** Takes the session back to its state after `toTurn`. */
  rewind: (sessionId: string, toTurn: number) => request<{ toTurn: number; fromTurn: number; branch?: string }>('POST', `/sessions/${enc(sessionId)}/rewind`, { toTurn }),
  /** Runs the last turn again (same user message). */
  regenerate: (sessionId: string) => request<TurnResult>('POST', `/sessions/${enc(sessionId)}/regenerate`),
  /** Approves or denies a pending tool call; `approver` (e.g. the user id given at start) is recorded with it. */
  decide: (sessionId: string, callId: string, decision: 'approve' | 'deny', approver?: string) =>
    request<{ callId: string; decision: string; decidedAt: string }>(
      'POST',
      `/sessions/${enc(sessionId)}/approvals/${enc(callId)}`,
      approver ? { decision, approver } : { decision },
    ),
};

function messageForm(text: string, messageId: string, files: File[]): FormData {
  const form = new FormData();
  form.append('text', text);
  form.append('messageId', messageId);
  for (const f of files) form.append('file', f, f.name);
  return form;
}

/** Where a message's file is: the URL the user gave, else `GET /sessions/:sessionId/files/:fileId`. */
export function fileUrl(sessionId: string, file: FileRef): string {
  return file.url ?? `/sessions/${enc(sessionId)}/files/${enc(file.fileId)}`;
}

/** Link to the session's workflow in the Temporal Web UI. */
export function temporalUiLink(config: WebConfig, sessionId: string): string {
  return `${config.temporalUiUrl}/namespaces/${enc(config.namespace)}/workflows/${enc(`session-${sessionId}`)}`;
}
