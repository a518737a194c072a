/**
 * PostgreSQL {@link ArchiveStore} on a `pg.Pool`. Tables come from `migrations/` (run {@link migrateArchive} first);
 * events and answers are JSONB, timestamps `timestamptz`, and every write runs in one transaction that first upserts
 * the session row, so concurrent writes to one session queue on that row lock instead of deadlocking.
 */
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { SessionEvent } from '../src/engine/types.js';
import { CallerError, isStepwiseError, StepwiseError, SystemError } from '../src/errors.js';
import {
  ArchivedSession,
  type ArchivedEventsPage,
  type ArchivedTurn,
  type ArchiveStore,
  decodeSessionCursor,
  encodeSessionCursor,
  endReasonOfTurn,
  EventsQuery,
  ListSessionsQuery,
  parseArchiveInput,
  SessionEndRecord,
  SessionInfoRecord,
  SessionStartRecord,
  type SessionsPage,
  statusAfterTurn,
  TurnRecord,
  TurnsQuery,
  type TurnsPage,
  ARCHIVE_SCHEMA_VERSION,
} from '../src/archive/store.js';
import { insertFile, selectFile } from './pg-files.js';
import { inTransaction } from './pg-transaction.js';
import type { FileArchive, FileRecord, StoredFile, StoredFileInfo } from '../src/archive/files.js';
import { copyInheritedTurns, insertTurnState, selectBranches, selectBranchTurns, selectTurns, selectTurnState, supersede, supersedeIfReset } from './pg-time-travel.js';
import {
  type ArchivedBranch,
  BranchTurnsQuery,
  type BranchTurnsPage,
  SupersedeRecord,
  type TimeTravelArchive,
  type TurnStateRecord,
} from '../src/archive/time-travel.js';

/** Pool settings for {@link createPgArchive}. */
export interface PgArchiveOptions {
  /** Most connections held at once. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection before failing with `ARCHIVE_UNAVAILABLE`, in ms. Default 5,000. */
  connectionTimeoutMs?: number;
  /** Server-side limit of one statement, in ms. Default 30,000. */
  statementTimeoutMs?: number;
  /** Called with errors of idle pooled connections (e.g. a server restart); they are otherwise dropped. */
  onIdleError?: (err: Error) => void;
}

/**
 * Opens a pool on `databaseUrl` (a `postgres://` URL, e.g. `DATABASE_URL`) and returns a store that owns it
 * (`close()` ends the pool). Connects lazily: a wrong URL shows on the first call, as `ARCHIVE_UNAVAILABLE`.
 */
export function createPgArchive(databaseUrl: string, options: PgArchiveOptions = {}): PgArchiveStore {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    application_name: 'stepwise-archive',
  });
  // Without a listener, an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return new PgArchiveStore(pool, { ownsPool: true });
}

const SESSION_COLUMNS = `session_id, schema_version, agent_name, config_hash, status, step_id, flow_id, turn_count,
  last_seq, created_at, updated_at, ended_at, end_reason, user_id, name, metadata, parent_session_id, forked_at_turn`;

/** The PostgreSQL archive. Errors: see {@link toArchiveError}. */
export class PgArchiveStore implements ArchiveStore, TimeTravelArchive, FileArchive {
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  #closed = false;

  /** Uses `pool`; with `ownsPool` (as from {@link createPgArchive}) `close()` ends it. */
  constructor(pool: Pool, options: { ownsPool?: boolean } = {}) {
    this.#pool = pool;
    this.#ownsPool = options.ownsPool ?? false;
  }

