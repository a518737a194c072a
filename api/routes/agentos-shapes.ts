/**
 * AgentOS (agno-go `pkg/agentos`) API shapes: sessions with `agent_id`, `user_id`, `name`, `metadata`, agent runs,
 * SSE run events, and its error body `{error, message, code}`. Read from agno-go's source
 * (`session_handlers.go`, `agent_handlers.go`, `events.go`); nothing is copied.
 */
import { z } from 'zod';
import type { ArchivedSession } from '../../src/archive/store.js';
import { toHttpError } from '../errors.js';
import { SessionId, SessionInfo, SessionName, SessionView } from '../../workflows/shared.js';

/** AgentOS error body: a short `error`, the detailed `message`, and Stepwise's stable `code`. */
export const AgentOsError = z.object({ error: z.string(), message: z.string().optional(), code: z.string() });
export type AgentOsError = z.infer<typeof AgentOsError>;

/** `{error, message, code}` replies for the given HTTP statuses (OpenAPI). */
export function agentOsErrors(...statuses: number[]): Record<number, typeof AgentOsError> {
  return Object.fromEntries([400, 500, ...statuses].map((s) => [s, AgentOsError]));
}

/** Maps any failure to AgentOS's error body, with the status and code Stepwise's own routes would give. */
export function agentOsErrorOf(err: unknown, requestId?: string, contentType?: string): { status: number; body: AgentOsError } {
  const { status, body } = toHttpError(err, requestId, contentType);
  const { code, message, details } = body.error;
  const detail = details === undefined ? '' : ` (${JSON.stringify(details)})`;
  return { status, body: { error: code.toLowerCase().replace(/_/g, ' '), message: `${message}${detail}`, code } };
}

/** `POST /api/v1/sessions` body. `session_id` is Stepwise's addition (default: a random UUID). */
export const AgentOsCreateSession = z.object({
  agent_id: z.string().min(1).max(200),
  user_id: SessionInfo.shape.userId,
  name: SessionInfo.shape.name,
  metadata: SessionInfo.shape.metadata,
  session_id: SessionId.optional(),
});

/** `PUT /api/v1/sessions/{id}` body: the fields given replace the current ones. */
export const AgentOsUpdateSession = z.object({ name: SessionName.optional(), metadata: SessionInfo.shape.metadata });

/**
 * AgentOS session. `state` carries where the Stepwise session is (step, flow, status); `run_count` is its turn count;
 * times are Unix seconds.
 */
export const AgentOsSession = z.object({
  session_id: z.string(),
  agent_id: z.string(),
  user_id: z.string().optional(),
  name: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  state: z.object({ step_id: z.string().optional(), flow_id: z.string().optional(), status: z.string() }),
  run_count: z.number().int(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type AgentOsSession = z.infer<typeof AgentOsSession>;

/** `POST /api/v1/agents/{id}/run` body (`stream: true` answers with the SSE stream, as agno-go does). */
export const AgentOsRunRequest = z.object({
  input: z.string().max(32_000).default(''),
  session_id: SessionId.optional(),
  media: z.unknown().optional(),
  stream: z.boolean().optional(),
});
export type AgentOsRunRequest = z.infer<typeof AgentOsRunRequest>;

/** `POST /api/v1/agents/{id}/run` reply. `run_id` is the turn's message id. */
export const AgentOsRunResponse = z.object({
  run_id: z.string(),
  status: z.literal('completed'),
  content: z.string(),
  session_id: z.string(),
  metadata: z.record(z.string(), z.unknown()),
});

/** Event types of the run stream (agno-go `EventType`s that Stepwise produces). */
export const AGENTOS_EVENT_TYPES = ['run_start', 'token', 'tool_call', 'step_start', 'complete', 'error'] as const;

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** A live session view as an AgentOS session. */
export function agentOsSessionOfView(view: SessionView): AgentOsSession {
  return {
    session_id: view.sessionId,
    agent_id: view.agentName,
    ...(view.userId === undefined ? {} : { user_id: view.userId }),
    ...(view.name === undefined ? {} : { name: view.name }),
    ...(view.metadata === undefined ? {} : { metadata: view.metadata }),
    state: { step_id: view.stepId, ...(view.flowId === undefined ? {} : { flow_id: view.flowId }), status: view.status },
    run_count: view.turns,
    created_at: seconds(view.createdAt),
    updated_at: seconds(view.updatedAt),
  };
}

/** An archive listing row as an AgentOS session. */
export function agentOsSessionOfRow(row: ArchivedSession): AgentOsSession {
  return {
    session_id: row.sessionId,
    agent_id: row.agentName,
    ...(row.userId === undefined ? {} : { user_id: row.userId }),
    ...(row.name === undefined ? {} : { name: row.name }),
    ...(Object.keys(row.metadata).length === 0 ? {} : { metadata: row.metadata }),
    state: { ...(row.stepId === undefined ? {} : { step_id: row.stepId }), ...(row.flowId === undefined ? {} : { flow_id: row.flowId }), status: row.status },
    run_count: row.turnCount,
    created_at: seconds(row.createdAt),
    updated_at: seconds(row.updatedAt),
  };
}
