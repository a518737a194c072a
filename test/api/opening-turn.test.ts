/**
 * The agent may speak first: `POST /sessions` with `initiate: true` runs an opening turn with no user message
 * (message id `:opening`) and answers 201 with its result, like a first message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OPENING_NOTE } from '../../src/engine/prompt.js';
import { build, call, expectError, type Harness } from '../support/api.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

describe('POST /sessions with initiate', () => {
  it('runs an opening turn: no user message, the model is asked to speak first', async () => {
    h = await build({ script: [{ action: 'RESPOND', response: 'Welcome! What can I get you?' }, { action: 'RESPOND', response: 'Sure.' }] });
    const { res, body } = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'o1', initiate: true, userId: 'u1' });
    expect(res.statusCode).toBe(201);
    expect(body).toMatchObject({ sessionId: 'o1', agentId: 'test-agent', messageId: ':opening', turn: 1, reply: 'Welcome! What can I get you?', ended: false });
    const types = body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(['turn_started', 'decision', 'reply']);
    const asked = h.executors.decideRequests[0]!;
    expect(asked.messages.at(-1)).toEqual({ role: 'user', content: OPENING_NOTE });
    expect(asked.messages.filter((m) => m.role !== 'system')).toHaveLength(1);

    // The user's first message is turn 2; the model sees the opening reply, not the note.
    const next = await call(h.app, 'POST', '/sessions/o1/messages', { text: 'a latte' });
    expect(next.body).toMatchObject({ turn: 2, reply: 'Sure.' });
    const second = h.executors.decideRequests[1]!.messages.filter((m) => m.role !== 'system');
    expect(second).toEqual([
      { role: 'assistant', content: 'Welcome! What can I get you?' },
      { role: 'user', content: 'a latte' },
    ]);
    expect((await call(h.app, 'GET', '/sessions/o1')).body).toMatchObject({ turns: 2, userId: 'u1' });
  });

  it('refuses initiate together with a message (400), and a taken session id (409)', async () => {
    h = await build();
    const err = expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', initiate: true, message: 'hi' }), 400, 'INVALID_REQUEST');
    expect(err.details.issues.map((i: { path: string }) => i.path)).toContain('body.initiate');
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'taken' });
    expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'taken', initiate: true }), 409, 'SESSION_EXISTS');
    // initiate: false is a plain start.
    const plain = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'plain', initiate: false });
    expect(plain.body).toEqual({ sessionId: 'plain', agentId: 'test-agent', stepId: 'greet' });
  });
});
