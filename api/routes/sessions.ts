/**
 * Session routes (DESIGN.md "REST API"): start a session, send messages (wait for the turn, or queue with
 * `?wait=false`), read state and history, end it. Each session is one backend session (one Temporal workflow).
 * With the archive (`app.archive`), history comes from it (complete across runs and after the workflow closed),
 * and state falls back to it when the workflow is gone or Temporal is down (see `./archive.ts`).
 *
 * Message ids double as Temporal update ids: a client retrying a request with the same `messageId` gets the first
 * result and never runs a turn twice.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TurnResult } from '../../src/engine/types.js';
import { DEFAULT_TURNS_LIMIT, MAX_TURNS_LIMIT } from '../../src/archive/store.js';
import { BranchId } from '../../src/archive/time-travel.js';
import { branchHistory, resendAfterRewind } from '../time-travel.js';
import { CallerError, type StepwiseError, isStepwiseError, sendAgainLater } from '../../src/errors.js';
import {
  FIRST_MESSAGE_ID,
  MessageId,
  type MessageRefusal,
  SessionId,
  SessionInfo,
  SessionInfoPatch,
  SessionView,
  UserMessage,
} from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';
import { fileBodyLimitBytes } from '../files/limits.js';
import { readMultipartMessage, registerMultipartMessages } from '../files/multipart.js';
import { FileInput, messageFiles } from '../files/uploads.js';
import { MAX_FILES_PER_MESSAGE } from '../../src/engine/files.js';
import { archivedHistory, changeSessionInfo, pageOf, sessionState } from '../session-reads.js';
import { TurnPendingError } from '../sessions.js';
import { SessionHistoryReply, SessionStateReply } from './archive.js';

/** `POST /sessions` body. Unknown fields are rejected. */
export const CreateSessionBody = z
  .strictObject({
    /** Agent name (see `GET /agents`). */
    agentId: z.string().min(1).max(200),
    /** Default: a random UUID. */
    sessionId: SessionId.optional(),
    /** First user message; its message id is `:first` (reserved: message ids are scoped to their session). */
    message: UserMessage.shape.text.optional(),
    /** Attachments of the first message (as in `POST /sessions/:sessionId/messages`); needs `message`. */
    files: z.array(FileInput).max(MAX_FILES_PER_MESSAGE).optional(),
    /** `true`: the agent speaks first — an opening turn with no user message (message id `:opening`); not with `message`. */
    initiate: z.boolean().optional(),
    /** The caller's user id (1-128 characters): shown in the state, archive and listing (`GET /sessions?userId=`). */
    userId: SessionInfo.shape.userId,
    /** Display name (at most 200 characters); change it with `PATCH /sessions/:sessionId`. */
    name: SessionInfo.shape.name,
    /** Free-form JSON object (at most 16 KiB of JSON); replace it with `PATCH /sessions/:sessionId`. */
    metadata: SessionInfo.shape.metadata,
  })
  .refine((b) => !(b.initiate && b.message !== undefined), { message: 'give either message or initiate, not both', path: ['initiate'] })
  .refine((b) => b.files === undefined || b.message !== undefined, { message: 'files need a message', path: ['files'] });
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

/** `POST /sessions` reply: where the session is, plus the first turn's result when a message was given. */
export const CreateSessionReply = TurnResult.partial().extend({
  sessionId: z.string(),
  agentId: z.string(),
  stepId: z.string(),
});
export type CreateSessionReply = z.infer<typeof CreateSessionReply>;

/** `POST /sessions/:sessionId/messages` body. Unknown fields are rejected. */
export const SendMessageBody = z.strictObject({
  text: UserMessage.shape.text,
  /** Attachments: `{mediaType, url}` or `{mediaType, data}` (base64); or send `multipart/form-data` with file parts. */
  files: z.array(FileInput).max(MAX_FILES_PER_MESSAGE).optional(),
  /** Idempotency key and Temporal update id. Default: a random UUID (no de-duplication across retries). */
  messageId: MessageId.optional(),
});
export type SendMessageBody = z.infer<typeof SendMessageBody>;

