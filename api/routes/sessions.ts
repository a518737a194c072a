/**
 * Session routes (DESIGN.md "REST API"): start a session, send messages (wait for the turn, or queue with
 * `?wait=false`), read state and history, end it. Each session is one backend session (one Temporal workflow).
 *
 * Message ids double as Temporal update ids: a client retrying a request with the same `messageId` gets the first
 * result and never runs a turn twice.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TurnResult } from '../../src/engine/types.js';
import { CallerError } from '../../src/errors.js';
import { MessageId, SessionHistory, SessionId, SessionView, UserMessage } from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';

/** `POST /sessions` body. Unknown fields are rejected. */
export const CreateSessionBody = z.strictObject({
  /** Agent name (see `GET /agents`). */
  agentId: z.string().min(1).max(200),
  /** Default: a random UUID. */
  sessionId: SessionId.optional(),
  /** First user message; its message id is `<sessionId>:first`. */
  message: UserMessage.shape.text.optional(),
});
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
  /** Idempotency key and Temporal update id. Default: a random UUID (no de-duplication across retries). */
  messageId: MessageId.optional(),
});
export type SendMessageBody = z.infer<typeof SendMessageBody>;

export const SendMessageQuery = z.object({
  /** `false`: queue the message (signal) and answer 202 without waiting for the turn. */
  wait: z.enum(['true', 'false']).default('true'),
});

/** 202 reply of `?wait=false`. */
export const QueuedReply = z.object({ sessionId: z.string(), messageId: z.string(), status: z.literal('queued') });
export type QueuedReply = z.infer<typeof QueuedReply>;

export const SessionParams = z.object({ sessionId: SessionId });

/** Message id of the message given to `POST /sessions`. */
export function firstMessageId(sessionId: string): string {
  return `${sessionId}:first`;
}

const sessionRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Start a session, optionally with a first message',
        body: CreateSessionBody,
        response: { 201: CreateSessionReply, ...errorReplies(404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const { agentId, message } = request.body;
      const agent = app.agents.get(agentId);
      if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
      const sessionId = request.body.sessionId ?? randomUUID();
      await app.backend.start(agent, sessionId);
      if (message === undefined) {
        return reply.code(201).send({ sessionId, agentId, stepId: agent.startStepId });
      }
      const result = await app.backend.send(sessionId, { messageId: firstMessageId(sessionId), text: message });
      return reply.code(201).send({ ...result, sessionId, agentId });
    },
  );

  app.post(
    '/sessions/:sessionId/messages',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Send a user message: wait for the turn result (200) or queue it (?wait=false, 202)',
        params: SessionParams,
        querystring: SendMessageQuery,
        body: SendMessageBody,
        response: { 200: TurnResult, 202: QueuedReply, ...errorReplies(404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const { sessionId } = request.params;
      const message = { messageId: request.body.messageId ?? randomUUID(), text: request.body.text };
      if (request.query.wait === 'false') {
        await app.backend.post(sessionId, message);
        return reply.code(202).send({ sessionId, messageId: message.messageId, status: 'queued' as const });
      }
      return reply.code(200).send(await app.backend.send(sessionId, message));
    },
  );

  app.get(
    '/sessions/:sessionId',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Session state',
        params: SessionParams,
        response: { 200: SessionView, ...errorReplies(404, 503) },
      },
    },
    async (request) => app.backend.state(request.params.sessionId),
  );

  app.get(
    '/sessions/:sessionId/history',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Recent turn results still held by the session',
        params: SessionParams,
        response: { 200: SessionHistory, ...errorReplies(404, 503) },
      },
    },
    async (request) => app.backend.history(request.params.sessionId),
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

export default sessionRoutes;
