/**
 * The session archive: the durable record of every session, turn and event.
 *
 * Temporal keeps a closed workflow only for the namespace's retention period, and a running session's queries show
 * only its current run (sessions continue-as-new), so the archive is what outlives both. The engine never depends on
 * a backend (after langgraphjs `libs/checkpoint*`): this module holds the row schemas and the {@link ArchiveStore}
 * interface; `archive/memory-store.ts` (in-process: offline API tests, `stepwise chat`) and `archive/pg-store.ts` (PostgreSQL)
 * implement it, and one conformance suite (`test/archive/conformance.ts`) runs against both.
 *
 * Writes are idempotent (an activity may run twice): recording the same turn again leaves one turn row and no
 * duplicate events, and the session row only moves forward (turn count, step, `updatedAt` never go back; an
 * ended or failed session never becomes active again).
 */
import { z } from 'zod';
import { CallerError } from '../errors.js';
import { SessionEvent, TurnResult } from '../engine/types.js';
import { SessionId, SessionInfoPatch, SessionMetadata as SessionInfoMetadata, SessionName, SessionUserId } from '../session/contract.js';

/** Version of archived rows; stored in every session row (`schema_version`). */
export const ARCHIVE_SCHEMA_VERSION = 1;

/** Sessions per `listSessions` page: default and largest accepted. */
export const DEFAULT_SESSIONS_LIMIT = 20;
export const MAX_SESSIONS_LIMIT = 100;
/** Turns per `getTurns` page: default and largest accepted. */
export const DEFAULT_TURNS_LIMIT = 20;
export const MAX_TURNS_LIMIT = 100;
/** Events per `getEvents` page: default and largest accepted. */
export const DEFAULT_EVENTS_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 1_000;

/**
 * ISO-8601 timestamp with a zone (`2025-01-01T10:00:00.000Z`, `...+02:00`). Normalised to UTC with millisecond
 * precision (what both backends store and return), so the same instant always compares and pages the same way.
 */
export const ArchiveTimestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

/** Status of an archived session: `failed` means its workflow failed for good (not a failed turn). */
export const ARCHIVE_SESSION_STATUSES = ['active', 'ended', 'failed'] as const;
export const ArchiveSessionStatus = z.enum(ARCHIVE_SESSION_STATUSES);
export type ArchiveSessionStatus = z.infer<typeof ArchiveSessionStatus>;

/** Status of an archived turn: `failed` when the turn ended with a fallback reply after errors. */
export const TURN_STATUSES = ['completed', 'failed'] as const;
export const TurnStatus = z.enum(TURN_STATUSES);
export type TurnStatus = z.infer<typeof TurnStatus>;

/** JSON object of free-form session metadata (e.g. the API caller's labels). */
export const SessionMetadata = z.record(z.string(), z.unknown());
export type SessionMetadata = z.infer<typeof SessionMetadata>;

// ---------------------------------------------------------------------------------------------------------------
// Rows (what reads return)
// ---------------------------------------------------------------------------------------------------------------

/** One session row (`stepwise_sessions`). `stepId` is absent until the first turn is archived. */
export const ArchivedSession = z.object({
  schemaVersion: z.literal(ARCHIVE_SCHEMA_VERSION),
  sessionId: z.string(),
  agentName: z.string(),
  configHash: z.string(),
  status: ArchiveSessionStatus,
  stepId: z.string().optional(),
  flowId: z.string().optional(),
  /** Highest turn number archived (turns are numbered from 1). */
  turnCount: z.number().int().min(0),
  /** Highest event `seq` archived; absent while no event is. */
  lastSeq: z.number().int().optional(),
  createdAt: z.string(),
  /** Latest `finishedAt`/`at` of anything archived for the session: the listing order. */
  updatedAt: z.string(),
  endedAt: z.string().optional(),
  /** Why it ended: `end_action`, `idle_timeout`, `end_session`, or the failure reason. */
  endReason: z.string().optional(),
  /** The caller's user id given at start (`POST /sessions` `userId`). */
  userId: z.string().optional(),
  /** Display name (set at start, changed by `PATCH /sessions/:id`). */
  name: z.string().optional(),
  metadata: SessionMetadata,
  /** A fork's parent session and the parent's turn it was forked after (docs/time-travel.md). */
  parentSessionId: z.string().optional(),
  forkedAtTurn: z.number().int().optional(),
});
export type ArchivedSession = z.infer<typeof ArchivedSession>;

/** One turn row (`stepwise_turns`) with its events: the {@link TurnResult} plus where and when it ran. */
export const ArchivedTurn = TurnResult.extend({
  sessionId: z.string(),
  /** Workflow run (1 = before any continue-as-new) that produced the turn. */
  run: z.number().int().min(1),
  status: TurnStatus,
  startedAt: z.string(),
  finishedAt: z.string(),
});
export type ArchivedTurn = z.infer<typeof ArchivedTurn>;

