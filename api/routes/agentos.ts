/**
 * AgentOS's (agno-go) API under `/api/v1`, beside Stepwise's own, so AgentOS clients move over unchanged: session
 * CRUD with `agent_id`, `user_id`, `name`, `metadata`; `GET /agents`; `POST /agents/{id}/run` and its SSE twin
 * `/run/stream` (`run_start`, `token`, `tool_call`, `step_start`, `complete`, `error`; `?types=` filters). Every route
 * drives the same durable sessions as `/sessions` (through `app.backend`). Errors have AgentOS's body
 * `{error, message, code}` with Stepwise's codes and statuses. Shapes in `./agentos-shapes.ts`.
 *
 * Differences, by design: a run without `session_id` starts a new durable session (its id is in the reply) instead
 * of running statelessly; `DELETE` ends the session (it stays readable) instead of erasing it; `media` is accepted and
 * echoed in `metadata.media`, but the engine is text-only; the session list needs the archive (`DATABASE_URL`).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TokenSubscriber } from '../../archive/token-notify.js';
import type { TurnResult } from '../../src/engine/types.js';
import { CallerError } from '../../src/errors.js';
import { FIRST_MESSAGE_ID, SessionId, type SessionInfo } from '../../workflows/shared.js';
import { callerSessionInfo, type UserBindingConfig } from '../auth/user-binding.js';
import { DEFAULT_HEARTBEAT_MS, type SseStream, sseStreams } from '../live/sse.js';
import { changeSessionInfo, sessionState } from '../session-reads.js';
import {
  AGENTOS_EVENT_TYPES,
  AgentOsCreateSession,
  agentOsErrorOf,
  agentOsErrors,
  type AgentOsRunRequest,
  AgentOsRunRequest as RunBody,
  AgentOsRunResponse,
  AgentOsSession,
  agentOsSessionOfRow,
  agentOsSessionOfView,
  AgentOsUpdateSession,
} from './agentos-shapes.js';
import { requireArchive } from './archive.js';

export interface AgentOsRoutesOptions {
  /** Streamed model tokens, forwarded as `token` events. Default: none (the reply comes in `complete`). */
  tokens?: TokenSubscriber;
  /** Poll interval of a running turn's events (tool calls, steps), in ms. Default 100. */
  pollIntervalMs?: number;
  /** Interval of `: ping` comments on a run stream, in ms (0: none). Default {@link DEFAULT_HEARTBEAT_MS} (15 s). */
  heartbeatMs?: number;
}

/** What `streamRun` needs from the plugin: its options and its stream opener (see `sseStreams`). */
interface RunStreams {
  opts: AgentOsRoutesOptions;
  open: (reply: FastifyReply) => SseStream;
}

const IdParams = z.object({ id: SessionId });
const AgentParams = z.object({ id: z.string().min(1).max(200) });
const ListQuery = z.object({
  agent_id: z.string().min(1).max(200).optional(),
  user_id: z.string().min(1).max(128).optional(),
});
const StreamQuery = z.object({ types: z.string().max(200).optional() });
/** User binding (`../auth/user-binding.ts`): the session is `:id`, or a run's `session_id`. */
const BY_ID: UserBindingConfig = { sessionParam: 'id' };
const BY_BODY: UserBindingConfig = { sessionBody: 'session_id' };

/** The turn for a run: on `session_id` (which must be this agent's), or on a new session started with `info`. */
async function runTurn(app: FastifyInstance, agentId: string, body: AgentOsRunRequest, sessionId: string, isNew: boolean, info: SessionInfo): Promise<TurnResult> {
  const agent = app.agents.get(agentId);
  if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
  const text = runInput(body);
  if (isNew) return app.backend.startWithMessage(agent, sessionId, { messageId: FIRST_MESSAGE_ID, text }, info);
  const state = await app.backend.state(sessionId);
  if (state.agentName !== agentId) {
    throw new CallerError('INVALID_REQUEST', `session ${sessionId} belongs to agent ${state.agentName}, not ${agentId}`);
  }
  return app.backend.send(sessionId, { messageId: randomUUID(), text });
}

