/**
 * Sessions carry `userId`, `name` and `metadata` (CONTRACTS.md): given to `POST /sessions`, shown by
 * `GET /sessions/:id`, changed by `PATCH /sessions/:id`, and filtered on by `GET /sessions?userId=`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { SessionView } from '../../workflows/shared.js';
import { at } from '../archive/conformance.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const info = { userId: 'user-42', name: 'Morning order', metadata: { channel: 'web', tags: ['vip'] } };

describe('session info', () => {
  it('POST /sessions stores userId, name and metadata; GET /sessions/:id shows them', async () => {
    h = await build();
    const created = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'i1', ...info });
    expect(created.res.statusCode).toBe(201);
    const state = await call(h.app, 'GET', '/sessions/i1');
    expect(SessionView.parse(state.body)).toMatchObject({ sessionId: 'i1', ...info });

    // With a first message too; a session without info shows none of the fields.
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'i2', message: 'hi', userId: 'u2' });
    expect((await call(h.app, 'GET', '/sessions/i2')).body).toMatchObject({ userId: 'u2', turns: 1 });
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'i3' });
    const bare = (await call(h.app, 'GET', '/sessions/i3')).body;
    expect(Object.keys(bare)).not.toEqual(expect.arrayContaining(['userId']));
    expect(bare.name).toBeUndefined();
    expect(bare.metadata).toBeUndefined();
  });

  it('rejects bad info with 400 INVALID_REQUEST, naming the field', async () => {
    h = await build();
    const cases: Array<[object, string]> = [
      [{ userId: '' }, 'body.userId'],
      [{ userId: 'u'.repeat(129) }, 'body.userId'],
      [{ name: 'n'.repeat(201) }, 'body.name'],
      [{ metadata: ['not', 'an', 'object'] }, 'body.metadata'],
      [{ metadata: { blob: 'x'.repeat(16 * 1024) } }, 'body.metadata'],
    ];
    for (const [body, path] of cases) {
      const err = expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', ...body }), 400, 'INVALID_REQUEST');
      expect(err.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    // 16 KiB of JSON is the limit, not more.
    const fits = { blob: 'x'.repeat(16 * 1024 - 12) };
    expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', metadata: fits })).res.statusCode).toBe(201);
  });

  it('PATCH /sessions/:id replaces name and/or metadata; userId is fixed', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'p1', ...info });
    const renamed = await call(h.app, 'PATCH', '/sessions/p1', { name: 'Afternoon order' });
    expect(renamed.res.statusCode).toBe(200);
    expect(renamed.body).toMatchObject({ sessionId: 'p1', source: 'live', userId: 'user-42', name: 'Afternoon order', metadata: info.metadata });
    const remeta = await call(h.app, 'PATCH', '/sessions/p1', { metadata: { channel: 'app' } });
    expect(remeta.body.metadata).toEqual({ channel: 'app' });
    expect((await call(h.app, 'GET', '/sessions/p1')).body).toMatchObject({ name: 'Afternoon order', metadata: { channel: 'app' } });

    expectError(await call(h.app, 'PATCH', '/sessions/p1', { userId: 'someone-else' }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'PATCH', '/sessions/p1', { name: 'n'.repeat(201) }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'PATCH', '/sessions/nope', { name: 'x' }), 404, 'SESSION_NOT_FOUND');
    await call(h.app, 'DELETE', '/sessions/p1');
    expectError(await call(h.app, 'PATCH', '/sessions/p1', { name: 'late' }), 409, 'SESSION_ENDED');
  });

  it('with an archive: PATCH of an ended session changes the archived row; GET /sessions filters by userId', async () => {
    const archive = new InMemoryArchiveStore();
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'ok' }]);
    // Stands in for the workflow's archive writes: the session row is recorded from its state at start.
    const backend = new LocalSessions({ executors: () => exec, now: exec.now });
    h = await build({ backend, app: { archive } });
    await archive.recordSessionStart({ sessionId: 'a1', agentName: 'test-agent', configHash: 'h', createdAt: at(1), userId: 'alice', name: 'One' });
    await archive.recordSessionStart({ sessionId: 'a2', agentName: 'test-agent', configHash: 'h', createdAt: at(2), userId: 'bob' });
    await archive.recordSessionStart({ sessionId: 'a3', agentName: 'test-agent', configHash: 'h', createdAt: at(3), userId: 'alice' });
    await archive.recordSessionEnd({ sessionId: 'a1', status: 'ended', reason: 'end_session', at: at(4) });

    const alice = await call(h.app, 'GET', '/sessions?userId=alice');
    expect(alice.res.statusCode).toBe(200);
    expect(alice.body.sessions.map((s: { sessionId: string; userId: string }) => [s.sessionId, s.userId])).toEqual([
      ['a1', 'alice'],
      ['a3', 'alice'],
    ]);
    expect(alice.body.sessions[0].name).toBe('One');
    expectError(await call(h.app, 'GET', `/sessions?userId=${'u'.repeat(129)}`), 400, 'INVALID_REQUEST');

    // a1's workflow is gone (the local backend never had it): the archive takes the change.
    const patched = await call(h.app, 'PATCH', '/sessions/a1', { name: 'Renamed', metadata: { k: 1 } });
    expect(patched.res.statusCode).toBe(200);
    expect(patched.body).toMatchObject({ sessionId: 'a1', source: 'archive', status: 'ended', userId: 'alice', name: 'Renamed', metadata: { k: 1 } });
    expect(await archive.getSession('a1')).toMatchObject({ name: 'Renamed', metadata: { k: 1 } });
    expectError(await call(h.app, 'PATCH', '/sessions/ghost', { name: 'x' }), 404, 'SESSION_NOT_FOUND');
  });
});
