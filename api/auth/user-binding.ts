/**
 * Per-user isolation for credentials bound to a user (`Principal.userId`: a keys file entry's `user_id`, or a JWT's
 * `STEPWISE_JWT_USER_CLAIM`), as AgentOS/OmniAgent scope sessions by user. A `preHandler` (after validation):
 *
 * - `POST /sessions`: the session's `userId` is forced to the caller's; a `sessionId` already taken by another
 *   user's session is 409 SESSION_EXISTS (so a retried start never returns someone else's first turn).
 * - `GET /sessions`: the listing is filtered to the caller's `userId` whatever the query says.
 * - Any route with a `:sessionId` param: a session of another user (or of none) is 404 SESSION_NOT_FOUND, exactly as if
 *   it did not exist. The owner is read from the live session's state, or from the archive when the workflow is gone
 *   or Temporal is down.
 *
 * Unbound credentials (and auth off) see every session.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallerError, isStepwiseError } from '../../src/errors.js';

/** The user a session belongs to (`undefined`: started without one), or `null` when no one knows the session. */
async function ownerOf(app: FastifyInstance, sessionId: string): Promise<string | undefined | null> {
  try {
    return (await app.backend.state(sessionId)).userId;
  } catch (err) {
    const fallback = isStepwiseError(err) && (err.code === 'SESSION_NOT_FOUND' || err.code === 'TEMPORAL_UNAVAILABLE');
    const row = fallback && app.archive ? await app.archive.getSession(sessionId) : null;
    if (row) return row.userId;
    if (isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND') return null;
    throw err;
  }
}

function notFound(sessionId: string): CallerError {
  return new CallerError('SESSION_NOT_FOUND', `session ${sessionId} not found`);
}

/** Applies the rules above to one request of a bound caller. @throws CallerError SESSION_NOT_FOUND / SESSION_EXISTS. */
export async function enforceUserBinding(app: FastifyInstance, request: FastifyRequest): Promise<void> {
  const userId = request.principal?.userId;
  if (userId === undefined) return;
  const route = request.routeOptions.url;
  if (route === '/sessions' && request.method === 'POST') {
    const body = request.body as { userId?: string; sessionId?: string };
    body.userId = userId;
    if (body.sessionId !== undefined) {
      const owner = await ownerOf(app, body.sessionId);
      if (owner !== null && owner !== userId) throw new CallerError('SESSION_EXISTS', `session ${body.sessionId} already exists`);
    }
    return;
  }
  if (route === '/sessions' && request.method === 'GET') {
    (request.query as { userId?: string }).userId = userId;
    return;
  }
  const sessionId = (request.params as { sessionId?: unknown } | undefined)?.sessionId;
  if (typeof sessionId !== 'string') return;
  const owner = await ownerOf(app, sessionId);
  if (owner !== userId) throw notFound(sessionId);
}
