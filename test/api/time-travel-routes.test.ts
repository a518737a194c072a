/**
 * Time travel routes without Temporal (`build()` + `inject()`, the in-process backend with its in-memory snapshots):
 * bad bodies are 400 with details, unknown turns 404, an ended session's rewind 409; rewind, regenerate, edit and fork
 * work; branch reads need the archive (503); the routes are in the OpenAPI document.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { build, call, expectError, type Harness } from '../support/api.js';

describe('time travel routes (in-process backend)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.app.close();
  });

  it('validates bodies, refuses what cannot be done, and rewinds, regenerates, edits and forks in process', async () => {
    h = await build({ script: [{ action: 'RESPOND', response: 'one' }, { action: 'RESPOND', response: 'two' }, { action: 'RESPOND', response: 'three' }] });
    const created = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's1', message: 'hi' });
    expect(created.res.statusCode).toBe(201);
    const bad = expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 'one' }), 400, 'INVALID_REQUEST');
    expect(bad.details.issues[0].path).toMatch(/atTurn/);
    expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 1, color: 'red' }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/rewind', {}), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/messages/:first/edit', { text: '' }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 2 }), 404, 'TURN_NOT_FOUND');
    expectError(await call(h.app, 'POST', '/sessions/s1/rewind', { toTurn: 2 }), 404, 'TURN_NOT_FOUND');
    expectError(await call(h.app, 'POST', '/sessions/nope/fork', { atTurn: 0 }), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'GET', '/sessions/s1/branches'), 503, 'ARCHIVE_UNAVAILABLE');
    expectError(await call(h.app, 'GET', '/sessions/s1/history?branch=r1-abc'), 503, 'ARCHIVE_UNAVAILABLE');
    expect((await call(h.app, 'GET', '/sessions/s1')).body.turns).toBe(1);

    expect((await call(h.app, 'POST', '/sessions/s1/messages', { text: 'more', messageId: 'm2' })).body.reply).toBe('two');
    const rewound = await call(h.app, 'POST', '/sessions/s1/rewind', { toTurn: 1 });
    expect(rewound.body).toMatchObject({ toTurn: 1, fromTurn: 2, branch: expect.stringMatching(/^r1-/), source: 'live', session: { turns: 1 } });
    // m2 is forgotten: sent again it runs turn 2 again, from the state after turn 1 (decision #1 again).
    const again = await call(h.app, 'POST', '/sessions/s1/messages', { text: 'more, again', messageId: 'm2' });
    expect(again.body).toMatchObject({ turn: 2, reply: 'two' });
    expect((await call(h.app, 'POST', '/sessions/s1/regenerate')).body).toMatchObject({ turn: 2, messageId: 'm2', reply: 'two' });
    const edited = await call(h.app, 'POST', '/sessions/s1/messages/m2/edit', { text: 'edited', newMessageId: 'm2b' });
    expect(edited.body).toMatchObject({ turn: 2, messageId: 'm2b' });
    const forked = await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 1, sessionId: 's1-fork' });
    expect(forked.res.statusCode).toBe(201);
    expect(forked.body).toMatchObject({ sessionId: 's1-fork', parentSessionId: 's1', forkedAtTurn: 1, turns: 1, stepId: 'greet' });
    expect((await call(h.app, 'POST', '/sessions/s1-fork/messages', { text: 'in the fork', messageId: 'f2' })).body).toMatchObject({ turn: 2, reply: 'two' });
    // Ended: rewind refused, fork allowed.
    expect((await call(h.app, 'DELETE', '/sessions/s1')).res.statusCode).toBe(200);
    expectError(await call(h.app, 'POST', '/sessions/s1/rewind', { toTurn: 0 }), 409, 'SESSION_ENDED');
    expect((await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 0 })).res.statusCode).toBe(201);
  });

  it('documents the routes and their bodies in OpenAPI', async () => {
    h = await build();
    const doc = (await call(h.app, 'GET', '/docs/json')).body;
    for (const path of ['/sessions/{sessionId}/fork', '/sessions/{sessionId}/rewind', '/sessions/{sessionId}/regenerate', '/sessions/{sessionId}/messages/{messageId}/edit']) {
      expect(doc.paths[path]?.post, path).toBeDefined();
      expect(doc.paths[path].post.tags).toEqual(['time travel']);
    }
    expect(doc.paths['/sessions/{sessionId}/fork'].post.responses['201']).toBeDefined();
    expect(doc.paths['/sessions/{sessionId}/branches'].get).toBeDefined();
  });
});