  async recordSessionStart(input: SessionStartRecord): Promise<void> {
    const r = parseArchiveInput(SessionStartRecord, input, 'session start');
    await this.#transaction(async (c) => {
      await c.query(
        `INSERT INTO stepwise_sessions AS s (session_id, schema_version, agent_name, config_hash, status, turn_count,
           created_at, updated_at, metadata, user_id, name, parent_session_id, forked_at_turn)
         VALUES ($1, $2, $3, $4, 'active', $9, $5, $5, $6::jsonb, $7, $8, $10, $9)
         ON CONFLICT (session_id) DO UPDATE SET
           created_at = LEAST(s.created_at, EXCLUDED.created_at),
           metadata = s.metadata || EXCLUDED.metadata,
           user_id = COALESCE(s.user_id, EXCLUDED.user_id),
           name = COALESCE(s.name, EXCLUDED.name)`,
        [
          r.sessionId, ARCHIVE_SCHEMA_VERSION, r.agentName, r.configHash, r.createdAt, JSON.stringify(r.metadata ?? {}),
          r.userId ?? null, r.name ?? null, r.forkedAtTurn ?? 0, r.parentSessionId ?? null,
        ],
      );
      if (r.parentSessionId !== undefined) await copyInheritedTurns(c, r.sessionId, r.parentSessionId, r.forkedAtTurn ?? 0);
      if (r.state !== undefined) {
        const turn = (JSON.parse(r.state) as { counters?: { turns?: unknown } }).counters?.turns;
        if (typeof turn === 'number') await insertTurnState(c, r.sessionId, turn, r.state);
      }
    });
  }

  async recordTurn(input: TurnRecord): Promise<void> {
    const r = parseArchiveInput(TurnRecord, input, 'turn record');
    const { turn } = r;
    const seqs = turn.events.map((e) => e.seq);
    const lastSeq = seqs.length > 0 ? Math.max(...seqs) : null;
    const ended = turn.ended ? r.finishedAt : null;
    await this.#transaction(async (c) => {
      // Another run wrote this turn (a Temporal reset): the later turns become a branch first (lock the row first).
      if (r.runId !== undefined) {
        await c.query('SELECT 1 FROM stepwise_sessions WHERE session_id = $1 FOR UPDATE', [r.sessionId]);
        await supersedeIfReset(c, r.sessionId, turn.turn, r.runId, r.startedAt);
      }
      // Session row first: it moves only forward, and its row lock serialises writers of this session.
      await c.query(
        `INSERT INTO stepwise_sessions AS s (session_id, schema_version, agent_name, config_hash, status, step_id,
           flow_id, turn_count, last_seq, created_at, updated_at, ended_at, end_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (session_id) DO UPDATE SET
           status = CASE WHEN s.status = 'active' THEN EXCLUDED.status ELSE s.status END,
           step_id = CASE WHEN EXCLUDED.turn_count >= s.turn_count THEN EXCLUDED.step_id ELSE s.step_id END,
           flow_id = CASE WHEN EXCLUDED.turn_count >= s.turn_count THEN EXCLUDED.flow_id ELSE s.flow_id END,
           turn_count = GREATEST(s.turn_count, EXCLUDED.turn_count),
           last_seq = GREATEST(s.last_seq, EXCLUDED.last_seq),
           updated_at = GREATEST(s.updated_at, EXCLUDED.updated_at),
           ended_at = COALESCE(s.ended_at, EXCLUDED.ended_at),
           end_reason = CASE WHEN s.ended_at IS NULL THEN EXCLUDED.end_reason ELSE s.end_reason END`,
        [
          r.sessionId, ARCHIVE_SCHEMA_VERSION, r.agentName, r.configHash, statusAfterTurn(turn), turn.stepId,
          turn.flowId ?? null, turn.turn, lastSeq, r.startedAt, r.finishedAt, ended, endReasonOfTurn(turn) ?? null,
        ],
      );
      await c.query(
        `INSERT INTO stepwise_turns (session_id, turn, run, message_id, status, reply, answer, step_id, flow_id, ended,
           event_seqs, started_at, finished_at, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11::integer[], $12, $13, $14)
         ON CONFLICT (session_id, turn) DO NOTHING`,
        [
          r.sessionId, turn.turn, r.run, turn.messageId, r.status, turn.reply,
          turn.answer === undefined ? null : JSON.stringify(turn.answer), turn.stepId, turn.flowId ?? null,
          turn.ended, seqs, r.startedAt, r.finishedAt, r.runId ?? null,
        ],
      );
      if (r.state !== undefined) await insertTurnState(c, r.sessionId, turn.turn, r.state);
      await insertEvents(c, r.sessionId, turn.events);
    });
  }

  async recordSessionEnd(input: SessionEndRecord): Promise<void> {
    const r = parseArchiveInput(SessionEndRecord, input, 'session end');
    const events = r.events ?? [];
    const lastSeq = events.length > 0 ? Math.max(...events.map((e) => e.seq)) : null;
    await this.#transaction(async (c) => {
      if (r.agentName !== undefined && r.configHash !== undefined) {
        await c.query(
          `INSERT INTO stepwise_sessions (session_id, schema_version, agent_name, config_hash, status, turn_count, created_at,
             updated_at)
           VALUES ($1, $2, $3, $4, 'active', 0, $5, $5)
           ON CONFLICT (session_id) DO NOTHING`,
          [r.sessionId, ARCHIVE_SCHEMA_VERSION, r.agentName, r.configHash, r.at],
        );
      }
      // SET expressions all read the old row, so end_reason sees the old ended_at.
      const res = await c.query(
        `UPDATE stepwise_sessions SET
           status = CASE WHEN status = 'active' THEN $2 ELSE status END,
           end_reason = CASE WHEN ended_at IS NULL THEN $3 ELSE end_reason END,
           ended_at = COALESCE(ended_at, $4),
           updated_at = GREATEST(updated_at, $4),
           last_seq = GREATEST(last_seq, $5)
         WHERE session_id = $1`,
        [r.sessionId, r.status, r.reason, r.at, lastSeq],
      );
      if (res.rowCount === 0) throw new CallerError('SESSION_NOT_FOUND', `session ${r.sessionId} is not in the archive`);
      await insertEvents(c, r.sessionId, events);
    });
  }

  async updateSessionInfo(input: SessionInfoRecord): Promise<void> {
    const r = parseArchiveInput(SessionInfoRecord, input, 'session info');
    const res = await this.#query(
      `UPDATE stepwise_sessions SET
         name = CASE WHEN $2::boolean THEN $3 ELSE name END,
         metadata = COALESCE($4::jsonb, metadata)
       WHERE session_id = $1`,
      [r.sessionId, r.name !== undefined, r.name ?? null, r.metadata === undefined ? null : JSON.stringify(r.metadata)],
    );
    if (res.rowCount === 0) throw new CallerError('SESSION_NOT_FOUND', `session ${r.sessionId} is not in the archive`);
  }

  async getSession(sessionId: string): Promise<ArchivedSession | null> {
    const res = await this.#query(`SELECT ${SESSION_COLUMNS} FROM stepwise_sessions WHERE session_id = $1`, [sessionId]);
    return res.rows[0] ? sessionFromRow(res.rows[0]) : null;
  }

  async listSessions(query: ListSessionsQuery = {}): Promise<SessionsPage> {
    const q = parseArchiveInput(ListSessionsQuery, query, 'session listing');
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown): string => `$${params.push(v)}`;
    if (q.agentId !== undefined) where.push(`agent_name = ${param(q.agentId)}`);
    if (q.userId !== undefined) where.push(`user_id = ${param(q.userId)}`);
    if (q.status !== undefined) where.push(`status = ${param(q.status)}`);
    if (q.cursor !== undefined) {
      const after = decodeSessionCursor(q.cursor);
      where.push(`(updated_at, session_id) < (${param(after.updatedAt)}::timestamptz, ${param(after.sessionId)}::text COLLATE "C")`);
    }
    const res = await this.#query(
      `SELECT ${SESSION_COLUMNS} FROM stepwise_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY updated_at DESC, session_id DESC LIMIT ${param(q.limit + 1)}`,
      params,
    );
    const sessions = res.rows.slice(0, q.limit).map(sessionFromRow);
    const last = sessions[sessions.length - 1];
    return { sessions, ...(res.rows.length > q.limit && last ? { nextCursor: encodeSessionCursor(last) } : {}) };
  }

  async getTurns(sessionId: string, query: TurnsQuery = {}): Promise<TurnsPage> {
    const q = parseArchiveInput(TurnsQuery, query, 'turns query');
    let rows: ArchivedTurn[];
    try {
      rows = await selectTurns(this.#pool, sessionId, q.afterTurn, q.limit + 1);
    } catch (err) {
      throw toArchiveError(err);
    }
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { turns: page, ...(rows.length > q.limit && last ? { nextAfterTurn: last.turn } : {}) };
  }

  async getTurnState(sessionId: string, turn: number): Promise<TurnStateRecord | null> {
    try {
      return await selectTurnState(this.#pool, sessionId, turn);
    } catch (err) {
      throw toArchiveError(err);
    }
  }

  async supersedeTurns(input: SupersedeRecord): Promise<void> {
    const r = parseArchiveInput(SupersedeRecord, input, 'supersede record');
    await this.#transaction(async (c) => {
      const locked = await c.query('SELECT 1 FROM stepwise_sessions WHERE session_id = $1 FOR UPDATE', [r.sessionId]);
      if (locked.rowCount === 0) throw new CallerError('SESSION_NOT_FOUND', `session ${r.sessionId} is not in the archive`);
      await supersede(c, r);
    });
  }

  async listBranches(sessionId: string): Promise<ArchivedBranch[]> {
    try {
      return await selectBranches(this.#pool, sessionId);
    } catch (err) {
      throw toArchiveError(err);
    }
  }

  async getBranchTurns(sessionId: string, branch: string, query: BranchTurnsQuery = {}): Promise<BranchTurnsPage> {
    const q = parseArchiveInput(BranchTurnsQuery, query, 'branch turns query');
    let page: { turns: ArchivedTurn[]; more: boolean };
    try {
      page = await selectBranchTurns(this.#pool, sessionId, branch, q.afterTurn, q.limit);
    } catch (err) {
      throw toArchiveError(err);
    }
    const last = page.turns[page.turns.length - 1];
    return { turns: page.turns, ...(page.more && last ? { nextAfterTurn: last.turn } : {}) };
  }

  async getEvents(sessionId: string, query: EventsQuery = {}): Promise<ArchivedEventsPage> {
    const q = parseArchiveInput(EventsQuery, query, 'events query');
    const res = await this.#query(
      'SELECT event FROM stepwise_events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [sessionId, q.afterSeq, q.limit + 1],
    );
    const events = res.rows.slice(0, q.limit).map((row) => SessionEvent.parse(row.event));
    const last = events[events.length - 1];
    return { events, ...(res.rows.length > q.limit && last ? { nextAfterSeq: last.seq } : {}) };
  }

  /** Files of sessions (`./pg-files.ts`); errors as {@link FileArchive}. */
  putFile = (record: FileRecord): Promise<StoredFileInfo> => this.#mapped(() => insertFile(this.#pool, record));
  getFile = (sessionId: string, fileId: string): Promise<StoredFile | null> => this.#mapped(() => selectFile(this.#pool, sessionId, fileId));

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.#pool.end();
  }

  async #query(text: string, params: unknown[]): Promise<pg.QueryResult> {
    return this.#mapped(() => this.#pool.query(text, params));
  }

  /** Runs `fn`, mapping its errors with {@link toArchiveError}. */
  async #mapped<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toArchiveError(err);
    }
  }

  /** Runs `fn` in one transaction (./pg-transaction.ts); rolls back and rethrows, mapped, on any error. */
  #transaction(fn: (client: PoolClient) => Promise<void>): Promise<void> {
    return this.#mapped(() => inTransaction(this.#pool, fn));
  }
}