// ---------------------------------------------------------------------------------------------------------------
// Write inputs (the `archive` activity's payloads)
// ---------------------------------------------------------------------------------------------------------------

/** `recordSessionStart` input. */
export const SessionStartRecord = z.object({
  sessionId: SessionId,
  agentName: z.string().min(1),
  configHash: z.string(),
  createdAt: ArchiveTimestamp,
  userId: SessionUserId.optional(),
  name: SessionName.optional(),
  metadata: SessionInfoMetadata.optional(),
  parentSessionId: SessionId.optional(),
  forkedAtTurn: z.number().int().min(0).optional(),
  /** Starting state, exact JSON text: the snapshot of its turn (`counters.turns`), for time travel. */
  state: z.string().optional(),
});
export type SessionStartRecord = z.input<typeof SessionStartRecord>;

/** `updateSessionInfo` input: the fields given replace the archived ones (`metadata` as a whole). */
export const SessionInfoRecord = SessionInfoPatch.extend({ sessionId: SessionId });
export type SessionInfoRecord = z.input<typeof SessionInfoRecord>;

/**
 * `recordTurn` input: one finished turn. `agentName`/`configHash` create the session row if it is missing.
 * `status` defaults to {@link turnStatusOf} the turn (`failed` if it ended in a fallback reply).
 */
export const TurnRecord = z
  .object({
    sessionId: SessionId,
    agentName: z.string().min(1),
    configHash: z.string(),
    turn: TurnResult.extend({ turn: z.number().int().min(1) }),
    run: z.number().int().min(1),
    startedAt: ArchiveTimestamp,
    finishedAt: ArchiveTimestamp,
    status: TurnStatus.optional(),
    /** Workflow run id: another run writing the same turn (a Temporal reset) supersedes the later turns. */
    runId: z.string().min(1).optional(),
    /** State after the turn, exact JSON text (time travel's snapshot). */
    state: z.string().optional(),
  })
  .refine((r) => r.finishedAt >= r.startedAt, { message: 'finishedAt must not be before startedAt', path: ['finishedAt'] })
  .transform((r) => ({ ...r, status: r.status ?? turnStatusOf(r.turn) }));
export type TurnRecord = z.input<typeof TurnRecord>;

/**
 * `recordSessionEnd` input. `events` are the session's last events (e.g. `session_ended` on idle timeout).
 * With `agentName` and `configHash` a session the archive has not seen is created (ended); without, it is an error.
 */
export const SessionEndRecord = z.object({
  sessionId: SessionId,
  status: z.enum(['ended', 'failed']),
  reason: z.string().min(1).max(1_000),
  at: ArchiveTimestamp,
  events: z.array(SessionEvent).optional(),
  agentName: z.string().min(1).optional(),
  configHash: z.string().optional(),
});
export type SessionEndRecord = z.input<typeof SessionEndRecord>;

// ---------------------------------------------------------------------------------------------------------------
// Read queries and pages
// ---------------------------------------------------------------------------------------------------------------

/** `listSessions` query: newest `updatedAt` first; `cursor` is a previous page's `nextCursor`. */
export const ListSessionsQuery = z.object({
  /** Agent name filter. */
  agentId: z.string().min(1).optional(),
  /** User id filter (exact). */
  userId: z.string().min(1).optional(),
  status: ArchiveSessionStatus.optional(),
  limit: z.number().int().min(1).max(MAX_SESSIONS_LIMIT).default(DEFAULT_SESSIONS_LIMIT),
  cursor: z.string().min(1).optional(),
});
export type ListSessionsQuery = z.input<typeof ListSessionsQuery>;

export const SessionsPage = z.object({ sessions: z.array(ArchivedSession), nextCursor: z.string().optional() });
export type SessionsPage = z.infer<typeof SessionsPage>;

/** `getTurns` query: turns with number `> afterTurn` (default 0), ascending. */
export const TurnsQuery = z.object({
  afterTurn: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(MAX_TURNS_LIMIT).default(DEFAULT_TURNS_LIMIT),
});
export type TurnsQuery = z.input<typeof TurnsQuery>;

/** `nextAfterTurn` is set when more turns may follow: pass it as the next `afterTurn`. */
export const TurnsPage = z.object({ turns: z.array(ArchivedTurn), nextAfterTurn: z.number().int().optional() });
export type TurnsPage = z.infer<typeof TurnsPage>;

/** `getEvents` query: events with `seq > afterSeq` (default -1: from the first), ascending. */
export const EventsQuery = z.object({
  afterSeq: z.number().int().min(-1).default(-1),
  limit: z.number().int().min(1).max(MAX_EVENTS_LIMIT).default(DEFAULT_EVENTS_LIMIT),
});
export type EventsQuery = z.input<typeof EventsQuery>;