export const SendMessageQuery = z.object({
  /**
   * Default: wait for the turn; a turn that pauses for approval answers at once with a reply saying approval is
   * pending (`pendingApprovals`). `true`: also wait through approvals for the final reply (202 `running` if the API's
   * turn wait runs out first). `false`: queue the message (signal) and answer 202 without waiting for the turn.
   */
  wait: z.enum(['true', 'false']).optional(),
});

/** How often `?wait=true` looks for the final result of a turn paused for approval, in ms. */
const APPROVAL_POLL_MS = 250;

/**
 * 202 reply: the message is queued (`?wait=false`) or its turn is still running after the API's wait (a slow model
 * or tool). Fetch the result from `resultUrl` (also the `Location` header): 200 when done, 202 while pending.
 */
export const QueuedReply = z.object({
  sessionId: z.string(),
  messageId: z.string(),
  status: z.enum(['queued', 'running']),
  resultUrl: z.string(),
});
export type QueuedReply = z.infer<typeof QueuedReply>;

/** Path of a message's result. */
function resultUrl(sessionId: string, messageId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}/messages/${encodeURIComponent(messageId)}`;
}

export const MessageParams = z.object({ sessionId: SessionId, messageId: MessageId });

export const SessionParams = z.object({ sessionId: SessionId });

/** `GET /sessions/:sessionId/history` query: turns numbered `> afterTurn`, at most `limit` (1-100, default 20). */
export const HistoryQuerystring = z.object({
  afterTurn: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_TURNS_LIMIT).default(DEFAULT_TURNS_LIMIT),
  /** A superseded branch (`GET /sessions/:sessionId/branches`) instead of the live history (docs/time-travel.md). */
  branch: BranchId.optional(),
});



export interface SessionRoutesOptions {
  /**
   * Longest wait of `?wait=true` for the final reply of a turn paused for approval, in ms; then 202 `running`.
   * Default {@link DEFAULT_APPROVAL_WAIT_MS}.
   */
  approvalWaitMs?: number;
}

/** 100 s: the Temporal backend's turn wait, under the API server's 120 s request timeout. */
export const DEFAULT_APPROVAL_WAIT_MS = 100_000;

const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (app, opts) => {
  const approvalWaitMs = opts.approvalWaitMs ?? DEFAULT_APPROVAL_WAIT_MS;
  await registerMultipartMessages(app);
  app.post(
    '/sessions',
    {
      config: { binding: { newSessionBody: 'sessionId', userBody: 'userId' } },
      schema: {
        tags: ['sessions'],
        summary: 'Start a session, optionally with a first message or an opening turn by the agent (initiate)',
        body: CreateSessionBody,
        response: { 201: CreateSessionReply, ...errorReplies(404, 409, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const { agentId, message, initiate, userId, name, metadata } = request.body;
      const info: SessionInfo = {
        ...(userId === undefined ? {} : { userId }),
        ...(name === undefined ? {} : { name }),
        ...(metadata === undefined ? {} : { metadata }),
      };
      const agent = app.agents.get(agentId);
      if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
      const sessionId = request.body.sessionId ?? randomUUID();
      // Temporal forgets a closed workflow after the namespace's retention period, and would then start a new one
      // under the same id; the archive remembers ended sessions, so their ids stay taken (their rows stay theirs).
      const archived = await app.archive?.getSession(sessionId).catch(() => null);
      if (archived && archived.status !== 'active') {
        throw new CallerError('SESSION_EXISTS', `session ${sessionId} already exists (it ended; ids are not reused)`);
      }
      if (initiate) {
        // Retry-safe like a first message: the same request again returns the same opening turn.
        const result = await app.backend.startWithOpening(agent, sessionId, info);
        return reply.code(201).send({ ...result, sessionId, agentId });
      }
      if (message === undefined) {
        await app.backend.start(agent, sessionId, info);
        return reply.code(201).send({ sessionId, agentId, stepId: agent.startStepId });
      }
      // One retry-safe call: a client that lost the reply sends the same request again and gets the same first turn.
      const files = await messageFiles(app, sessionId, request.body.files, null, agent);
      const result = await app.backend.startWithMessage(agent, sessionId, { messageId: FIRST_MESSAGE_ID, text: message, ...files }, info);
      return reply.code(201).send({ ...result, sessionId, agentId });
    },
  );

  app.post(
    '/sessions/:sessionId/messages',
    {
      config: { sessionMessageLimit: true, multipart: true },
      bodyLimit: fileBodyLimitBytes(app.fileLimits, app.initialConfig.bodyLimit),
      preValidation: readMultipartMessage,
      schema: {
        tags: ['sessions'],
        summary: 'Send a user message: wait for the turn result (200) or queue it (?wait=false, 202)',
        description: 'JSON, or `multipart/form-data` with fields `text`, `messageId` and file parts (docs/rest-api.md "Files and images").',
        params: SessionParams,
        querystring: SendMessageQuery,
        body: SendMessageBody,
        response: { 200: TurnResult, 202: QueuedReply, ...errorReplies(404, 409, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const { sessionId } = request.params;
      const files = await messageFiles(app, sessionId, request.body.files, request.uploads);
      const message = { messageId: request.body.messageId ?? randomUUID(), text: request.body.text, ...files };
      const pending = (status: 'queued' | 'running') => {
        const url = resultUrl(sessionId, message.messageId);
        return reply.code(202).header('location', url).send({ sessionId, messageId: message.messageId, status, resultUrl: url });
      };
      if (request.query.wait === 'false') {
        await app.backend.post(sessionId, message);
        return pending('queued');
      }
      try {
        const result = await app.backend.send(sessionId, message, resendAfterRewind(sessionId, message.messageId));
        if (request.query.wait === 'true' && result.pendingApprovals) {
          const done = await finalResult(app, sessionId, message.messageId, approvalWaitMs);
          return done ? reply.code(200).send(done) : pending('running');
        }
        return reply.code(200).send(result);
      } catch (err) {
        if (err instanceof TurnPendingError) return pending('running');
        // A retry of a message answered long ago: the session remembers its id (and turn), the archive its result.
        const turn = isStepwiseError(err) && err.code === 'MESSAGE_ALREADY_ANSWERED' ? (err.details as { turn?: number })?.turn : undefined;
        const archived = turn && app.archive ? (await app.archive.getTurns(sessionId, { afterTurn: turn - 1, limit: 1 })).turns[0] : undefined;
        if (archived?.messageId === message.messageId) return reply.code(200).send(TurnResult.parse(archived));
        throw err;
      }
    },
  );

  app.get(
    '/sessions/:sessionId/messages/:messageId',
    {
      schema: {
        tags: ['sessions'],
        summary: "A message's turn result: 200 when done, 202 while queued or running",
        description:
          'A message the API acknowledged (200 or 202) always ends here in its turn result or a refusal: 409 ' +
          '`SESSION_ENDED` when the session ended before its turn ran, 429 `RATE_LIMITED` (with `Retry-After`) when ' +
          'a queued message (`?wait=false`) found the session\'s queue full: send it again. 404 only for ids the ' +
          'session never got.',
        params: MessageParams,
        response: { 200: TurnResult, 202: QueuedReply, ...errorReplies(404, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const { sessionId, messageId } = request.params;
      const lookup = await app.backend.turnResult(sessionId, messageId);
      if (lookup.status === 'done') return reply.code(200).send(lookup.result);
      if (lookup.status === 'queued' || lookup.status === 'running') {
        const url = resultUrl(sessionId, messageId);
        return reply.code(202).header('location', url).send({ sessionId, messageId, status: lookup.status, resultUrl: url });
      }
      if (lookup.status === 'refused') throw refusalError(lookup.refusal, messageId);
      const archived =
        lookup.status === 'answered' && app.archive
          ? (await app.archive.getTurns(sessionId, { afterTurn: lookup.turn - 1, limit: 1 })).turns[0]
          : undefined;
      if (archived?.messageId === messageId) return reply.code(200).send(TurnResult.parse(archived));
      throw new CallerError('NOT_FOUND', `message ${messageId} not found in session ${sessionId}`);
    },
  );

  app.get(
    '/sessions/:sessionId',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Session state (live workflow, or the archive once the workflow is gone or Temporal is down)',
        description:
          'From the workflow (`source: live`). When the workflow is not found (e.g. closed past the namespace ' +
          'retention) or Temporal is unavailable, and the archive has the session, from the archive ' +
          '(`source: archive`, with `endedAt`/`endReason` once ended).',
        params: SessionParams,
        response: { 200: SessionStateReply, ...errorReplies(404, 503) },
      },
    },
    async (request): Promise<SessionStateReply> => sessionState(app, request.params.sessionId, request.log),
  );

  app.get(
    '/sessions/:sessionId/history',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Turn results, oldest first, paginated (complete with the archive; without it, the live run only)',
        description:
          'With the archive (DATABASE_URL set): every turn of the session across continue-as-new runs, also after ' +
          'the workflow closed (`source: archive`). Without it: only the turns the live workflow still holds, its ' +
          'newest 20 (`source: live`). Pages: `afterTurn` (default 0), `limit` (1-100, default 20), `nextAfterTurn`.',
        params: SessionParams,
        querystring: HistoryQuerystring,
        response: { 200: SessionHistoryReply, ...errorReplies(404, 503) },
      },
    },
    async (request): Promise<SessionHistoryReply> => {
      const { sessionId } = request.params;
      const { afterTurn, limit, branch } = request.query;
      if (branch !== undefined) return branchHistory(app, sessionId, branch, afterTurn, limit);
      if (!app.archive) return pageOf(sessionId, 'live', (await app.backend.history(sessionId)).turns, afterTurn, limit);
      return archivedHistory(app, sessionId, afterTurn, limit);
    },
  );

  app.patch(
    '/sessions/:sessionId',
    {
      schema: {
        tags: ['sessions'],
        summary: "Change a session's name and/or metadata (each given field replaces the current one)",
        description:
          'A live session takes the change in its workflow (state, memo, archive). An ended session is changed in the ' +
          'archive when there is one (else 409 SESSION_ENDED). `userId` is fixed at start.',
        params: SessionParams,
        body: SessionInfoPatch,
        response: { 200: SessionStateReply, ...errorReplies(404, 409, 413, 503) },
      },
    },
    async (request): Promise<SessionStateReply> => changeSessionInfo(app, request.params.sessionId, request.body),
  );

  app.delete(
    '/sessions/:sessionId',
    {
      schema: {
        tags: ['sessions'],
        summary: 'End a session (idempotent); returns its final state',
        params: SessionParams,
        response: { 200: SessionView, ...errorReplies(404, 503) },
      },
    },
    async (request) => app.backend.end(request.params.sessionId),
  );
};

/**
 * The error reply of a message the session refused after accepting it: 409 SESSION_ENDED, or 429 RATE_LIMITED
 * (`Retry-After: 1`) for a queued message that found the queue full.
 */
function refusalError(refusal: MessageRefusal, messageId: string): StepwiseError {
  if (refusal.code === 'SESSION_ENDED') return new CallerError('SESSION_ENDED', refusal.message, { messageId });
  return sendAgainLater(refusal.message, { messageId });
}

/**
 * The final result of a turn that paused for approval, looked up every {@link APPROVAL_POLL_MS} for at most
 * `waitMs`; undefined then (or if the message is no longer known).
 */
async function finalResult(app: FastifyInstance, sessionId: string, messageId: string, waitMs: number): Promise<TurnResult | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lookup = await app.backend.turnResult(sessionId, messageId);
    if (lookup.status === 'done') return lookup.result;
    if (lookup.status === 'refused') throw refusalError(lookup.refusal, messageId);
    if (lookup.status !== 'running' && lookup.status !== 'queued') return undefined;
    if (Date.now() + APPROVAL_POLL_MS > deadline) return undefined;
    await new Promise((r) => setTimeout(r, APPROVAL_POLL_MS));
  }
}

export default sessionRoutes;
