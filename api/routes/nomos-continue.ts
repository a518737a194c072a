/**
 * A NOMOS session id as a chain of durable sessions, so the session routes behave as NOMOS's do after an END and
 * after a DELETE (NOMOS keeps a session object in its store until DELETE removes it):
 *
 * - **After END (or Stepwise's idle timeout) the session goes on.** A durable session that ended takes no more
 *   messages, so the next `POST /session/{id}/message` starts a continuation session `<id>:1` (then `<id>:2`, ...),
 *   seeded from the chain's NOMOS memory and step (`./nomos-seed.ts`), owned by the same user, and answers 200 with the
 *   client's id. Later calls with `<id>` reach the newest continuation; `GET /session/{id}/history` covers the whole
 *   chain. At most {@link MAX_CONTINUATIONS} continuations, and only while `<id>:<n>` is a valid session id (≤ 128
 *   characters); beyond that the ended session answers 409 SESSION_ENDED as Stepwise's own routes do.
 * - **After DELETE later calls get 404** SESSION_NOT_FOUND: a chain whose newest session was ended by a DELETE
 *   (`session_ended` reason `end_session`, NOMOS's or Stepwise's route) is gone for the NOMOS routes. The sessions
 *   stay readable on Stepwise's own routes (`/sessions/:id`), as every Stepwise session does.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { type EndReason as EndReasonSchema, SessionId, type SessionInfo, type SessionView } from '../../workflows/shared.js';
import { CallerError, isStepwiseError } from '../../src/errors.js';
import type { TurnResult } from '../../src/engine/types.js';
import { allTurns, sessionState } from '../session-reads.js';

type EndReason = z.infer<typeof EndReasonSchema>;

/** Continuations of one NOMOS session id at most (each END then message starts one). */
export const MAX_CONTINUATIONS = 50;

/** Where a NOMOS session id stands: its chain of durable session ids (oldest first) and the newest one's state. */
export interface NomosChain {
  /** The client's id, then its continuations that exist, oldest first. */
  ids: string[];
  /** State of the newest session of the chain. */
  view: SessionView;
  /** How the newest session ended (undefined: it has not). */
  endReason?: EndReason;
  /** The id the next continuation would take, when one may still be started. */
  nextId?: string;
}

/** The id of continuation `n` (1-based) of NOMOS session `id`, or `undefined` when it would not be a valid id. */
export function continuationId(id: string, n: number): string | undefined {
  const next = `${id}:${n}`;
  return SessionId.safeParse(next).success ? next : undefined;
}

/** The owner, name and metadata of `view`'s session: the info of its continuations. */
export function continuationInfo(view: SessionView): SessionInfo {
  const { userId, name, metadata } = view;
  return { ...(userId !== undefined ? { userId } : {}), ...(name !== undefined ? { name } : {}), ...(metadata ? { metadata } : {}) };
}

/** How an ended session ended, from its last events (the `session_ended` event). */
async function endReasonOf(app: FastifyInstance, sessionId: string, view: SessionView): Promise<EndReason | undefined> {
  if (view.status !== 'ended') return undefined;
  const page = await app.backend.events(sessionId, Math.max(0, view.lastEventSeq - 8));
  let reason: EndReason | undefined;
  for (const e of page.events) if (e.type === 'session_ended') reason = e.reason;
  return reason;
}

/**
 * The chain of NOMOS session `id`. @throws CallerError SESSION_NOT_FOUND (404) for an unknown id or a deleted chain;
 * the backend's errors (TEMPORAL_UNAVAILABLE, retryable).
 */
export async function nomosChain(app: FastifyInstance, id: string): Promise<NomosChain> {
  const ids = [id];
  let view: SessionView = await app.backend.state(id);
  for (let n = 1; ; n++) {
    const endReason = await endReasonOf(app, ids[ids.length - 1]!, view);
    if (endReason === 'end_session') throw new CallerError('SESSION_NOT_FOUND', `session ${id} not found (it was deleted)`, { deleted: true });
    const nextId = n <= MAX_CONTINUATIONS ? continuationId(id, n) : undefined;
    if (endReason === undefined || nextId === undefined) return { ids, view, ...(endReason ? { endReason } : {}) };
    try {
      view = await app.backend.state(nextId);
      ids.push(nextId);
    } catch (err) {
      if (!(isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND')) throw err;
      return { ids, view, endReason, nextId };
    }
  }
}

/**
 * Every turn of the chain, oldest first: the state of `GET /session/{id}/history`. A session the backend no longer
 * has (past retention) is read from the archive like Stepwise's own history (`../session-reads.ts`).
 * @throws as {@link nomosChain}.
 */
export async function chainTurns(app: FastifyInstance, id: string): Promise<{ chain: NomosChain | null; turns: TurnResult[] }> {
  let chain: NomosChain | null = null;
  try {
    chain = await nomosChain(app, id);
  } catch (err) {
    // Gone from the backend: the archive may still have it (no continuations are started for archived sessions).
    const deleted = isStepwiseError(err) && (err.details as { deleted?: boolean } | undefined)?.deleted === true;
    if (!(isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND') || deleted) throw err;
    await sessionState(app, id);
    return { chain: null, turns: await allTurns(app, id) };
  }
  const turns = (await Promise.all(chain.ids.map((sid) => allTurns(app, sid)))).flat();
  return { chain, turns };
}