/** `nextAfterSeq` is set when more events may follow: pass it as the next `afterSeq`. */
export const ArchivedEventsPage = z.object({ events: z.array(SessionEvent), nextAfterSeq: z.number().int().optional() });
export type ArchivedEventsPage = z.infer<typeof ArchivedEventsPage>;

// ---------------------------------------------------------------------------------------------------------------
// The interface
// ---------------------------------------------------------------------------------------------------------------

/**
 * Storage of archived sessions. Every method validates its input with the schemas above and throws
 * `CallerError('INVALID_REQUEST')` (not retryable) on bad input or a malformed cursor. Backends add their own
 * failures: PostgreSQL throws `SystemError('ARCHIVE_UNAVAILABLE')` (retryable) when the database cannot be reached.
 */
export interface ArchiveStore {
  /**
   * Creates the session row, or leaves it (idempotent; `createdAt` keeps the earliest, metadata merges, `userId` and
   * `name` fill in only where unset).
   */
  recordSessionStart(input: SessionStartRecord): Promise<void>;
  /**
   * Archives one turn and its events, and moves the session row forward (status `ended` if `turn.ended`, step,
   * flow, turn count, `updatedAt`). Idempotent: unique (session, turn) and (session, seq), first write wins.
   */
  recordTurn(input: TurnRecord): Promise<void>;
  /**
   * Marks the session ended or failed (first end wins; an ended session is never marked failed) and archives
   * `events`. A session not yet archived is created when `agentName` and `configHash` are given.
   * @throws CallerError `SESSION_NOT_FOUND` if the session was never recorded and they are not (not retryable).
   */
  recordSessionEnd(input: SessionEndRecord): Promise<void>;
  /**
   * Replaces the session's `name` and/or `metadata` with those given (idempotent; `updatedAt` unchanged).
   * @throws CallerError `SESSION_NOT_FOUND` if the session was never recorded (not retryable).
   */
  updateSessionInfo(input: SessionInfoRecord): Promise<void>;
  /** The session row, or `null` if the archive has never seen it. */
  getSession(sessionId: string): Promise<ArchivedSession | null>;
  /** Sessions ordered by (`updatedAt` DESC, `sessionId` DESC), keyset-paginated with an opaque cursor. */
  listSessions(query?: ListSessionsQuery): Promise<SessionsPage>;
  /** Turns (with their events) in ascending turn order; empty for an unknown session. */
  getTurns(sessionId: string, query?: TurnsQuery): Promise<TurnsPage>;
  /** Events in ascending `seq`; empty for an unknown session. */
  getEvents(sessionId: string, query?: EventsQuery): Promise<ArchivedEventsPage>;
  /** Releases connections (idempotent). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by the backends
// ---------------------------------------------------------------------------------------------------------------

/** Parses `input` with `schema`, throwing `CallerError('INVALID_REQUEST')` with the zod issues as details. */
export function parseArchiveInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new CallerError('INVALID_REQUEST', `invalid ${what}: ${z.prettifyError(parsed.error)}`, {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return parsed.data;
}

/** Position after the last session of a page. */
export interface SessionCursor {
  updatedAt: string;
  sessionId: string;
}

/** Encodes a listing position as base64url JSON (opaque to callers). */
export function encodeSessionCursor(cursor: SessionCursor): string {
  return Buffer.from(JSON.stringify({ u: cursor.updatedAt, s: cursor.sessionId }), 'utf8').toString('base64url');
}

/** Decodes {@link encodeSessionCursor}'s output. @throws CallerError `INVALID_REQUEST` if it is not one. */
export function decodeSessionCursor(cursor: string): SessionCursor {
  const shape = z.object({ u: ArchiveTimestamp, s: z.string().min(1) });
  try {
    const parsed = shape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return { updatedAt: parsed.data.u, sessionId: parsed.data.s };
  } catch {
    // not JSON: fall through
  }
  throw new CallerError('INVALID_REQUEST', 'invalid cursor: pass the nextCursor of a previous page unchanged');
}

/** A turn's status: `failed` if it has a `turn_failed` event or its reply is the fallback, else `completed`. */
export function turnStatusOf(turn: TurnResult): TurnStatus {
  const failed = turn.events.some((e) => e.type === 'turn_failed' || (e.type === 'reply' && e.fallback));
  return failed ? 'failed' : 'completed';
}

/** Session status after a turn: `ended` if the turn ended the session. */
export function statusAfterTurn(turn: TurnResult): ArchiveSessionStatus {
  return turn.ended ? 'ended' : 'active';
}

/** End reason of a turn that ended the session: its `session_ended` event's reason, else `end_action`. */
export function endReasonOfTurn(turn: TurnResult): string | undefined {
  if (!turn.ended) return undefined;
  const ended = turn.events.find((e) => e.type === 'session_ended');
  return ended?.type === 'session_ended' ? ended.reason : 'end_action';
}