/** The run's text: `input`, or for media alone agno-go's placeholder. @throws INVALID_REQUEST when both are empty. */
function runInput(body: AgentOsRunRequest): string {
  if (body.input.trim()) return body.input;
  const count = Array.isArray(body.media) ? body.media.length : body.media ? 1 : 0;
  if (count === 0) throw new CallerError('INVALID_REQUEST', 'input or media payload is required');
  return count === 1 ? 'Media request (1 attachment)' : `Media request (${count} attachments)`;
}

/**
 * `metadata` of a run reply and of the `complete` event; `metrics` carries the turn's token usage (when the session
 * sums it) under agno's `Metrics` names: `input_tokens`, `output_tokens`, `total_tokens`, `cache_read_tokens`,
 * `reasoning_tokens`, `cost` (US dollars, with a price table).
 */
function runMetadata(agentId: string, result: TurnResult, body: AgentOsRunRequest): Record<string, unknown> {
  const u = result.usage;
  const metrics = u && {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    total_tokens: u.totalTokens,
    ...(u.cachedInputTokens ? { cache_read_tokens: u.cachedInputTokens } : {}),
    ...(u.reasoningTokens ? { reasoning_tokens: u.reasoningTokens } : {}),
    ...(u.costUsd !== undefined ? { cost: u.costUsd } : {}),
  };
  return {
    ...(metrics ? { metrics } : {}),
    agent_id: agentId,
    step_id: result.stepId,
    ...(result.flowId === undefined ? {} : { flow_id: result.flowId }),
    turn: result.turn,
    ended: result.ended,
    ...(result.answer === undefined ? {} : { answer: result.answer }),
    ...(body.media === undefined ? {} : { media: body.media }),
  };
}

