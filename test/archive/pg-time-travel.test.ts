/**
 * The PostgreSQL archive's time travel (archive/pg-time-travel.ts) on a real throwaway cluster: snapshots stored as
 * exact text, supersession by rewind (idempotent, nothing deleted) and by a Temporal reset (another run writing a
 * turn), a fork's copied rows and inherited snapshots, and the branch reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateArchive } from '../../archive/migrate.js';
import { createPgArchive, type PgArchiveStore } from '../../archive/pg-store.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeTurn, turnRecord } from './conformance.js';

let server: TestPostgres;
let store: PgArchiveStore;

beforeAll(async () => {
  server = await startTestPostgres();
  const url = await server.createDatabase();
  await migrateArchive(url);
  store = createPgArchive(url);
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

/** A snapshot text whose keys are deliberately not in any canonical order. */
const snapshot = (turn: number) => `{"z":${turn},"counters":{"turns":${turn}},"a":"é \\u00e9"}`;

async function conversation(sessionId: string, turns: number, runId = 'run-a') {
  await store.recordSessionStart({ sessionId, agentName: 'barista', configHash: 'hash-1', createdAt: '2026-01-01T00:00:00.000Z', state: snapshot(0) });
  for (let t = 1; t <= turns; t++) await store.recordTurn({ ...turnRecord(sessionId, makeTurn(t, (t - 1) * 3)), runId, state: snapshot(t) });
}

describe('PostgreSQL archive: time travel', () => {
  it('keeps snapshots byte for byte, and supersedes later turns on rewind, once', async () => {
    await conversation('tt1', 4);
    for (let t = 0; t <= 4; t++) expect((await store.getTurnState('tt1', t))?.state).toBe(snapshot(t));
    expect((await store.getTurnState('tt1', 3))?.answered).toEqual([
      ['m1', 1],
      ['m2', 2],
      ['m3', 3],
    ]);
    expect(await store.getTurnState('tt1', 9)).toBeNull();
    const event = { seq: 12, turn: 2, at: '2026-01-01T01:00:00.000Z', type: 'rewound' as const, toTurn: 2, fromTurn: 4, branch: 'r2-aaaa' };
    const rewind = { sessionId: 'tt1', toTurn: 2, branch: 'r2-aaaa', reason: 'rewind' as const, at: event.at, event };
    await store.supersedeTurns(rewind);
    await store.supersedeTurns(rewind); // a retried activity changes nothing
    expect((await store.getTurns('tt1')).turns.map((t) => t.turn)).toEqual([1, 2]);
    expect(await store.getSession('tt1')).toMatchObject({ turnCount: 2, status: 'active' });
    expect((await store.getEvents('tt1')).events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 12]);
    expect(await store.listBranches('tt1')).toEqual([{ branch: 'r2-aaaa', fromTurn: 2, turns: 2, reason: 'rewind', supersededAt: event.at }]);
    const branch = await store.getBranchTurns('tt1', 'r2-aaaa', { limit: 1 });
    expect(branch.turns.map((t) => [t.turn, t.reply, t.events.length])).toEqual([[3, 'reply 3', 3]]);
    expect(branch.nextAfterTurn).toBe(3);
    expect((await store.getBranchTurns('tt1', 'r2-aaaa', { afterTurn: 3 })).turns.map((t) => t.turn)).toEqual([4]);
    expect(await store.getTurnState('tt1', 3)).toBeNull(); // superseded with its turn
    // The new turn 3 goes in as any turn.
    await store.recordTurn({ ...turnRecord('tt1', makeTurn(3, 13)), runId: 'run-a', state: snapshot(3) });
    expect((await store.getTurns('tt1')).turns.map((t) => t.messageId)).toEqual(['m1', 'm2', 'm3']);
  });

  it('supersedes the later turns when another run writes a turn (a Temporal reset), and reopens an ended session', async () => {
    await conversation('tt2', 2);
    await store.recordTurn({ ...turnRecord('tt2', makeTurn(3, 6, { ended: true })), runId: 'run-a', state: snapshot(3) });
    expect(await store.getSession('tt2')).toMatchObject({ status: 'ended', turnCount: 3 });
    // The same turn again from the same run (a retried write): nothing changes.
    await store.recordTurn({ ...turnRecord('tt2', makeTurn(3, 6, { ended: true })), runId: 'run-a' });
    expect(await store.listBranches('tt2')).toEqual([]);
    // The reset run writes turn 2 again.
    await store.recordTurn({ ...turnRecord('tt2', makeTurn(2, 20, { text: 'after the reset' })), runId: 'run-b-0123456789', state: snapshot(2) });
    expect(await store.listBranches('tt2')).toEqual([expect.objectContaining({ branch: 'reset-run-b-012345', fromTurn: 1, turns: 2, reason: 'reset' })]);
    expect(await store.getSession('tt2')).toMatchObject({ status: 'active', turnCount: 2 });
    const live = (await store.getTurns('tt2')).turns;
    expect(live.map((t) => [t.turn, t.events.find((e) => e.type === 'user_message')])).toEqual([
      [1, expect.objectContaining({ text: 'hello 1' })],
      [2, expect.objectContaining({ text: 'after the reset' })],
    ]);
  });

  it("copies a fork's inherited turns, and reads inherited snapshots from the parent", async () => {
    await conversation('tt3', 3);
    await store.recordSessionStart({
      sessionId: 'tt3-fork',
      agentName: 'barista',
      configHash: 'hash-1',
      createdAt: '2026-01-02T00:00:00.000Z',
      parentSessionId: 'tt3',
      forkedAtTurn: 2,
      state: snapshot(2),
    });
    expect(await store.getSession('tt3-fork')).toMatchObject({ parentSessionId: 'tt3', forkedAtTurn: 2, turnCount: 2 });
    expect((await store.getTurns('tt3-fork')).turns.map((t) => [t.sessionId, t.turn])).toEqual([
      ['tt3-fork', 1],
      ['tt3-fork', 2],
    ]);
    expect((await store.getTurnState('tt3-fork', 1))?.state).toBe(snapshot(1)); // the parent's
    expect((await store.getTurnState('tt3-fork', 2))?.state).toBe(snapshot(2)); // its own start
    expect(await store.getTurnState('tt3-fork', 3)).toBeNull(); // the parent's turn 3 is not the fork's
    expect((await store.getTurnState('tt3-fork', 2))?.answered).toEqual([
      ['m1', 1],
      ['m2', 2],
    ]);
  });
});
