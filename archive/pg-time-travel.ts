/**
 * PostgreSQL side of time travel (`./time-travel.ts`, tables in `migrations/1765500000000_time-travel.sql`): the
 * statements `PgArchiveStore` runs for snapshots, supersession (rewind and Temporal reset) and branch reads. Each
 * function takes a client already inside the caller's transaction (or the pool, for reads).
 */
import type { ClientBase, Pool } from 'pg';
import { SessionEvent } from '../src/engine/types.js';
import { ArchivedTurn } from '../src/archive/store.js';
import { type ArchivedBranch, MAX_ANSWERED_IDS, type TurnStateRecord } from '../src/archive/time-travel.js';

/** Something that runs a query: a pooled client in a transaction, or the pool. */
export type Queryable = Pick<ClientBase, 'query'> | Pool;

/** Turns of the live branch with number `> afterTurn`, ascending, at most `limit` (with their events). */
export async function selectTurns(c: Queryable, sessionId: string, afterTurn: number, limit: number): Promise<ArchivedTurn[]> {
  const turns = await c.query(
    `SELECT session_id, turn, run, message_id, status, reply, answer, answer IS NULL AS answer_absent, step_id,
       flow_id, ended, event_seqs, started_at, finished_at
     FROM stepwise_turns WHERE session_id = $1 AND turn > $2 ORDER BY turn LIMIT $3`,
    [sessionId, afterTurn, limit],
  );
  const seqs = turns.rows.flatMap((t) => t.event_seqs as number[]);
  const events = new Map<number, SessionEvent>();
  if (seqs.length > 0) {
    const res = await c.query('SELECT event FROM stepwise_events WHERE session_id = $1 AND seq = ANY($2::integer[])', [sessionId, seqs]);
    for (const row of res.rows) {
      const e = SessionEvent.parse(row.event);
      events.set(e.seq, e);
    }
  }
  return turns.rows.map(
    (t): ArchivedTurn => ({
      sessionId: t.session_id,
      turn: t.turn,
      run: t.run,
      messageId: t.message_id,
      status: t.status,
      reply: t.reply,
      ...(t.answer_absent ? {} : { answer: t.answer }),
      stepId: t.step_id,
      ...(t.flow_id === null ? {} : { flowId: t.flow_id }),
      ended: t.ended,
      events: (t.event_seqs as number[]).flatMap((seq) => events.get(seq) ?? []),
      startedAt: (t.started_at as Date).toISOString(),
      finishedAt: (t.finished_at as Date).toISOString(),
    }),
  );
}