const agentosRoutes: FastifyPluginAsyncZod<AgentOsRoutesOptions> = async (app, opts) => {
  const streams: RunStreams = { opts, open: sseStreams(app, { heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS }) };
  // AgentOS's error body for every route of this plugin (encapsulated: Stepwise's routes keep theirs).
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = agentOsErrorOf(err, request.id, request.headers['content-type']);
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
  });

  app.get(
    '/agents',
    { schema: { tags: ['agentos'], summary: 'AgentOS: list agents', response: { 200: z.object({ agents: z.array(z.object({ id: z.string(), name: z.string() })), count: z.number().int() }) } } },
    async () => {
      const agents = [...app.agents.values()].map((a) => ({ id: a.name, name: a.name }));
      return { agents, count: agents.length };
    },
  );

  app.post(
    '/sessions',
    {
      config: { binding: { newSessionBody: 'session_id', userBody: 'user_id' } },
      schema: { tags: ['agentos'], summary: 'AgentOS: create a session', body: AgentOsCreateSession, response: { 201: AgentOsSession, ...agentOsErrors(404, 409, 503) } },
    },
    async (request, reply) => {
      const { agent_id: agentId, user_id: userId, name, metadata } = request.body;
      const agent = app.agents.get(agentId);
      if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
      const sessionId = request.body.session_id ?? randomUUID();
      await app.backend.start(agent, sessionId, { ...(userId ? { userId } : {}), ...(name !== undefined ? { name } : {}), ...(metadata ? { metadata } : {}) });
      return reply.code(201).send(agentOsSessionOfView(await app.backend.state(sessionId)));
    },
  );

  app.get(
    '/sessions',
    {
      config: { binding: { userQuery: 'user_id' } },
      schema: {
        tags: ['agentos'],
        summary: 'AgentOS: list sessions (newest first, at most 100; needs the archive)',
        querystring: ListQuery,
        response: { 200: z.object({ sessions: z.array(AgentOsSession), count: z.number().int() }), ...agentOsErrors(503) },
      },
    },
    async (request) => {
      const page = await requireArchive(app).listSessions({ agentId: request.query.agent_id, userId: request.query.user_id, limit: 100 });
      const sessions = page.sessions.map(agentOsSessionOfRow);
      return { sessions, count: sessions.length };
    },
  );

  app.get(
    '/sessions/:id',
    { config: { binding: BY_ID }, schema: { tags: ['agentos'], summary: 'AgentOS: get a session', params: IdParams, response: { 200: AgentOsSession, ...agentOsErrors(404, 503) } } },
    async (request) => agentOsSessionOfView(await sessionState(app, request.params.id, request.log)),
  );

  app.put(
    '/sessions/:id',
    {
      config: { binding: BY_ID },
      schema: {
        tags: ['agentos'],
        summary: "AgentOS: update a session's name and/or metadata",
        params: IdParams,
        body: AgentOsUpdateSession,
        response: { 200: AgentOsSession, ...agentOsErrors(404, 409, 503) },
      },
    },
    async (request) => {
      const { name, metadata } = request.body;
      // agno-go ignores an empty name; so does this route.
      const patch = { ...(name ? { name } : {}), ...(metadata ? { metadata } : {}) };
      return agentOsSessionOfView(await changeSessionInfo(app, request.params.id, patch));
    },
  );

  app.delete(
    '/sessions/:id',
    { config: { binding: BY_ID }, schema: { tags: ['agentos'], summary: 'AgentOS: end a session (it stays readable)', params: IdParams, response: { 200: z.object({ message: z.string() }), ...agentOsErrors(404, 503) } } },
    async (request) => {
      await app.backend.end(request.params.id);
      return { message: 'session deleted successfully' };
    },
  );

  app.post(
    '/agents/:id/run',
    {
      config: { binding: BY_BODY },
      schema: {
        tags: ['agentos'],
        summary: 'AgentOS: run the agent on input (a turn of session_id, or of a new session); stream: true streams SSE',
        params: AgentParams,
        querystring: StreamQuery,
        body: RunBody,
        response: { 200: AgentOsRunResponse, ...agentOsErrors(404, 409, 503) },
      },
    },
    async (request, reply) => {
      if (request.body.stream) return streamRun(app, streams, request.params.id, request.body, request.query.types, callerSessionInfo(request), reply);
      const isNew = request.body.session_id === undefined;
      const sessionId = request.body.session_id ?? randomUUID();
      const result = await runTurn(app, request.params.id, request.body, sessionId, isNew, callerSessionInfo(request));
      return { run_id: result.messageId, status: 'completed' as const, content: result.reply, session_id: sessionId, metadata: runMetadata(request.params.id, result, request.body) };
    },
  );

  app.post(
    '/agents/:id/run/stream',
    {
      config: { binding: BY_BODY },
      schema: {
        tags: ['agentos'],
        summary: 'AgentOS: run the agent, streaming SSE events (types= filters, e.g. types=token,complete)',
        params: AgentParams,
        querystring: StreamQuery,
        body: RunBody,
        response: {
          200: {
            description: 'The run as Server-Sent Events (`text/event-stream`: run_start, token, tool_call, step_start, complete, error); not JSON.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...agentOsErrors(404, 409, 503),
        },
      },
    },
    async (request, reply) => streamRun(app, streams, request.params.id, request.body, request.query.types, callerSessionInfo(request), reply),
  );
};

/**
 * The run as SSE: `run_start`, then the turn's `step_start` (step changes) and `tool_call` (with its result) events as
 * they happen, model `token`s when a token feed is configured, and `complete` (or `error`). Bad input and unknown
 * agents or sessions are answered before the stream opens, with a JSON error.
 *
 * The stream is the shared `SseStream` (`../live/sse.ts`): `: ping` comments every `heartbeatMs`; polling stops when
 * the client leaves (the run goes on: it is a durable turn, its result stays in the session); events wait for the
 * socket to drain (tokens are dropped instead while it is congested, their `index` still counts them); the stream
 * ends when the app closes.
 */