/** Inserts events not yet archived (unique (session_id, seq): first write wins). */
async function insertEvents(c: PoolClient, sessionId: string, events: SessionEvent[]): Promise<void> {
  if (events.length === 0) return;
  await c.query(
    `INSERT INTO stepwise_events (session_id, seq, turn, type, event)
     SELECT $1, (e->>'seq')::integer, (e->>'turn')::integer, e->>'type', e FROM jsonb_array_elements($2::jsonb) AS e
     ON CONFLICT (session_id, seq) DO NOTHING`,
    [sessionId, JSON.stringify(events)],
  );
}

/** Row -> {@link ArchivedSession}: version check, then schema parse. */
function sessionFromRow(row: Record<string, unknown>): ArchivedSession {
  if (row.schema_version !== ARCHIVE_SCHEMA_VERSION) {
    throw new SystemError('INTERNAL', `archived session ${String(row.session_id)} has schema version ${String(row.schema_version)}; this build reads ${ARCHIVE_SCHEMA_VERSION}`);
  }
  const iso = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : undefined);
  const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return ArchivedSession.parse({
    schemaVersion: row.schema_version,
    sessionId: row.session_id,
    agentName: row.agent_name,
    configHash: row.config_hash,
    status: row.status,
    stepId: opt(row.step_id),
    flowId: opt(row.flow_id),
    turnCount: row.turn_count,
    lastSeq: opt(row.last_seq),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    endedAt: iso(row.ended_at),
    endReason: opt(row.end_reason),
    userId: opt(row.user_id),
    name: opt(row.name),
    metadata: row.metadata,
    parentSessionId: opt(row.parent_session_id),
    forkedAtTurn: row.parent_session_id === null ? undefined : opt(row.forked_at_turn),
  });
}

/** SQLSTATE classes/codes that mean "try again later": connection (08), resources (53), shutdown (57P), conflicts. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01)/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * Maps a driver error: a `StepwiseError` passes through; an unreachable, restarting or overloaded database becomes
 * `SystemError('ARCHIVE_UNAVAILABLE')` (retryable); anything else `SystemError('INTERNAL')` (a bug: not retryable).
 * Messages carry the driver's text and SQLSTATE, never the connection URL.
 */
export function toArchiveError(err: unknown): StepwiseError {
  if (isStepwiseError(err)) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const unavailable =
    (code !== undefined && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
  return unavailable
    ? new SystemError('ARCHIVE_UNAVAILABLE', `archive database unavailable: ${message}`, { code })
    : new SystemError('INTERNAL', `archive query failed: ${message}`, { code });
}
