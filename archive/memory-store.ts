/**
 * In-process {@link ArchiveStore}: the same semantics as the PostgreSQL store (the conformance suite checks both),
 * kept in plain objects. For offline API tests and `stepwise chat`; nothing survives the process.
 */
import type { SessionEvent } from '../src/engine/types.js';
import { CallerError } from '../src/errors.js';
import { type FileArchive, FileRecord, type StoredFile, type StoredFileInfo } from '../src/archive/files.js';
import { fileIdOf, sha256Hex } from './file-ids.js';
import {
  ARCHIVE_SCHEMA_VERSION,
  type ArchivedEventsPage,
  type ArchivedSession,
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
} from '../src/archive/store.js';

/** A turn as kept here: the row without its events, plus the seqs of its events. */
type StoredTurn = Omit<ArchivedTurn, 'events'> & { eventSeqs: number[] };

interface StoredSession {
  row: ArchivedSession;
  turns: Map<number, StoredTurn>;
  events: Map<number, SessionEvent>;
}

/** Deep copy through JSON, so callers never share objects with the store (as with a real database). */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Code-unit order, the same as PostgreSQL's `COLLATE "C"` for the ASCII session ids accepted. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The in-memory archive. Methods are async to match the interface; none ever throws `ARCHIVE_UNAVAILABLE`. */
export class InMemoryArchiveStore implements ArchiveStore, FileArchive {
  readonly #sessions = new Map<string, StoredSession>();
  /** Files by `<sessionId>\n<fileId>` (kept apart from sessions: a file may come before its session row). */
  readonly #files = new Map<string, StoredFile>();

