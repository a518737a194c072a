/**
 * Reading and changing sessions the way every API surface needs it (Stepwise's own routes, the NOMOS- and
 * AgentOS-compatible ones): state with its archive fallback, complete history, and name/metadata changes that reach
 * an ended session's archived row.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { TurnResult } from '../src/engine/types.js';
import { type ErrorCode, isStepwiseError } from '../src/errors.js';
import type { SessionInfoPatch } from '../workflows/shared.js';
import {
  archivedSessionView,
  type HistoryTurn,
  historyTurnOf,
  markInherited,
  type SessionHistoryReply,
  type SessionStateReply,
  type ViewSource,
} from './routes/archive.js';

/** Backend failures after which state and history are answered from the archive (when it has the session). */
const ARCHIVE_FALLBACK_CODES = new Set<ErrorCode>(['SESSION_NOT_FOUND', 'TEMPORAL_UNAVAILABLE']);

/**
 * The session's state: from the live workflow (`source: live`), or from the archive when the workflow is gone or
 * Temporal is down (`source: archive`). @throws the backend's error when the archive cannot answer either.
 */
export async function sessionState(app: FastifyInstance, sessionId: string, log?: FastifyBaseLogger): Promise<SessionStateReply> {
  try {
    return { ...(await app.backend.state(sessionId)), source: 'live' };
  } catch (err) {
    const fallback = app.archive && isStepwiseError(err) && ARCHIVE_FALLBACK_CODES.has(err.code);
    if (!fallback) throw err;
    const archived = await archivedState(app, sessionId).catch((archiveErr: unknown) => {
      log?.warn({ err: archiveErr, sessionId }, 'archive fallback failed');
      return null;
    });
    if (!archived) throw err;
    return archived;
  }
}

/**
 * Replaces the session's name and/or metadata: in the live workflow, or, for an ended session, in its archived row.
 * @throws SESSION_ENDED (no archive), SESSION_NOT_FOUND, INVALID_REQUEST, TEMPORAL_UNAVAILABLE.
 */
export async function changeSessionInfo(app: FastifyInstance, sessionId: string, patch: SessionInfoPatch): Promise<SessionStateReply> {
  try {
    return { ...(await app.backend.updateInfo(sessionId, patch)), source: 'live' };
  } catch (err) {
    // An ended session lives on in the archive: change it there (its workflow takes no more changes).
    const ended = isStepwiseError(err) && (err.code === 'SESSION_ENDED' || err.code === 'SESSION_NOT_FOUND');
    if (!ended || !app.archive || !(await app.archive.getSession(sessionId))) throw err;
    await app.archive.updateSessionInfo({ sessionId, ...patch });
    return (await archivedState(app, sessionId))!;
  }
}

/**
 * Every turn of the session still known (the archive's, else the live run's newest 20), oldest first, at most
 * `maxTurns` (default 1,000: the newest are dropped beyond it).
 */
export async function allTurns(app: FastifyInstance, sessionId: string, maxTurns = 1_000): Promise<HistoryTurn[]> {
  if (!app.archive) return (await app.backend.history(sessionId)).turns;
  const turns: HistoryTurn[] = [];
  for (let afterTurn = 0; turns.length < maxTurns; ) {
    const page = await archivedHistory(app, sessionId, afterTurn, 100);
    turns.push(...page.turns);
    if (page.nextAfterTurn === undefined) break;
    afterTurn = page.nextAfterTurn;
  }
  return turns.slice(0, maxTurns);
}

/** The archived session as a state view, or `null` if the archive has never seen it. */
export async function archivedState(app: FastifyInstance, sessionId: string): Promise<SessionStateReply | null> {
  const archive = app.archive;
  const row = archive ? await archive.getSession(sessionId) : null;
  if (!archive || !row) return null;
  const last = row.turnCount > 0 ? (await archive.getTurns(sessionId, { afterTurn: row.turnCount - 1, limit: 1 })).turns[0] : undefined;
  return archivedSessionView(row, { startStepId: app.agents.get(row.agentName)?.startStepId, run: last?.run });
}

/**
 * History from the archive. On the last page, turns the workflow finished but has not archived yet (the archive
 * write runs right after the turn's result is returned) are appended from the live workflow when it answers.
 * @throws CallerError SESSION_NOT_FOUND when neither the archive nor the backend knows the session.
 */
export async function archivedHistory(app: FastifyInstance, sessionId: string, afterTurn: number, limit: number): Promise<SessionHistoryReply> {
  const archive = app.archive!;
  const page = await archive.getTurns(sessionId, { afterTurn, limit });
  const turns: HistoryTurn[] = markInherited(page.turns.length > 0 ? await archive.getSession(sessionId) : null, page.turns.map(historyTurnOf));
  if (page.nextAfterTurn !== undefined) return { sessionId, source: 'archive', turns, nextAfterTurn: page.nextAfterTurn };
  let live: TurnResult[] = [];
  try {
    live = (await app.backend.history(sessionId)).turns;
  } catch (err) {
    if (!isStepwiseError(err) || !ARCHIVE_FALLBACK_CODES.has(err.code)) throw err;
    // The workflow cannot answer: fine if the archive knows the session, else that error stands (404 / 503).
    if (turns.length === 0 && !(await archive.getSession(sessionId))) throw err;
  }
  const archivedUpTo = turns.length > 0 ? turns[turns.length - 1]!.turn : afterTurn;
  return pageOf(sessionId, 'archive', [...turns, ...live.filter((t) => t.turn > archivedUpTo)], afterTurn, limit);
}

/** Turns numbered `> afterTurn`, ascending, at most `limit`, with `nextAfterTurn` when some were left out. */
export function pageOf(sessionId: string, source: ViewSource, all: HistoryTurn[], afterTurn: number, limit: number): SessionHistoryReply {
  const sorted = all.filter((t) => t.turn > afterTurn).sort((a, b) => a.turn - b.turn);
  const turns = sorted.slice(0, limit);
  const last = turns[turns.length - 1];
  return { sessionId, source, turns, ...(sorted.length > limit && last ? { nextAfterTurn: last.turn } : {}) };
}

