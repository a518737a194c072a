/**
 * The archive side of the REST API: `GET /sessions` (listing), `GET /sessions/:id/history` and the archive fallback
 * of `GET /sessions/:id` — without an archive, and with both archive backends (in-memory and a real PostgreSQL).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { migrateArchive } from '../../archive/migrate.js';
import { createPgArchive } from '../../archive/pg-store.js';
import { type ArchiveStore, SessionsPage } from '../../src/archive/store.js';
import { ReconnectingSessions } from '../../api/reconnecting-sessions.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { TurnResult } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { SessionView } from '../../workflows/shared.js';
import { at, makeTurn, turnRecord } from '../archive/conformance.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

/** A backend that cannot reach Temporal (every session call: TEMPORAL_UNAVAILABLE). */
async function temporalDown(): Promise<ReconnectingSessions> {
  const backend = new ReconnectingSessions({
    connect: () => Promise.reject(new SystemError('TEMPORAL_UNAVAILABLE', 'cannot reach Temporal')),
    retryMs: 60_000,
  });
  await backend.connectOrRetry();
  return backend;
}

const replies = (n: number) => Array.from({ length: n }, (_, i) => ({ action: 'RESPOND', response: `reply ${i + 1}` }));

describe('without an archive', () => {
  it('GET /sessions is 503 ARCHIVE_UNAVAILABLE, saying DATABASE_URL is not set', async () => {
    h = await build();
    const err = expectError(await call(h.app, 'GET', '/sessions'), 503, 'ARCHIVE_UNAVAILABLE');
    expect(err.message).toContain('DATABASE_URL is not set');
    expect(h.app.archive).toBeUndefined();
  });

  it('history falls back to the live session (its recent turns), paginated the same way', async () => {
    h = await build({ script: replies(3) });
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'l1', message: 'one' });
    await call(h.app, 'POST', '/sessions/l1/messages', { text: 'two' });
    await call(h.app, 'POST', '/sessions/l1/messages', { text: 'three' });
    const all = await call(h.app, 'GET', '/sessions/l1/history');
    expect(all.res.statusCode).toBe(200);
    expect(all.body).toMatchObject({ sessionId: 'l1', source: 'live' });
    expect(all.body.turns.map((t: TurnResult) => [t.turn, t.reply])).toEqual([[1, 'reply 1'], [2, 'reply 2'], [3, 'reply 3']]);
    expect(all.body.nextAfterTurn).toBeUndefined();
    const page = await call(h.app, 'GET', '/sessions/l1/history?afterTurn=1&limit=1');
    expect(page.body.turns.map((t: TurnResult) => t.turn)).toEqual([2]);
    expect(page.body.nextAfterTurn).toBe(2);
    expectError(await call(h.app, 'GET', '/sessions/none/history'), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'GET', '/sessions/l1/history?limit=0'), 400, 'INVALID_REQUEST');
  });

  it('GET /sessions/:id is the live view (`source: live`); unknown is 404', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'v1' });
    const { body } = await call(h.app, 'GET', '/sessions/v1');
    expect(SessionView.parse(body)).toMatchObject({ sessionId: 'v1', status: 'active' });
    expect(body.source).toBe('live');
    expectError(await call(h.app, 'GET', '/sessions/nope'), 404, 'SESSION_NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// With each archive backend
// ---------------------------------------------------------------------------------------------------------------

let pgServer: TestPostgres;
/** A migrated database each PostgreSQL test copies (CREATE DATABASE ... TEMPLATE): fresh and fast. */
const TEMPLATE = 'archive_routes_template';
beforeAll(async () => {
  pgServer = await startTestPostgres();
  await migrateArchive(await pgServer.createDatabase({ name: TEMPLATE }));
});
afterAll(async () => {
  await pgServer?.stop();
});

const archives: Array<[string, () => Promise<ArchiveStore>]> = [
  ['in-memory', async () => new InMemoryArchiveStore()],
  ['PostgreSQL', async () => createPgArchive(await pgServer.createDatabase({ template: TEMPLATE }))],
];

describe.each(archives)('with the %s archive', (_name, createArchive) => {
  /** Five sessions, newest activity last: a1..a5 (a4 ended; a3 and a5 belong to `helpdesk`). */
  async function seedListing(archive: ArchiveStore): Promise<void> {
    const agents = ['barista', 'barista', 'helpdesk', 'barista', 'helpdesk'];
    for (let i = 1; i <= 5; i++) {
      await archive.recordTurn(turnRecord(`a${i}`, makeTurn(i, 0, { ended: i === 4 }), 1, agents[i - 1]));
    }
  }

  /** `can`: turns 1-3 in run 1 and 4-5 in run 2 (a continue-as-new between), recorded out of order, then idle-ended. */
  async function seedRuns(archive: ArchiveStore): Promise<void> {
    await archive.recordTurn(turnRecord('can', makeTurn(4, 9, { stepId: 'pay', flowId: 'checkout' }), 2));
    for (const n of [1, 2, 3]) await archive.recordTurn(turnRecord('can', makeTurn(n, (n - 1) * 3, { stepId: 'order' }), 1));
    await archive.recordTurn(turnRecord('can', makeTurn(5, 12, { stepId: 'pay', flowId: 'checkout', answer: { total: 7 } }), 2));
    await archive.recordSessionEnd({
      sessionId: 'can',
      status: 'ended',
      reason: 'idle_timeout',
      at: at(30),
      events: [{ seq: 15, turn: 5, at: at(30), type: 'session_ended', reason: 'idle_timeout' }],
    });
  }

  it('GET /sessions lists newest first with keyset pages (limit, nextCursor) and filters', async () => {
    const archive = await createArchive();
    await seedListing(archive);
    h = await build({ app: { archive } });
    const ids = (body: { sessions: Array<{ sessionId: string }> }) => body.sessions.map((s) => s.sessionId);

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const { res, body } = await call(h.app, 'GET', `/sessions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode).toBe(200);
      SessionsPage.parse(body);
      pages.push(ids(body));
      cursor = body.nextCursor;
    } while (cursor);
    expect(pages).toEqual([['a5', 'a4'], ['a3', 'a2'], ['a1']]);

    const all = (await call(h.app, 'GET', '/sessions')).body; // default limit 20
    expect(ids(all)).toEqual(['a5', 'a4', 'a3', 'a2', 'a1']);
    expect(all.nextCursor).toBeUndefined();
    expect(all.sessions[1]).toMatchObject({
      schemaVersion: 1, sessionId: 'a4', agentName: 'barista', status: 'ended', turnCount: 4, lastSeq: 3,
      updatedAt: at(4, 30), endedAt: at(4, 30), endReason: 'end_action',
    });

    expect(ids((await call(h.app, 'GET', '/sessions?agentId=barista')).body)).toEqual(['a4', 'a2', 'a1']);
    expect(ids((await call(h.app, 'GET', '/sessions?status=ended')).body)).toEqual(['a4']);
    expect(ids((await call(h.app, 'GET', '/sessions?agentId=helpdesk&status=active')).body)).toEqual(['a5', 'a3']);
    const filtered = (await call(h.app, 'GET', '/sessions?agentId=barista&limit=2')).body;
    expect(ids(filtered)).toEqual(['a4', 'a2']);
    const rest = (await call(h.app, 'GET', `/sessions?agentId=barista&limit=2&cursor=${filtered.nextCursor}`)).body;
    expect(ids(rest)).toEqual(['a1']);
    expect(rest.nextCursor).toBeUndefined();

    for (const bad of ['limit=0', 'limit=101', 'limit=ten', 'status=gone', 'cursor=not-a-cursor']) {
      const err = expectError(await call(h.app, 'GET', `/sessions?${bad}`), 400, 'INVALID_REQUEST');
      if (!bad.startsWith('cursor')) expect(err.details.issues[0].path).toBe(`querystring.${bad.split('=')[0]}`);
    }
  });

  it('history is complete across a continue-as-new boundary and after the workflow is gone, in pages', async () => {
    const archive = await createArchive();
    await seedRuns(archive);
    h = await build({ app: { archive } }); // the live backend has never heard of `can`: its workflow is gone
    const { res, body } = await call(h.app, 'GET', '/sessions/can/history');
    expect(res.statusCode).toBe(200);
    expect(body).toMatchObject({ sessionId: 'can', source: 'archive' });
    expect(body.nextAfterTurn).toBeUndefined();
    expect(body.turns.map((t: { turn: number; run: number }) => [t.turn, t.run])).toEqual([[1, 1], [2, 1], [3, 1], [4, 2], [5, 2]]);
    // Items stay TurnResult-compatible (plus run, status and times), events included.
    for (const t of body.turns) {
      const expected = makeTurn(t.turn, t.turn <= 3 ? (t.turn - 1) * 3 : t.turn === 4 ? 9 : 12, {
        stepId: t.turn <= 3 ? 'order' : 'pay',
        ...(t.turn >= 4 ? { flowId: 'checkout' } : {}),
        ...(t.turn === 5 ? { answer: { total: 7 } } : {}),
      });
      expect(TurnResult.parse(t)).toEqual(expected);
      expect(t).toMatchObject({ status: 'completed', startedAt: at(t.turn), finishedAt: at(t.turn, 30) });
      expect(t.sessionId).toBeUndefined();
    }

    const turnsOf = async (query: string) => {
      const page = (await call(h!.app, 'GET', `/sessions/can/history?${query}`)).body;
      return [page.turns.map((t: TurnResult) => t.turn), page.nextAfterTurn];
    };
    expect(await turnsOf('limit=2')).toEqual([[1, 2], 2]);
    expect(await turnsOf('afterTurn=2&limit=2')).toEqual([[3, 4], 4]);
    expect(await turnsOf('afterTurn=4&limit=2')).toEqual([[5], undefined]);
    expect(await turnsOf('afterTurn=5')).toEqual([[], undefined]);

    expectError(await call(h.app, 'GET', '/sessions/ghost/history'), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'GET', '/sessions/can/history?afterTurn=-1'), 400, 'INVALID_REQUEST');
  });

  it('history appends turns the workflow finished but has not archived yet; a new session has an empty history', async () => {
    const archive = await createArchive();
    const exec = scriptedExecutors(replies(3));
    const backend = new LocalSessions({
      executors: () => exec,
      now: exec.now,
      // The archive lags behind: only the first two turns have been archived so far.
      onTurn: async ({ agent, result }) => {
        if (result.turn <= 2) await archive.recordTurn(turnRecord('lag', result, 1, agent.name));
      },
    });
    h = await build({ backend, app: { archive } });
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'lag', message: 'one' });
    await call(h.app, 'POST', '/sessions/lag/messages', { text: 'two' });
    await call(h.app, 'POST', '/sessions/lag/messages', { text: 'three' });
    const { body } = await call(h.app, 'GET', '/sessions/lag/history');
    expect(body.source).toBe('archive');
    expect(body.turns.map((t: { turn: number; run?: number }) => [t.turn, t.run])).toEqual([[1, 1], [2, 1], [3, undefined]]);
    expect(body.turns[2].reply).toBe('reply 3');
    const page = (await call(h.app, 'GET', '/sessions/lag/history?afterTurn=1&limit=1')).body;
    expect([page.turns.map((t: TurnResult) => t.turn), page.nextAfterTurn]).toEqual([[2], 2]);

    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'fresh' });
    expect((await call(h.app, 'GET', '/sessions/fresh/history')).body).toEqual({ sessionId: 'fresh', source: 'archive', turns: [] });
  });

  it('GET /sessions/:id falls back to the archive when the backend says SESSION_NOT_FOUND', async () => {
    const archive = await createArchive();
    await seedRuns(archive);
    await archive.recordSessionStart({ sessionId: 'quiet', agentName: 'test-agent', configHash: 'h', createdAt: at(1) });
    await archive.recordSessionStart({ sessionId: 'broke', agentName: 'test-agent', configHash: 'h', createdAt: at(1) });
    await archive.recordSessionEnd({ sessionId: 'broke', status: 'failed', reason: 'workflow failed', at: at(2) });
    h = await build({ app: { archive } });

    const gone = await call(h.app, 'GET', '/sessions/can');
    expect(gone.res.statusCode).toBe(200);
    expect(SessionView.parse(gone.body)).toBeTruthy();
    expect(gone.body).toEqual({
      sessionId: 'can',
      agentName: 'barista',
      configHash: 'hash-1',
      status: 'ended',
      stepId: 'pay',
      flowId: 'checkout',
      turns: 5,
      queued: 0,
      busy: false,
      run: 2,
      lastEventSeq: 15,
      createdAt: at(4), // the row was created by the first write, turn 4's
      updatedAt: at(30),
      pendingApprovals: [],
      source: 'archive',
      endedAt: at(30),
      endReason: 'idle_timeout',
    });
    // No turn archived yet: the loaded agent's start step, run 1, no events.
    expect((await call(h.app, 'GET', '/sessions/quiet')).body).toMatchObject({
      status: 'active', stepId: testAgent().startStepId, turns: 0, run: 1, lastEventSeq: -1, source: 'archive',
    });
    // A failed workflow shows as ended, with the reason.
    expect((await call(h.app, 'GET', '/sessions/broke')).body).toMatchObject({ status: 'ended', endReason: 'workflow failed' });

    // Live sessions still come from the workflow; unknown everywhere is 404.
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'alive' });
    expect((await call(h.app, 'GET', '/sessions/alive')).body).toMatchObject({ sessionId: 'alive', source: 'live' });
    expectError(await call(h.app, 'GET', '/sessions/ghost'), 404, 'SESSION_NOT_FOUND');
  });

  it('while Temporal is down: state and history come from the archive; sessions it lacks get 503', async () => {
    const archive = await createArchive();
    await seedRuns(archive);
    h = await build({ backend: await temporalDown(), app: { archive } });
    expect((await call(h.app, 'GET', '/sessions/can')).body).toMatchObject({ sessionId: 'can', source: 'archive', turns: 5 });
    expect((await call(h.app, 'GET', '/sessions/can/history')).body.turns).toHaveLength(5);
    expectError(await call(h.app, 'GET', '/sessions/ghost'), 503, 'TEMPORAL_UNAVAILABLE');
    expectError(await call(h.app, 'GET', '/sessions/ghost/history'), 503, 'TEMPORAL_UNAVAILABLE');
    // The listing never needed Temporal.
    expect((await call(h.app, 'GET', '/sessions')).body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual(['can']);
  });
});