  async recordSessionStart(input: SessionStartRecord): Promise<void> {
    const r = parseArchiveInput(SessionStartRecord, input, 'session start');
    const existing = this.#sessions.get(r.sessionId);
    if (existing) {
      const row = existing.row;
      if (r.createdAt < row.createdAt) row.createdAt = r.createdAt;
      row.metadata = { ...row.metadata, ...copy(r.metadata ?? {}) };
      row.userId ??= r.userId;
      row.name ??= r.name;
      return;
    }
    this.#sessions.set(r.sessionId, {
      row: {
        schemaVersion: ARCHIVE_SCHEMA_VERSION,
        sessionId: r.sessionId,
        agentName: r.agentName,
        configHash: r.configHash,
        status: 'active',
        turnCount: 0,
        createdAt: r.createdAt,
        updatedAt: r.createdAt,
        ...(r.userId === undefined ? {} : { userId: r.userId }),
        ...(r.name === undefined ? {} : { name: r.name }),
        metadata: copy(r.metadata ?? {}),
      },
      turns: new Map(),
      events: new Map(),
    });
  }

  async recordTurn(input: TurnRecord): Promise<void> {
    const r = parseArchiveInput(TurnRecord, input, 'turn record');
    let session = this.#sessions.get(r.sessionId);
    if (!session) {
      await this.recordSessionStart({ sessionId: r.sessionId, agentName: r.agentName, configHash: r.configHash, createdAt: r.startedAt });
      session = this.#sessions.get(r.sessionId)!;
    }
    const { turn } = r;
    const row = session.row;
    if (row.status === 'active') row.status = statusAfterTurn(turn);
    if (turn.turn >= row.turnCount) {
      row.stepId = turn.stepId;
      row.flowId = turn.flowId;
      row.turnCount = turn.turn;
    }
    if (r.finishedAt > row.updatedAt) row.updatedAt = r.finishedAt;
    if (turn.ended && row.endedAt === undefined) {
      row.endedAt = r.finishedAt;
      row.endReason = endReasonOfTurn(turn);
    }
    if (!session.turns.has(turn.turn)) {
      const { events, ...rest } = turn;
      session.turns.set(turn.turn, {
        ...copy(rest),
        sessionId: r.sessionId,
        run: r.run,
        status: r.status,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        eventSeqs: events.map((e) => e.seq),
      });
    }
    this.#addEvents(session, turn.events);
  }

  async recordSessionEnd(input: SessionEndRecord): Promise<void> {
    const r = parseArchiveInput(SessionEndRecord, input, 'session end');
    if (!this.#sessions.has(r.sessionId) && r.agentName !== undefined && r.configHash !== undefined) {
      await this.recordSessionStart({ sessionId: r.sessionId, agentName: r.agentName, configHash: r.configHash, createdAt: r.at });
    }
    const session = this.#sessions.get(r.sessionId);
    if (!session) throw new CallerError('SESSION_NOT_FOUND', `session ${r.sessionId} is not in the archive`);
    const row = session.row;
    if (row.status === 'active') row.status = r.status;
    if (row.endedAt === undefined) {
      row.endedAt = r.at;
      row.endReason = r.reason;
    }
    if (r.at > row.updatedAt) row.updatedAt = r.at;
    this.#addEvents(session, r.events ?? []);
  }

  async updateSessionInfo(input: SessionInfoRecord): Promise<void> {
    const r = parseArchiveInput(SessionInfoRecord, input, 'session info');
    const session = this.#sessions.get(r.sessionId);
    if (!session) throw new CallerError('SESSION_NOT_FOUND', `session ${r.sessionId} is not in the archive`);
    if (r.name !== undefined) session.row.name = r.name;
    if (r.metadata !== undefined) session.row.metadata = copy(r.metadata);
  }

  async getSession(sessionId: string): Promise<ArchivedSession | null> {
    const session = this.#sessions.get(sessionId);
    return session ? copy(session.row) : null;
  }

  async listSessions(query: ListSessionsQuery = {}): Promise<SessionsPage> {
    const q = parseArchiveInput(ListSessionsQuery, query, 'session listing');
    const after = q.cursor === undefined ? undefined : decodeSessionCursor(q.cursor);
    const rows = [...this.#sessions.values()]
      .map((s) => s.row)
      .filter(
        (s) =>
          (q.agentId === undefined || s.agentName === q.agentId) &&
          (q.userId === undefined || s.userId === q.userId) &&
          (q.status === undefined || s.status === q.status),
      )
      .sort((a, b) => compareText(b.updatedAt, a.updatedAt) || compareText(b.sessionId, a.sessionId))
      .filter(
        (s) =>
          after === undefined ||
          s.updatedAt < after.updatedAt ||
          (s.updatedAt === after.updatedAt && compareText(s.sessionId, after.sessionId) < 0),
      );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      sessions: copy(page),
      ...(rows.length > q.limit && last ? { nextCursor: encodeSessionCursor(last) } : {}),
    };
  }

  async getTurns(sessionId: string, query: TurnsQuery = {}): Promise<TurnsPage> {
    const q = parseArchiveInput(TurnsQuery, query, 'turns query');
    const session = this.#sessions.get(sessionId);
    if (!session) return { turns: [] };
    const all = [...session.turns.values()].filter((t) => t.turn > q.afterTurn).sort((a, b) => a.turn - b.turn);
    const page = all.slice(0, q.limit).map(({ eventSeqs, ...t }): ArchivedTurn => {
      const events = eventSeqs.flatMap((seq) => {
        const e = session.events.get(seq);
        return e ? [e] : [];
      });
      return copy({ ...t, events });
    });
    const last = page[page.length - 1];
    return { turns: page, ...(all.length > q.limit && last ? { nextAfterTurn: last.turn } : {}) };
  }

  async getEvents(sessionId: string, query: EventsQuery = {}): Promise<ArchivedEventsPage> {
    const q = parseArchiveInput(EventsQuery, query, 'events query');
    const session = this.#sessions.get(sessionId);
    if (!session) return { events: [] };
    const all = [...session.events.values()].filter((e) => e.seq > q.afterSeq).sort((a, b) => a.seq - b.seq);
    const page = copy(all.slice(0, q.limit));
    const last = page[page.length - 1];
    return { events: page, ...(all.length > q.limit && last ? { nextAfterSeq: last.seq } : {}) };
  }

  async putFile(record: FileRecord): Promise<StoredFileInfo> {
    const r = parseArchiveInput(FileRecord, record, 'file record');
    const sha256 = sha256Hex(r.bytes);
    const fileId = fileIdOf(sha256);
    const key = `${r.sessionId}\n${fileId}`;
    let file = this.#files.get(key);
    if (!file) {
      const info = { fileId, sessionId: r.sessionId, mediaType: r.mediaType, ...(r.name ? { name: r.name } : {}), size: r.bytes.byteLength, sha256 };
      file = { ...info, createdAt: new Date().toISOString(), bytes: new Uint8Array(r.bytes) };
      this.#files.set(key, file);
    }
    const { bytes: _bytes, ...info } = file;
    return info;
  }

  async getFile(sessionId: string, fileId: string): Promise<StoredFile | null> {
    const file = this.#files.get(`${sessionId}\n${fileId}`);
    return file ? { ...file, bytes: new Uint8Array(file.bytes) } : null;
  }

  async close(): Promise<void> {
    // nothing to release
  }

  /** Adds events not yet archived (first write wins) and moves `lastSeq` forward. */
  #addEvents(session: StoredSession, events: SessionEvent[]): void {
    for (const e of events) {
      if (!session.events.has(e.seq)) session.events.set(e.seq, copy(e));
      if (session.row.lastSeq === undefined || e.seq > session.row.lastSeq) session.row.lastSeq = e.seq;
    }
  }
}