async function streamRun(
  app: FastifyInstance,
  streams: RunStreams,
  agentId: string,
  body: AgentOsRunRequest,
  types: string | undefined,
  info: SessionInfo,
  reply: FastifyReply,
): Promise<void> {
  const wanted = new Set((types ?? '').split(',').map((t) => t.trim()).filter(Boolean));
  const unknown = [...wanted].filter((t) => !(AGENTOS_EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new CallerError('INVALID_REQUEST', `unknown event types: ${unknown.join(', ')} (known: ${AGENTOS_EVENT_TYPES.join(', ')})`);
  if (!app.agents.has(agentId)) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
  const input = runInput(body);
  const isNew = body.session_id === undefined;
  const sessionId = body.session_id ?? randomUUID();
  if (!isNew) await app.backend.state(sessionId); // 404 before the stream opens

  const stream = streams.open(reply);
  const send = (type: (typeof AGENTOS_EVENT_TYPES)[number], data: unknown) => {
    if (wanted.size > 0 && !wanted.has(type)) return;
    stream.send(type, { type, timestamp: new Date().toISOString(), data, session_id: sessionId, agent_id: agentId });
  };
  send('run_start', { input, session_id: sessionId });

  let index = 0;
  const unsubscribe = streams.opts.tokens?.subscribe(sessionId, (text) => {
    const token = { token: text, index: index++ };
    if (!stream.congested) send('token', token);
  });
  /** Aborted when the turn is over or the client left: the poller stops (its sleep too). */
  const idle = new AbortController();
  stream.onClose(() => {
    idle.abort();
    unsubscribe?.();
  });
  // The turn's events as they happen: the session's events after the ones it had when the run began.
  let fromSeq = isNew ? 0 : (await app.backend.events(sessionId, Number.MAX_SAFE_INTEGER).catch(() => ({ nextSeq: 0 }))).nextSeq;
  const forward = async () => {
    if (stream.closed) return;
    const page = await app.backend.events(sessionId, fromSeq).catch(() => undefined);
    if (!page) return;
    for (const e of page.events) {
      if (e.type === 'step_change') send('step_start', { step_name: e.to, step_index: e.seq });
      if (e.type === 'tool_result') send('tool_call', { tool_name: e.tool, arguments: toolArguments(page.events, e.callId), result: e.result });
      if (e.type === 'tool_error') send('tool_call', { tool_name: e.tool, arguments: toolArguments(page.events, e.callId), result: { error: e.message } });
    }
    fromSeq = page.nextSeq;
    await stream.drained();
  };
  const started = Date.now();
  const poller = (async () => {
    while (!idle.signal.aborted) {
      await sleep(streams.opts.pollIntervalMs ?? 100, undefined, { signal: idle.signal }).catch(() => {});
      if (!idle.signal.aborted) await forward();
    }
  })();
  try {
    const result = await runTurn(app, agentId, body, sessionId, isNew, info);
    idle.abort();
    await poller;
    await forward();
    send('complete', { output: result.reply, duration: (Date.now() - started) / 1000, metadata: runMetadata(agentId, result, body) });
  } catch (err) {
    idle.abort();
    await poller;
    const { body: error } = agentOsErrorOf(err);
    send('error', { error: error.message ?? error.error, code: error.code });
  } finally {
    stream.close();
  }
}

/** Arguments of tool call `callId` among `events` (its `tool_call` event), or `{}`. */
function toolArguments(events: Array<{ type: string; callId?: string; arguments?: unknown }>, callId: string): unknown {
  return events.find((e) => e.type === 'tool_call' && e.callId === callId)?.arguments ?? {};
}

export default agentosRoutes;