/** Stores a snapshot (first write wins: a retried write, or a rewind's write of its target, changes nothing). */
export async function insertTurnState(c: Queryable, sessionId: string, turn: number, state: string): Promise<void> {
  await c.query('INSERT INTO stepwise_turn_states (session_id, turn, state) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [sessionId, turn, state]);
}

/**
 * Before a turn is written: when the live row of that turn was written by another workflow run (a Temporal reset went
 * back before it), the turns from it on are superseded as branch `reset-<run id>` first. Rows without a run id
 * (archived before time travel) count as the same run.
 */
export async function supersedeIfReset(c: ClientBase, sessionId: string, turn: number, runId: string, at: string): Promise<void> {
  const res = await c.query('SELECT run_id FROM stepwise_turns WHERE session_id = $1 AND turn = $2', [sessionId, turn]);
  const earlier = res.rows[0]?.run_id as string | null | undefined;
  if (earlier === undefined || earlier === null || earlier === runId) return;
  await supersede(c, { sessionId, toTurn: turn - 1, branch: `reset-${runId.slice(0, 12)}`, reason: 'reset', at });
}

/** See `TimeTravelArchive.supersedeTurns`. The caller holds the session row's lock (inside its transaction). */
export async function supersede(
  c: ClientBase,
  r: { sessionId: string; toTurn: number; branch: string; reason: 'rewind' | 'reset'; at: string; event?: SessionEvent },
): Promise<void> {
  const created = await c.query(
    `INSERT INTO stepwise_branches (session_id, branch, from_turn, reason, superseded_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING`,
    [r.sessionId, r.branch, r.toTurn, r.reason, r.at],
  );
  if (created.rowCount === 0) return; // written before (a retried activity)
  const superseded = await selectTurns(c, r.sessionId, r.toTurn, 2_147_483_647);
  if (superseded.length > 0) {
    await c.query(
      `INSERT INTO stepwise_branch_turns (session_id, branch, turn, turn_row, state)
       SELECT $1, $2, (t->>'turn')::integer, t, s.state
       FROM jsonb_array_elements($3::jsonb) AS t
       LEFT JOIN stepwise_turn_states s ON s.session_id = $1 AND s.turn = (t->>'turn')::integer`,
      [r.sessionId, r.branch, JSON.stringify(superseded)],
    );
  }
  await c.query('DELETE FROM stepwise_events WHERE session_id = $1 AND turn > $2', [r.sessionId, r.toTurn]);
  await c.query('DELETE FROM stepwise_turns WHERE session_id = $1 AND turn > $2', [r.sessionId, r.toTurn]);
  await c.query('DELETE FROM stepwise_turn_states WHERE session_id = $1 AND turn > $2', [r.sessionId, r.toTurn]);
  const endedBySuperseded = superseded.some((t) => t.ended);
  await c.query(
    `UPDATE stepwise_sessions s SET
       turn_count = LEAST(s.turn_count, $2),
       step_id = COALESCE((SELECT step_id FROM stepwise_turns WHERE session_id = $1 AND turn = $2), s.step_id),
       flow_id = CASE WHEN $2 = 0 THEN s.flow_id ELSE (SELECT flow_id FROM stepwise_turns WHERE session_id = $1 AND turn = $2) END,
       forked_at_turn = LEAST(s.forked_at_turn, $2),
       updated_at = GREATEST(s.updated_at, $3),
       status = CASE WHEN $4::boolean THEN 'active' ELSE s.status END,
       ended_at = CASE WHEN $4::boolean THEN NULL ELSE s.ended_at END,
       end_reason = CASE WHEN $4::boolean THEN NULL ELSE s.end_reason END
     WHERE session_id = $1`,
    [r.sessionId, r.toTurn, r.at, endedBySuperseded],
  );
  if (r.event) {
    await c.query(
      `INSERT INTO stepwise_events (session_id, seq, turn, type, event) VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING`,
      [r.sessionId, r.event.seq, r.event.turn, r.event.type, JSON.stringify(r.event)],
    );
  }
}

/** See `TimeTravelArchive.getTurnState`. */
export async function selectTurnState(c: Queryable, sessionId: string, turn: number, depth = 0): Promise<TurnStateRecord | null> {
  const session = await c.query('SELECT parent_session_id, forked_at_turn FROM stepwise_sessions WHERE session_id = $1', [sessionId]);
  const row = session.rows[0] as { parent_session_id: string | null; forked_at_turn: number | null } | undefined;
  if (!row) return null;
  const inherited = row.parent_session_id !== null && row.forked_at_turn !== null && turn <= row.forked_at_turn;
  // A fork's own snapshot of its fork point is the parent's state under the fork's id: read the fork's own first.
  const own = await c.query('SELECT state FROM stepwise_turn_states WHERE session_id = $1 AND turn = $2', [sessionId, turn]);
  let state = own.rows[0]?.state as string | undefined;
  if (state === undefined && inherited && depth < 32) state = (await selectTurnState(c, row.parent_session_id!, turn, depth + 1))?.state;
  if (state === undefined) return null;
  return { turn, state, answered: await answeredUpTo(c, sessionId, turn, MAX_ANSWERED_IDS) };
}

/** `[messageId, turn]` of the live turns up to `turn` (a fork holds copies of its inherited ones), oldest first. */
async function answeredUpTo(c: Queryable, sessionId: string, turn: number, limit: number): Promise<Array<[string, number]>> {
  const res = await c.query('SELECT message_id, turn FROM stepwise_turns WHERE session_id = $1 AND turn <= $2 ORDER BY turn DESC LIMIT $3', [
    sessionId,
    turn,
    limit,
  ]);
  return res.rows.map((r): [string, number] => [r.message_id as string, r.turn as number]).reverse();
}

/**
 * A fork's archive start: copies the parent's live turns up to `forkedAtTurn` and their events into the fork's rows
 * (idempotent), so its transcript reads like any session's and survives the parent's later rewinds. Snapshots are not
 * copied: `selectTurnState` reads them from the parent.
 */
export async function copyInheritedTurns(c: ClientBase, sessionId: string, parentSessionId: string, forkedAtTurn: number): Promise<void> {
  await c.query(
    `INSERT INTO stepwise_turns (session_id, turn, run, message_id, status, reply, answer, step_id, flow_id, ended,
       event_seqs, started_at, finished_at, run_id)
     SELECT $1, turn, run, message_id, status, reply, answer, step_id, flow_id, ended, event_seqs, started_at, finished_at, NULL
     FROM stepwise_turns WHERE session_id = $2 AND turn <= $3
     ON CONFLICT DO NOTHING`,
    [sessionId, parentSessionId, forkedAtTurn],
  );
  await c.query(
    `INSERT INTO stepwise_events (session_id, seq, turn, type, event)
     SELECT $1, seq, turn, type, event FROM stepwise_events WHERE session_id = $2 AND turn <= $3
     ON CONFLICT DO NOTHING`,
    [sessionId, parentSessionId, forkedAtTurn],
  );
}

/** See `TimeTravelArchive.listBranches`. */
export async function selectBranches(c: Queryable, sessionId: string): Promise<ArchivedBranch[]> {
  const res = await c.query(
    `SELECT b.branch, b.from_turn, b.reason, b.superseded_at,
       (SELECT count(*) FROM stepwise_branch_turns t WHERE t.session_id = b.session_id AND t.branch = b.branch)::integer AS turns
     FROM stepwise_branches b WHERE b.session_id = $1 ORDER BY b.superseded_at, b.branch`,
    [sessionId],
  );
  return res.rows.map((r) => ({
    branch: r.branch,
    fromTurn: r.from_turn,
    turns: r.turns,
    reason: r.reason,
    supersededAt: (r.superseded_at as Date).toISOString(),
  }));
}

/** See `TimeTravelArchive.getBranchTurns`: `limit + 1` rows are read to tell whether more follow. */
export async function selectBranchTurns(c: Queryable, sessionId: string, branch: string, afterTurn: number, limit: number): Promise<{ turns: ArchivedTurn[]; more: boolean }> {
  const res = await c.query(
    'SELECT turn_row FROM stepwise_branch_turns WHERE session_id = $1 AND branch = $2 AND turn > $3 ORDER BY turn LIMIT $4',
    [sessionId, branch, afterTurn, limit + 1],
  );
  return { turns: res.rows.slice(0, limit).map((r) => ArchivedTurn.parse(r.turn_row)), more: res.rows.length > limit };
}
