import { afterEach, describe, expect, it, vi } from 'vitest';
import { TurnResult } from '../../src/engine/types.js';
import { SessionHistory, SessionView } from '../../workflows/shared.js';
import { build, call, expectError, type Harness } from '../support/api.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('POST /sessions', () => {
  it('starts a session without a message: 201 with its id and start step', async () => {
    h = await build();
    const { res, body } = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent' });
    expect(res.statusCode).toBe(201);
    expect(body).toEqual({ sessionId: expect.stringMatching(UUID), agentId: 'test-agent', stepId: 'greet' });
    expect(h.executors.decideRequests).toHaveLength(0);
    const state = await call(h.app, 'GET', `/sessions/${body.sessionId}`);
    expect(state.res.statusCode).toBe(200);
    expect(SessionView.parse(state.body)).toMatchObject({ sessionId: body.sessionId, status: 'active', turns: 0 });
  });

  it('runs the first message as a turn with message id `:first`', async () => {
    h = await build();
    const { res, body } = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-1', message: 'hi there' });
    expect(res.statusCode).toBe(201);
    expect(body).toMatchObject({
      sessionId: 's-1',
      agentId: 'test-agent',
      stepId: 'greet',
      messageId: ':first',
      turn: 1,
      reply: 'Hello! What would you like?',
      ended: false,
    });
    expect(body.events.map((e: { type: string }) => e.type)).toContain('reply');
    expect(h.executors.decideRequests).toHaveLength(1);
    expect(h.executors.decideRequests[0]).toMatchObject({ sessionId: 's-1', stepId: 'greet', decisionIndex: 0 });
    expect(JSON.stringify(h.executors.decideRequests[0].messages)).toContain('hi there');
  });

  it('409 SESSION_EXISTS for a taken session id', async () => {
    h = await build();
    expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'dup' })).res.statusCode).toBe(201);
    const err = expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'dup' }), 409, 'SESSION_EXISTS');
    expect(err.message).toContain('dup');
  });

  it('404 AGENT_NOT_FOUND for an unknown agent (and no session is created)', async () => {
    h = await build();
    expectError(await call(h.app, 'POST', '/sessions', { agentId: 'ghost', sessionId: 'g1' }), 404, 'AGENT_NOT_FOUND');
    expectError(await call(h.app, 'GET', '/sessions/g1'), 404, 'SESSION_NOT_FOUND');
  });
});

describe('POST /sessions/:sessionId/messages', () => {
  it('returns the turn result (200)', async () => {
    h = await build({ script: [{ action: 'RESPOND', response: 'Sure.' }] });
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'm1' });
    const { res, body } = await call(h.app, 'POST', '/sessions/m1/messages', { text: '  I want pizza  ', messageId: 'msg-1' });
    expect(res.statusCode).toBe(200);
    const result = TurnResult.parse(body);
    expect(result).toMatchObject({ messageId: 'msg-1', turn: 1, reply: 'Sure.', stepId: 'greet', ended: false });
    expect(result.events.find((e) => e.type === 'user_message')).toMatchObject({ text: 'I want pizza' }); // trimmed
  });

  it('defaults the message id to a random UUID', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'm2' });
    const { body } = await call(h.app, 'POST', '/sessions/m2/messages', { text: 'hello' });
    expect(body.messageId).toMatch(UUID);
  });

  it('the same messageId twice gives the same result and runs one turn', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'idem' });
    const first = await call(h.app, 'POST', '/sessions/idem/messages', { text: 'hello', messageId: 'retry-me' });
    const second = await call(h.app, 'POST', '/sessions/idem/messages', { text: 'hello', messageId: 'retry-me' });
    expect(first.res.statusCode).toBe(200);
    expect(second.res.statusCode).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(h.executors.decideRequests).toHaveLength(1);
    expect((await call(h.app, 'GET', '/sessions/idem')).body.turns).toBe(1);
  });

  it('?wait=false queues the message: 202, and the turn runs in the background', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'q1' });
    const { res, body } = await call(h.app, 'POST', '/sessions/q1/messages?wait=false', { text: 'later', messageId: 'q-msg' });
    expect(res.statusCode).toBe(202);
    expect(body).toEqual({ sessionId: 'q1', messageId: 'q-msg', status: 'queued', resultUrl: '/sessions/q1/messages/q-msg' });
    await vi.waitFor(async () => {
      const history = SessionHistory.parse((await call(h.app, 'GET', '/sessions/q1/history')).body);
      expect(history.turns.map((t) => t.messageId)).toEqual(['q-msg']);
    });
  });

  it('?wait=false to an unknown session is 404', async () => {
    h = await build();
    expectError(await call(h.app, 'POST', '/sessions/none/messages?wait=false', { text: 'x' }), 404, 'SESSION_NOT_FOUND');
  });

  it('404 SESSION_NOT_FOUND for an unknown session', async () => {
    h = await build();
    const err = expectError(await call(h.app, 'POST', '/sessions/missing/messages', { text: 'hello' }), 404, 'SESSION_NOT_FOUND');
    expect(err.message).toContain('missing');
  });

  it('409 SESSION_ENDED after the agent ENDs the session; a retry of the ending message still gets its result', async () => {
    h = await build({ script: [{ action: 'END', response: 'Goodbye!' }] });
    const created = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'e1', message: 'bye' });
    expect(created.body).toMatchObject({ reply: 'Goodbye!', ended: true });
    expectError(await call(h.app, 'POST', '/sessions/e1/messages', { text: 'are you there?' }), 409, 'SESSION_ENDED');
    const retry = await call(h.app, 'POST', '/sessions/e1/messages', { text: 'bye', messageId: ':first' });
    expect(retry.res.statusCode).toBe(200);
    expect(retry.body).toMatchObject({ messageId: ':first', reply: 'Goodbye!', ended: true });
    expect(h.executors.decideRequests).toHaveLength(1);
  });
});

describe('session state, history and end', () => {
  it('GET state and history reflect the turns', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'h1', message: 'one' });
    const view = SessionView.parse((await call(h.app, 'GET', '/sessions/h1')).body);
    expect(view).toMatchObject({ sessionId: 'h1', agentName: 'test-agent', status: 'active', stepId: 'greet', turns: 1, busy: false });
    expect(view.configHash).toBe(h.agents.get('test-agent')!.configHash);
    const history = SessionHistory.parse((await call(h.app, 'GET', '/sessions/h1/history')).body);
    expect(history.sessionId).toBe('h1');
    expect(history.turns.map((t) => t.messageId)).toEqual([':first']);
  });

  it('DELETE ends the session (200 SessionView), is idempotent, and later messages get 409', async () => {
    h = await build();
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'd1' });
    const { res, body } = await call(h.app, 'DELETE', '/sessions/d1');
    expect(res.statusCode).toBe(200);
    expect(SessionView.parse(body)).toMatchObject({ sessionId: 'd1', status: 'ended' });
    const again = await call(h.app, 'DELETE', '/sessions/d1');
    expect(again.res.statusCode).toBe(200);
    expect(again.body.status).toBe('ended');
    expectError(await call(h.app, 'POST', '/sessions/d1/messages', { text: 'hi' }), 409, 'SESSION_ENDED');
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('404 for state, history and DELETE of an unknown session', async () => {
    h = await build();
    expectError(await call(h.app, 'GET', '/sessions/zz'), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'GET', '/sessions/zz/history'), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'DELETE', '/sessions/zz'), 404, 'SESSION_NOT_FOUND');
  });
});
