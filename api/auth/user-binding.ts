/**
 * Per-user isolation for credentials bound to a user (`Principal.userId`: a keys file entry's `user_id`, a JWT's
 * `STEPWISE_JWT_USER_CLAIM`, or a NOMOS token's `sub`), as AgentOS/OmniAgent scope sessions by user. A `preHandler`
 * (after validation) that reads where each route keeps its session and user ids from the route's
 * `config: { binding }` ({@link UserBindingConfig}); a route without a declaration is checked on a `:sessionId` param.
 *
 * - `userBody` / `userQuery`: the field is forced to the caller's user id (a created session is theirs; a listing
 *   shows only theirs), whatever the request says.
 * - `sessionParam` / `sessionBody`: a session of another user (or of none) is 404 SESSION_NOT_FOUND, exactly as if it
 *   did not exist. The owner is read from the live session's state, or from the archive when the workflow is gone
 *   or Temporal is down.
 * - `newSessionBody`: a client-chosen id for a session to create (or retry); an id already taken by another user's
 *   session is 409 SESSION_EXISTS (so a retried start never returns someone else's first turn).
 * - `sessionOrNewBody`: a session to continue, or to start under that id when nobody has it (NOMOS `/chat` seeding
 *   a session from client-held state): another user's (or no user's) existing session is 404, an unknown id passes.
 *
 * Routes that create sessions without a user field (NOMOS `POST /session`, `/chat`; AgentOS runs) start them with
 * {@link callerSessionInfo}. Unbound credentials (and auth off) see every session.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallerError, isStepwiseError } from '../../src/errors.js';
import { SessionId } from '../../workflows/shared.js';

/** Where a route keeps session and user ids. Body paths are dot-separated (`session_data.session_id`). */
export interface UserBindingConfig {
  /** Path param naming an existing session (e.g. `id`). Default: `sessionId`. */
  sessionParam?: string;
  /** Body path naming an existing session the request continues (absent: nothing to check). */
  sessionBody?: string;
  /** Body path of a client-chosen id for a session the request creates or retries. */
  newSessionBody?: string;
  /**
   * Body path naming a session the request continues if it exists, or starts under that id if nobody has it (NOMOS
   * `/chat` with client-held state): an existing session of another user (or of none) is 404, an unknown id passes.
   */
  sessionOrNewBody?: string;
  /** Body path of the user id of a session the request creates; forced to the caller's. */
  userBody?: string;
  /** Query field filtering by user id; forced to the caller's. */
  userQuery?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Where this route's session and user ids live, for credentials bound to a user (`api/auth/user-binding.ts`). */
    binding?: UserBindingConfig;
  }
}

/** The binding of routes that declare none: a `:sessionId` param names an existing session. */
const DEFAULT_BINDING: UserBindingConfig = { sessionParam: 'sessionId' };

/** `SessionInfo` fields a session created by `request`'s caller must carry: `{userId}` for a bound caller, else `{}`. */
export function callerSessionInfo(request: FastifyRequest): { userId?: string } {
  const userId = request.principal?.userId;
  return userId === undefined ? {} : { userId };
}

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

/** The object holding `path`'s last segment inside `root`, and that segment; `undefined` when a parent is missing. */
function slot(root: unknown, path: string): { holder: Record<string, unknown>; key: string } | undefined {
  const parts = path.split('.');
  const key = parts.pop()!;
  let holder: unknown = root;
  for (const part of parts) holder = typeof holder === 'object' && holder !== null ? (holder as Record<string, unknown>)[part] : undefined;
  return typeof holder === 'object' && holder !== null ? { holder: holder as Record<string, unknown>, key } : undefined;
}

/** The string at `path` in `root`, if any. */
function stringAt(root: unknown, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const at = slot(root, path);
  const value = at?.holder[at.key];
  return typeof value === 'string' ? value : undefined;
}

/** Applies the rules above to one request of a bound caller. @throws CallerError SESSION_NOT_FOUND / SESSION_EXISTS. */
export async function enforceUserBinding(app: FastifyInstance, request: FastifyRequest): Promise<void> {
  const userId = request.principal?.userId;
  if (userId === undefined) return;
  const binding = request.routeOptions.config?.binding ?? DEFAULT_BINDING;

  for (const [root, path] of [[request.body, binding.userBody], [request.query, binding.userQuery]] as const) {
    const at = path === undefined ? undefined : slot(root, path);
    if (at) at.holder[at.key] = userId;
  }
  const created = stringAt(request.body, binding.newSessionBody);
  if (created !== undefined) {
    const owner = await ownerOf(app, created);
    if (owner !== null && owner !== userId) throw new CallerError('SESSION_EXISTS', `session ${created} already exists`);
  }
  const either = stringAt(request.body, binding.sessionOrNewBody);
  if (either !== undefined && SessionId.safeParse(either).success) {
    const owner = await ownerOf(app, either);
    if (owner !== null && owner !== userId) throw new CallerError('SESSION_NOT_FOUND', `session ${either} not found`);
  }
  const existing = [stringAt(request.params, binding.sessionParam ?? DEFAULT_BINDING.sessionParam), stringAt(request.body, binding.sessionBody)];
  for (const sessionId of existing) {
    if (sessionId !== undefined && (await ownerOf(app, sessionId)) !== userId) {
      throw new CallerError('SESSION_NOT_FOUND', `session ${sessionId} not found`);
    }
  }
}
