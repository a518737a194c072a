/**
 * AI SDK's chat endpoint: `POST /ai-sdk/chat` and `GET /ai-sdk/chat/:id/stream`, which `useChat` (ai@6,
 * `DefaultChatTransport({ api: '/ai-sdk/chat' })`) reads unchanged. docs/ai-sdk.md has the chunk table.
 *
 * - The chat `id` is the session id; the first POST starts the session (`agentId` in the body or `?agentId=`) with
 *   its message. Only the last message is read: a user message is a new turn whose message id is the UI message's
 *   `id` (a retried POST gets the same turn by the backend's dedupe, replayed; `GET /sessions/:id/messages/:id` reads
 *   it); an assistant message with answered tool approvals decides them (`decideApproval`) and streams the rest of
 *   that turn.
 * - The reply streams as AI SDK's UI message stream protocol v1 (`../live/ui-message-chunks.ts`), following the turn
 *   live (`../live/turn-follower.ts`). Requests that cannot start a turn are answered before the stream opens, with
 *   Stepwise's JSON error (the transport throws its text).
 * - `trigger: 'regenerate-message'` rewinds the session to before the last user message's turn (docs/time-travel.md)
 *   and runs that message again.
 * - `GET /ai-sdk/chat/:id/stream` replays and follows the session's running turn (or one paused for approval); 204
 *   when none runs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TokenSubscriber } from '../../archive/token-notify.js';
import { TurnResult } from '../../src/engine/types.js';
import { CallerError, isStepwiseError, StepwiseError } from '../../src/errors.js';
import { type SessionView, UserMessage } from '../../workflows/shared.js';
import { callerSessionInfo } from '../auth/user-binding.js';
import { rewindBefore } from '../time-travel.js';
import { errorReplies } from '../errors.js';
import { DEFAULT_HEARTBEAT_MS, SseStream } from '../live/sse.js';
import { type ChunkSink, type FollowTurnOptions, followTurn } from '../live/turn-follower.js';
import { UI_MESSAGE_STREAM_HEADERS, UI_STREAM_DONE_FRAME, uiChunkFrame, userMessageIdOf } from '../live/ui-message-chunks.js';
import { messageFiles } from '../files/uploads.js';
import { fileBodyLimitBytes } from '../files/limits.js';
import { approvalAnswers, ChatParams, ChatQuery, ChatRequestBody, filesOnlyText, type UiMessage, UserUiMessage, userText, userUploads } from './ai-sdk-shapes.js';

export interface AiSdkRoutesOptions {
  /** Streamed model tokens, sent as transient `data-stepwise-token` chunks. Default: none. */
  tokens?: TokenSubscriber;
  /** Interval between two polls of a running turn, in ms. Default {@link DEFAULT_AI_SDK_POLL_MS}. */
  pollIntervalMs?: number;
  /** Interval of `: ping` comments, in ms (0: none). Default {@link DEFAULT_HEARTBEAT_MS} (15 s). */
  heartbeatMs?: number;
}

/** Default poll interval of a running turn's events, in ms. */
export const DEFAULT_AI_SDK_POLL_MS = 100;

const STREAM_REPLY = {
  description: 'A UI message stream (AI SDK protocol v1, `text/event-stream`): `data: <chunk JSON>` frames, then `data: [DONE]`.',
  content: { 'text/event-stream': { schema: z.string() } },
};

