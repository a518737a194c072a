/**
 * Routes and helpers over the session archive (`app.archive`, PostgreSQL when `DATABASE_URL` is set):
 * `GET /sessions` (the archived session listing, keyset-paginated), and the archive views that `GET /sessions/:id`
 * and `GET /sessions/:id/history` fall back to when the live workflow cannot answer (see `./sessions.ts`).
 */
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ARCHIVE_SESSION_STATUSES,
  type ArchivedSession,
  type ArchivedTurn,
  type ArchiveStore,
  DEFAULT_SESSIONS_LIMIT,
  MAX_SESSIONS_LIMIT,
  SessionsPage,
  TurnStatus,
} from '../../src/archive/store.js';
import { TurnResult } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { SessionView } from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';

/** `GET /sessions` query. `limit` 1-100 (default 20); `cursor` is a previous page's `nextCursor`, unchanged. */
export const ListSessionsQuerystring = z.object({
  /** Agent name (`GET /agents`). */
  agentId: z.string().min(1).max(200).optional(),
  /** The user id given at start (`POST /sessions` `userId`). */
  userId: z.string().min(1).max(128).optional(),
  /** `active`, `ended`, or `failed` (the workflow failed for good). */
  status: z.enum(ARCHIVE_SESSION_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SESSIONS_LIMIT).default(DEFAULT_SESSIONS_LIMIT),
  cursor: z.string().min(1).max(1_000).optional(),
});
export type ListSessionsQuerystring = z.infer<typeof ListSessionsQuerystring>;

/** Where a session view or history came from: the live workflow, or the archive. */
export const ViewSource = z.enum(['live', 'archive']);
export type ViewSource = z.infer<typeof ViewSource>;

/**
 * `GET /sessions/:sessionId` reply: the workflow's {@link SessionView} (`source: 'live'`), or, when the workflow is
 * gone or Temporal is down, the archived session mapped to the same shape (`source: 'archive'`; `queued` 0,
 * `busy` false; `status` `ended` for an archived `failed`, with `endedAt`/`endReason` telling why).
 */
export const SessionStateReply = SessionView.extend({
  source: ViewSource.optional(),
  /** Archive only: when the session ended. */
  endedAt: z.string().optional(),
  /** Archive only: why it ended (`end_action`, `idle_timeout`, `end_session`, or a failure reason). */
  endReason: z.string().optional(),
});
export type SessionStateReply = z.infer<typeof SessionStateReply>;

/** One history item: a {@link TurnResult}, plus where and when it ran when it comes from the archive. */
export const HistoryTurn = TurnResult.extend({
  /** Archive only: workflow run that produced the turn (1 = before any continue-as-new). */
  run: z.number().int().min(1).optional(),
  /** Archive only: `failed` when the turn ended in a fallback reply. */
  status: TurnStatus.optional(),
  /** Archive only: ISO-8601 start and end of the turn. */
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** A fork's turns up to its fork point: the session they were inherited from (docs/time-travel.md). */
  inheritedFrom: z.string().optional(),
});
export type HistoryTurn = z.infer<typeof HistoryTurn>;

/**
 * `GET /sessions/:sessionId/history` reply: turns with number `> afterTurn`, ascending, at most `limit`;
 * `nextAfterTurn` is set when more may follow (pass it as the next `afterTurn`). `source: 'archive'`: the complete
 * transcript (every run, also after the workflow closed; turns finished but not yet archived are appended from the
 * live workflow). `source: 'live'` (no archive): only the turns the workflow still holds (its newest 20).
 */
export const SessionHistoryReply = z.object({
  sessionId: z.string(),
  source: ViewSource,
  turns: z.array(HistoryTurn),
  nextAfterTurn: z.number().int().optional(),
});
export type SessionHistoryReply = z.infer<typeof SessionHistoryReply>;

/**
 * The archive, or a 503 for routes that cannot work without it.
 * @throws SystemError ARCHIVE_UNAVAILABLE (HTTP 503) when the API runs without `DATABASE_URL`.
 */
export function requireArchive(app: FastifyInstance): ArchiveStore {
  if (!app.archive) {
    throw new SystemError('ARCHIVE_UNAVAILABLE', 'the session archive is off: DATABASE_URL is not set on this API');
  }
  return app.archive;
}

/**
 * Maps an archived session row to the session view shape. `stepId` of a session with no archived turn is the
 * agent's start step if the agent is loaded here (else empty); `run` is the run of its last archived turn (1 if none).
 */
export function archivedSessionView(row: ArchivedSession, options: { startStepId?: string; run?: number }): SessionStateReply {
  return {
    sessionId: row.sessionId,
    agentName: row.agentName,
    configHash: row.configHash,
    status: row.status === 'active' ? 'active' : 'ended',
    stepId: row.stepId ?? options.startStepId ?? '',
    ...(row.flowId === undefined ? {} : { flowId: row.flowId }),
    turns: row.turnCount,
    queued: 0,
    busy: false,
    run: options.run ?? 1,
    lastEventSeq: row.lastSeq ?? -1,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...(row.userId === undefined ? {} : { userId: row.userId }),
    ...(row.name === undefined ? {} : { name: row.name }),
    ...(Object.keys(row.metadata).length === 0 ? {} : { metadata: row.metadata }),
    ...(row.parentSessionId === undefined ? {} : { parentSessionId: row.parentSessionId, forkedAtTurn: row.forkedAtTurn ?? 0 }),
    // The archive holds finished turns only: a paused turn's calls are known to the live session alone.
    pendingApprovals: [],
    source: 'archive',
    ...(row.endedAt === undefined ? {} : { endedAt: row.endedAt }),
    ...(row.endReason === undefined ? {} : { endReason: row.endReason }),
  };
}

/** An archived turn as a history item (drops the redundant `sessionId`). */
export function historyTurnOf(turn: ArchivedTurn): HistoryTurn {
  const { sessionId: _sessionId, ...rest } = turn;
  return rest;
}

/** A fork's history items up to its fork point, marked with the session they were inherited from. */
export function markInherited(row: ArchivedSession | null, turns: HistoryTurn[]): HistoryTurn[] {
  if (!row?.parentSessionId) return turns;
  const at = row.forkedAtTurn ?? 0;
  return turns.map((t) => (t.turn <= at ? { ...t, inheritedFrom: row.parentSessionId } : t));
}

const archiveRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/sessions',
    {
      config: { binding: { userQuery: 'userId' } },
      schema: {
        tags: ['sessions'],
        summary: 'Archived sessions, newest activity first (needs the archive: DATABASE_URL)',
        description:
          'Keyset-paginated by (updatedAt, sessionId) descending: pass `nextCursor` as `cursor` for the next page. ' +
          'Filters: `agentId` (agent name), `userId`, `status`. 503 ARCHIVE_UNAVAILABLE when the API runs without DATABASE_URL.',
        querystring: ListSessionsQuerystring,
        response: { 200: SessionsPage, ...errorReplies(503) },
      },
    },
    async (request) => {
      const archive = requireArchive(app);
      const { agentId, userId, status, limit, cursor } = request.query;
      return archive.listSessions({ agentId, userId, status, limit, cursor });
    },
  );
};

export default archiveRoutes;
