/**
 * Time travel routes (docs/time-travel.md): fork, rewind, regenerate, edit, and the superseded branches.
 *
 * - `POST /sessions/:sessionId/fork {atTurn, sessionId?, name?}` → 201, the new session's state.
 * - `POST /sessions/:sessionId/rewind {toTurn}` → 200 `{toTurn, fromTurn, branch?, source?, session}`.
 * - `POST /sessions/:sessionId/regenerate` → 200, the last turn run again (same user message).
 * - `POST /sessions/:sessionId/messages/:messageId/edit {text, newMessageId?}` → 200, the edited turn.
 * - `GET /sessions/:sessionId/branches` and `GET /sessions/:sessionId/branches/:branch` (archive).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ArchivedBranch, BranchId, hasTimeTravel } from '../../src/archive/time-travel.js';
import { DEFAULT_TURNS_LIMIT, MAX_TURNS_LIMIT } from '../../src/archive/store.js';
import { RewindReply, TurnNumber } from '../../src/engine/rewind.js';
import { TurnResult } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { MessageId, SessionId, SessionName, UserMessage } from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';
import { branchHistory, editMessage, forkSession, regenerate, rewindSession } from '../time-travel.js';
import { SessionHistoryReply, SessionStateReply } from './archive.js';

const SessionParams = z.object({ sessionId: SessionId });

/** `POST /sessions/:sessionId/fork` body. */
export const ForkBody = z.strictObject({
  /** The parent's turn to fork after (0: before its first turn). */
  atTurn: TurnNumber,
  /** The fork's session id. Default: a random UUID. */
  sessionId: SessionId.optional(),
  /** Display name. Default: the parent's name with `(fork at turn N)`, if it has one. */
  name: SessionName.optional(),
});

/** `POST /sessions/:sessionId/rewind` body. */
export const RewindBody = z.strictObject({ toTurn: TurnNumber });

/** `POST /sessions/:sessionId/rewind` reply: what the rewind did, and the session's state after it. */
export const RewindHttpReply = RewindReply.extend({ session: SessionStateReply });

/** `POST /sessions/:sessionId/messages/:messageId/edit` body. */
export const EditBody = z.strictObject({
  text: UserMessage.shape.text,
  /** Message id of the edited message. Default: the same id (a rewind forgets the ids of the turns it supersedes). */
  newMessageId: MessageId.optional(),
});

/** `GET /sessions/:sessionId/branches` reply. */
export const BranchesReply = z.object({ sessionId: z.string(), branches: z.array(ArchivedBranch) });

const BranchQuerystring = z.object({
  afterTurn: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_TURNS_LIMIT).default(DEFAULT_TURNS_LIMIT),
});

/** The session's branches (none with an archive that keeps none, the in-memory one); 503 ARCHIVE_UNAVAILABLE without an archive. */
async function branchesOf(archive: Parameters<typeof hasTimeTravel>[0], sessionId: string) {
  if (!archive) throw new SystemError('ARCHIVE_UNAVAILABLE', 'superseded branches live in the archive: DATABASE_URL is not set on this API');
  return hasTimeTravel(archive) ? archive.listBranches(sessionId) : [];
}

const timeTravelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/sessions/:sessionId/fork',
    {
      config: { binding: { sessionParam: 'sessionId', newSessionBody: 'sessionId' } },
      schema: {
        tags: ['time travel'],
        summary: "Fork a session after one of its turns: a new session with the parent's state then",
        description:
          "The new session's state is the parent's state after `atTurn` (step, flow and memory, counters, answered message ids), " +
          'with `parentSessionId` and `forkedAtTurn` in its info; it is owned by the caller. Works on ended sessions. ' +
          'The state comes from the live run when it holds it, else from the archive (409 TURN_STATE_UNAVAILABLE without).',
        params: SessionParams,
        body: ForkBody,
        response: { 201: SessionStateReply, ...errorReplies(404, 409, 503) },
      },
    },
    async (request, reply) => {
      const view = await forkSession(app, request, request.params.sessionId, request.body, request.body.sessionId ?? randomUUID());
      return reply.code(201).send(view);
    },
  );

  app.post(
    '/sessions/:sessionId/rewind',
    {
      schema: {
        tags: ['time travel'],
        summary: 'Take the session back to its state after a turn; later turns become a superseded branch',
        description:
          'Refused (nothing changes) while a turn runs or is queued (409 TURN_IN_FLIGHT), during another rewind (409 ' +
          'REWIND_IN_PROGRESS), on an ended session (409 SESSION_ENDED: fork it), for a turn never reached (404 TURN_NOT_FOUND), ' +
          'and for a turn older than the live run without an archive (409 TURN_STATE_UNAVAILABLE). Rewinding to the current ' +
          'turn changes nothing (a retried rewind is harmless). Side effects of superseded tool calls are not undone.',
        params: SessionParams,
        body: RewindBody,
        response: { 200: RewindHttpReply, ...errorReplies(404, 409, 503) },
      },
    },
    async (request) => rewindSession(app, request.params.sessionId, request.body.toTurn),
  );

  app.post(
    '/sessions/:sessionId/regenerate',
    {
      schema: {
        tags: ['time travel'],
        summary: 'Run the last turn again: rewind one turn and send the same user message',
        params: SessionParams,
        response: { 200: TurnResult, ...errorReplies(404, 409, 503) },
      },
    },
    async (request) => regenerate(app, request.params.sessionId),
  );

  app.post(
    '/sessions/:sessionId/messages/:messageId/edit',
    {
      schema: {
        tags: ['time travel'],
        summary: 'Edit a message: rewind to before its turn and send the new text',
        params: SessionParams.extend({ messageId: MessageId }),
        body: EditBody,
        response: { 200: TurnResult, ...errorReplies(404, 409, 503) },
      },
    },
    async (request) => editMessage(app, request.params.sessionId, request.params.messageId, request.body.text, request.body.newMessageId),
  );

  app.get(
    '/sessions/:sessionId/branches',
    {
      schema: {
        tags: ['time travel'],
        summary: "The session's superseded branches (rewinds and Temporal resets), oldest first (archive)",
        params: SessionParams,
        response: { 200: BranchesReply, ...errorReplies(404, 503) },
      },
    },
    async (request) => ({ sessionId: request.params.sessionId, branches: await branchesOf(app.archive, request.params.sessionId) }),
  );

  app.get(
    '/sessions/:sessionId/branches/:branch',
    {
      schema: {
        tags: ['time travel'],
        summary: 'Turns of one superseded branch, oldest first, paginated like the history (archive)',
        params: SessionParams.extend({ branch: BranchId }),
        querystring: BranchQuerystring,
        response: { 200: SessionHistoryReply, ...errorReplies(404, 503) },
      },
    },
    async (request) => branchHistory(app, request.params.sessionId, request.params.branch, request.query.afterTurn, request.query.limit),
  );
};

export default timeTravelRoutes;
