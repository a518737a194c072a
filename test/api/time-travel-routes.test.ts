/**
 * Time travel routes without Temporal (`build()` + `inject()`, the in-process backend): bad bodies are 400 with
 * details, the in-process backend answers 409 REWIND_NOT_SUPPORTED, branch reads need the archive (503), and the
 * routes are in the OpenAPI document.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { build, call, expectError, type Harness } from '../support/api.js';

describe('time travel routes (in-process backend)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.app.close();
  });

  it('validates bodies, then answers REWIND_NOT_SUPPORTED for what the in-process backend cannot do', async () => {
    h = await build();
    const created = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's1', message: 'hi' });
    expect(created.res.statusCode).toBe(201);
    const bad = expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 'one' }), 400, 'INVALID_REQUEST');
    expect(bad.details.issues[0].path).toMatch(/atTurn/);
    expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 1, color: 'red' }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/rewind', {}), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/messages/:first/edit', { text: '' }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/rewind', { toTurn: 0 }), 409, 'REWIND_NOT_SUPPORTED');
    expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 1 }), 409, 'REWIND_NOT_SUPPORTED');
    expectError(await call(h.app, 'POST', '/sessions/s1/regenerate'), 409, 'REWIND_NOT_SUPPORTED');
    expectError(await call(h.app, 'POST', '/sessions/s1/fork', { atTurn: 2 }), 404, 'TURN_NOT_FOUND');
    expectError(await call(h.app, 'POST', '/sessions/nope/fork', { atTurn: 0 }), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'GET', '/sessions/s1/branches'), 503, 'ARCHIVE_UNAVAILABLE');
    expectError(await call(h.app, 'GET', '/sessions/s1/history?branch=r1-abc'), 503, 'ARCHIVE_UNAVAILABLE');
    // Nothing changed.
    expect((await call(h.app, 'GET', '/sessions/s1')).body.turns).toBe(1);
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