/** The session's view, or null when no session has the id. */
async function existing(app: FastifyInstance, sessionId: string): Promise<SessionView | null> {
  try {
    return await app.backend.state(sessionId);
  } catch (err) {
    if (isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND') return null;
    throw err;
  }
}

/** The error of a message the session refused (409 SESSION_ENDED, or 429 RATE_LIMITED for a full queue). */
function refused(refusal: { code: string; message: string }, messageId: string): StepwiseError {
  if (refusal.code === 'SESSION_ENDED') return new CallerError('SESSION_ENDED', refusal.message, { messageId });
  return new StepwiseError('RATE_LIMITED', `${refusal.message} (with the same message id)`, { messageId, retryAfterSeconds: 1 });
}

/**
 * How to follow the turn of a new user message: run it (a new session, or `send`), or replay and follow the turn it
 * already has (a retried POST). @throws CallerError (INVALID_REQUEST, AGENT_NOT_FOUND, SESSION_EXISTS,
 * SESSION_ENDED, MESSAGE_ALREADY_ANSWERED) and backend errors, before the stream opens.
 */
async function userTurn(
  app: FastifyInstance,
  request: FastifyRequest,
  sessionId: string,
  agentId: string | undefined,
  last: UiMessage,
  /** Send options after a rewind (`regenerate-message`). */
  resend?: { updateId?: string },
): Promise<Omit<FollowTurnOptions, 'backend' | 'pollMs'>> {
  const user = UserUiMessage.safeParse(last);
  if (!user.success) throw new CallerError('INVALID_REQUEST', 'the last message id must be a Stepwise message id (letters, digits, _ - . : only, 1-128 chars)');
  const uploads = userUploads(last, app.fileLimits.maxFileBytes);
  const parsed = UserMessage.safeParse({ messageId: user.data.id, text: userText(last) || filesOnlyText(uploads) });
  if (!parsed.success) throw new CallerError('INVALID_REQUEST', `the last user message: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const message = parsed.data;
  const view = await existing(app, sessionId);
  if (!view) {
    if (agentId === undefined) throw new CallerError('INVALID_REQUEST', `session ${sessionId} does not exist: give agentId (body or ?agentId=) to start it`);
    const agent = app.agents.get(agentId);
    if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
    const archived = await app.archive?.getSession(sessionId).catch(() => null);
    if (archived && archived.status !== 'active') throw new CallerError('SESSION_EXISTS', `session ${sessionId} already exists (it ended; ids are not reused)`);
    const files = await messageFiles(app, sessionId, undefined, uploads, agent);
    return { sessionId, messageId: message.messageId, kick: app.backend.startWithMessage(agent, sessionId, { ...message, ...files }, callerSessionInfo(request)) };
  }
  if (agentId !== undefined && view.agentName !== agentId) {
    throw new CallerError('INVALID_REQUEST', `session ${sessionId} belongs to agent ${view.agentName}, not ${agentId}`);
  }
  const lookup = await app.backend.turnResult(sessionId, message.messageId);
  const fromSeq = view.lastEventSeq + 1;
  switch (lookup.status) {
    case 'done':
      return { sessionId, messageId: message.messageId, fromSeq, kick: Promise.resolve(lookup.result) };
    case 'running':
    case 'queued':
      return { sessionId, messageId: message.messageId }; // replayed from its first event
    case 'refused':
      throw refused(lookup.refusal, message.messageId);
    case 'answered': {
      const archived = app.archive ? (await app.archive.getTurns(sessionId, { afterTurn: lookup.turn - 1, limit: 1 })).turns[0] : undefined;
      if (archived?.messageId !== message.messageId) {
        throw new CallerError('MESSAGE_ALREADY_ANSWERED', `message ${message.messageId} was answered long ago (turn ${lookup.turn})`, { turn: lookup.turn });
      }
      return { sessionId, messageId: message.messageId, fromSeq, kick: Promise.resolve(TurnResult.parse(archived)) };
    }
    case 'unknown':
      if (view.status !== 'active') throw new CallerError('SESSION_ENDED', `session ${sessionId} has ended`);
      return { sessionId, messageId: message.messageId, fromSeq, kick: app.backend.send(sessionId, { ...message, ...(await messageFiles(app, sessionId, undefined, uploads, app.agents.get(view.agentName))) }, resend) };
  }
}

/**
 * How to follow the rest of a turn after the user answered its approvals (the last message is the assistant message
 * of that turn): each answer is decided (one already decided, e.g. by a retried POST or its timeout, is skipped).
 * @throws CallerError INVALID_REQUEST (no answers, not a Stepwise assistant message), APPROVAL_NOT_FOUND,
 *   SESSION_NOT_FOUND, SESSION_ENDED, before the stream opens.
 */
async function approvalTurn(app: FastifyInstance, sessionId: string, last: UiMessage): Promise<Omit<FollowTurnOptions, 'backend' | 'pollMs'>> {
  const answers = approvalAnswers(last);
  const messageId = userMessageIdOf(last.id);
  if (answers.length === 0 || messageId === undefined) {
    throw new CallerError('INVALID_REQUEST', 'the last message is an assistant message of this endpoint with tool parts in state approval-responded, or a user message');
  }
  const callIds = answers.map((a) => a.callId);
  const page = await app.backend.events(sessionId, 0);
  const requests = page.events.filter((e) => e.type === 'approval_requested' && callIds.includes(e.callId));
  const afterSeq = requests.length > 0 ? Math.max(...requests.map((e) => e.seq)) : page.nextSeq - 1;
  for (const answer of answers) {
    try {
      await app.backend.decideApproval(sessionId, answer);
    } catch (err) {
      if (!(isStepwiseError(err) && err.code === 'APPROVAL_ALREADY_DECIDED')) throw err;
    }
  }
  return { sessionId, messageId, turn: requests[0]?.turn, afterSeq, decided: callIds, fromSeq: requests.length > 0 ? afterSeq + 1 : 0 };
}

const aiSdkRoutes: FastifyPluginAsyncZod<AiSdkRoutesOptions> = async (app, opts) => {
  const pollMs = opts.pollIntervalMs ?? DEFAULT_AI_SDK_POLL_MS;
  /** Open streams, ended when the app closes (a server waits for open responses before it closes). */
  const open = new Set<SseStream>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  /** Streams the turn on the hijacked response: frames, tokens, `[DONE]`, close. */
  const stream = (reply: FastifyReply, follow: Omit<FollowTurnOptions, 'backend' | 'pollMs'>): FastifyReply => {
    reply.hijack();
    const res = reply.raw;
    const sse = new SseStream(res, { heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, headers: { ...UI_MESSAGE_STREAM_HEADERS } });
    open.add(sse);
    // AI SDK's frames have no `event:` line, and `[DONE]` is not JSON: written as is, behind the stream's close state.
    const raw = (text: string) => {
      if (!sse.closed && !res.writableEnded && !res.destroyed) res.write(text);
    };
    const sink: ChunkSink = {
      write: (chunks) => {
        for (const c of chunks) raw(uiChunkFrame(c));
      },
      drained: () => sse.drained(),
      get closed() {
        return sse.closed;
      },
    };
    const done = followTurn(sink, { ...follow, backend: app.backend, pollMs }); // writes `start` at once
    // Best effort, after `start`: a client that cannot keep up misses tokens, never the turn's chunks.
    const unsubscribe = opts.tokens?.subscribe(follow.sessionId, (text) => {
      if (!sse.congested) sink.write([{ type: 'data-stepwise-token', data: { text }, transient: true }]);
    });
    sse.onClose(() => {
      open.delete(sse);
      unsubscribe?.();
    });
    void done.finally(() => {
      raw(UI_STREAM_DONE_FRAME);
      sse.close();
    });
    return reply;
  };

  app.post(
    '/ai-sdk/chat',
    {
      config: { binding: { sessionOrNewBody: 'id' } },
      // `useChat` sends the whole chat, earlier messages' `data:` URLs included.
      bodyLimit: fileBodyLimitBytes(app.fileLimits, app.initialConfig.bodyLimit),
      schema: {
        tags: ['ai-sdk'],
        summary: "AI SDK useChat: send the chat's last message (a user message, or approval answers); streams the turn",
        description:
          'Body as `DefaultChatTransport` sends it: `{id, messages, trigger, messageId, ...body}`; `id` is the session id ' +
          '(started with `agentId` on first use). Only the last message is read. Replies with a UI message stream (protocol v1). ' +
          '`trigger: regenerate-message` rewinds to before the last user message and runs it again (409 TURN_IN_FLIGHT while a turn runs).',
        querystring: ChatQuery,
        body: ChatRequestBody,
        response: { 200: STREAM_REPLY, ...errorReplies(404, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const { id: sessionId, messages, trigger } = request.body;
      const last = messages[messages.length - 1]!;
      if (trigger === 'regenerate-message') {
        if (last.role !== 'user') throw new CallerError('INVALID_REQUEST', 'regenerate-message: the last message must be the user message to answer again');
        const resend = await rewindBefore(app, sessionId, last.id);
        return stream(reply, await userTurn(app, request, sessionId, request.body.agentId ?? request.query.agentId, last, resend));
      }
      const agentId = request.body.agentId ?? request.query.agentId;
      if (last.role === 'user') return stream(reply, await userTurn(app, request, sessionId, agentId, last));
      if (last.role === 'assistant') return stream(reply, await approvalTurn(app, sessionId, last));
      throw new CallerError('INVALID_REQUEST', 'the last message must be a user message or an assistant message with approval answers');
    },
  );

  app.get(
    '/ai-sdk/chat/:id/stream',
    {
      config: { binding: { sessionParam: 'id' } },
      schema: {
        tags: ['ai-sdk'],
        summary: "AI SDK useChat resume: the session's running turn as a UI message stream, replayed from its start; 204 when none runs",
        params: ChatParams,
        response: { 200: STREAM_REPLY, 204: z.null().describe('no turn is running'), ...errorReplies(404, 503) },
      },
    },
    async (request, reply) => {
      const sessionId = request.params.id;
      const view = await app.backend.state(sessionId);
      if (view.busy) {
        const page = await app.backend.events(sessionId, 0);
        const started = page.events.filter((e) => e.type === 'turn_started').at(-1);
        const lookup = started ? await app.backend.turnResult(sessionId, started.messageId) : undefined;
        if (started && (lookup?.status === 'running' || lookup?.status === 'queued')) {
          return stream(reply, { sessionId, messageId: started.messageId, turn: started.turn, fromSeq: started.seq });
        }
      }
      return reply.code(204).send(null);
    },
  );
};

export default aiSdkRoutes;
