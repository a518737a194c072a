/**
 * The REST API end to end on the real Temporal dev server: routes -> `TemporalSessions` (client) -> session workflow
 * -> activities, for every session route, with the archive (in-memory store, shared by the worker's activities and
 * the API as PostgreSQL would be) behind listing and history.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { createSessionWorker } from '../../workers/worker.js';
import { call, expectError } from '../support/api.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

describe('REST API over the Temporal backend (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let archive: InMemoryArchiveStore;
  const taskQueue = `stepwise-int-api-${process.pid}`;
  const run = Date.now().toString(36);
  const sid = (name: string) => `${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    const convo = await writeAgent(`convo-${run}`, [
      { action: 'RESPOND', response: 'hello there' },
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'x' } }] },
      { action: 'RESPOND', response: 'working' },
      { action: 'END', response: 'goodbye' },
    ]);
    const burst = await writeAgent(`burst-${run}`, responses(60));
    archive = new InMemoryArchiveStore();
    const worker = await createSessionWorker({
      connection: env.nativeConnection,
      taskQueue,
      agents: [convo, burst],
      models: new ModelCache(),
      archive,
      log: () => {},
    });
    const running = worker.run();
    app = await buildApp({
      backend: new TemporalSessions({ client: env.client, taskQueue }),
      agents: new Map([convo, burst].map((a) => [a.snapshot.name, a.snapshot])),
      archive,
      events: { pollIntervalMs: 50, heartbeatMs: 0 },
      // The burst test posts 100 messages to one session at once: no per-session limit (60/min by default) here.
      guards: { sessionMessagesPerMinute: 0 },
    });
    stop = async () => {
      await app.close();
      worker.shutdown();
      await running;
    };
  });
  afterAll(async () => {
    await stop?.();
    await env?.teardown();
  });

  it('serves a whole conversation through every session route', async () => {
    const id = sid('rest');
    const created = await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: id, message: 'hi' });
    expect(created.res.statusCode).toBe(201);
    expect(created.body).toMatchObject({ sessionId: id, reply: 'hello there', stepId: 'chat', turn: 1 });
    // The create request is retry-safe (update-with-start): the same request again gets the same first turn.
    const again = await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: id, message: 'hi' });
    expect(again.res.statusCode).toBe(201);
    expect(again.body).toEqual(created.body);
    expectError(await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: id }), 409, 'SESSION_EXISTS');
    // A first message for a session that was started without one is somebody else's create: 409.
    const bare = sid('bare');
    expect((await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: bare })).res.statusCode).toBe(201);
    expectError(await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: bare, message: 'hi' }), 409, 'SESSION_EXISTS');

    const sent = await call(app, 'POST', `/sessions/${id}/messages`, { text: 'work please', messageId: 'w1' });
    expect(sent.res.statusCode).toBe(200);
    expect(sent.body).toMatchObject({ reply: 'working', stepId: 'work', flowId: 'working', turn: 2 });
    const retried = await call(app, 'POST', `/sessions/${id}/messages`, { text: 'work please', messageId: 'w1' });
    expect(retried.body).toEqual(sent.body);

    const state = await call(app, 'GET', `/sessions/${id}`);
    expect(state.res.statusCode).toBe(200);
    expect(state.body).toMatchObject({ sessionId: id, status: 'active', stepId: 'work', turns: 2 }); // the retried create ran no turn
    const history = await call(app, 'GET', `/sessions/${id}/history`);
    expect(history.res.statusCode).toBe(200);
    expect(history.body.turns.map((t: { reply: string }) => t.reply)).toEqual(['hello there', 'working']);

    // Fire-and-forget: 202 now, the turn (END) runs in the workflow.
    const queued = await call(app, 'POST', `/sessions/${id}/messages?wait=false`, { text: 'bye', messageId: 'b1' });
    expect(queued.res.statusCode).toBe(202);
    expect(queued.body).toEqual({ sessionId: id, messageId: 'b1', status: 'queued', resultUrl: `/sessions/${id}/messages/b1` });
    expect(queued.res.headers.location).toBe(`/sessions/${id}/messages/b1`);
    await env.client.workflow.getHandle(`session-${id}`).result();
    const queuedResult = await call(app, 'GET', `/sessions/${id}/messages/b1`);
    expect(queuedResult.res.statusCode).toBe(200);
    expect(queuedResult.body).toMatchObject({ messageId: 'b1', reply: 'goodbye', ended: true });
    expectError(await call(app, 'GET', `/sessions/${id}/messages/nope`), 404, 'NOT_FOUND');

    expectError(await call(app, 'POST', `/sessions/${id}/messages`, { text: 'anyone?' }), 409, 'SESSION_ENDED');
    expectError(await call(app, 'POST', `/sessions/${id}/messages?wait=false`, { text: 'anyone?' }), 409, 'SESSION_ENDED');
    const events = await app.inject({ method: 'GET', url: `/sessions/${id}/events` });
    expect(events.statusCode).toBe(200);
    expect(events.headers['content-type']).toMatch(/^text\/event-stream/);
    for (const type of ['user_message', 'decision', 'tool_call', 'tool_result', 'step_change', 'flow_enter', 'reply', 'session_ended']) {
      expect(events.body).toContain(`event: ${type}\n`);
    }
    const resumed = await app.inject({ method: 'GET', url: `/sessions/${id}/events`, headers: { 'last-event-id': '3' } });
    expect(resumed.body).not.toMatch(/^id: [0-3]$/m);
    expect(resumed.body).toMatch(/^id: 4$/m);

    for (let i = 0; i < 2; i++) {
      const ended = await call(app, 'DELETE', `/sessions/${id}`);
      expect(ended.res.statusCode).toBe(200);
      expect(ended.body).toMatchObject({ sessionId: id, status: 'ended' });
    }
    const listed = await call(app, 'GET', `/sessions?agentId=convo-${run}`);
    expect(listed.res.statusCode).toBe(200);
    expect(listed.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toContain(id);

    expectError(await call(app, 'GET', `/sessions/${sid('nobody')}`), 404, 'SESSION_NOT_FOUND');
    expectError(await call(app, 'POST', `/sessions/${sid('nobody')}/messages`, { text: 'hello?' }), 404, 'SESSION_NOT_FOUND');
  });

  it('answers a turn longer than the API waits with 202 and its result URL, then the result there', async () => {
    const slow = await writeAgent(`slow-${run}`, [
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 3000 } }] },
      { action: 'RESPOND', response: 'finally' },
    ]);
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue: `${taskQueue}-slow`, agents: [slow], log: () => {} });
    const impatient = await buildApp({
      // Waits 1.5 s for a turn (the default is 100 s) instead of holding the request for minutes.
      backend: new TemporalSessions({ client: env.client, taskQueue: `${taskQueue}-slow`, turnTimeoutMs: 1_500 }),
      agents: new Map([[slow.snapshot.name, slow.snapshot]]),
    });
    await worker.runUntil(async () => {
      const id = sid('slow');
      expect((await call(impatient, 'POST', '/sessions', { agentId: slow.snapshot.name, sessionId: id })).res.statusCode).toBe(201);
      const sent = await call(impatient, 'POST', `/sessions/${id}/messages`, { text: 'take your time', messageId: 's1' });
      expect(sent.res.statusCode).toBe(202);
      expect(sent.body).toEqual({ sessionId: id, messageId: 's1', status: 'running', resultUrl: `/sessions/${id}/messages/s1` });
      expect((await call(impatient, 'GET', sent.body.resultUrl)).res.statusCode).toBe(202);
      let result = await call(impatient, 'GET', sent.body.resultUrl);
      for (let i = 0; i < 100 && result.res.statusCode === 202; i++) {
        await new Promise((r) => setTimeout(r, 100));
        result = await call(impatient, 'GET', sent.body.resultUrl);
      }
      expect(result.res.statusCode).toBe(200);
      expect(result.body).toMatchObject({ messageId: 's1', reply: 'finally', turn: 1 });
    });
    await impatient.close();
  });

  it('keeps the id of an ended session taken after Temporal has forgotten the workflow (retention)', async () => {
    // An archived, ended session whose workflow Temporal no longer has (as after the namespace's retention period).
    const id = sid('retained');
    const at = new Date().toISOString();
    await archive.recordSessionStart({ sessionId: id, agentName: `convo-${run}`, configHash: 'c0ffee', createdAt: at });
    await archive.recordSessionEnd({ sessionId: id, status: 'ended', reason: 'idle_timeout', at, events: [] });
    expectError(await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: id, message: 'hi' }), 409, 'SESSION_EXISTS');
    expectError(await call(app, 'POST', '/sessions', { agentId: `convo-${run}`, sessionId: id }), 409, 'SESSION_EXISTS');
  });

  it('starts a session with the longest allowed id (128 characters) and its first message', async () => {
    const id = `${sid('long-id')}-`.padEnd(128, 'x');
    const created = await call(app, 'POST', '/sessions', { agentId: `burst-${run}`, sessionId: id, message: 'hi' });
    expect(created.res.statusCode).toBe(201);
    expect(created.body).toMatchObject({ sessionId: id, messageId: ':first', reply: 'reply 0' });
  });

  it('answers 50 messages posted at once to one session, each twice, all 200', async () => {
    const id = sid('rest-burst');
    expect((await call(app, 'POST', '/sessions', { agentId: `burst-${run}`, sessionId: id })).res.statusCode).toBe(201);
    const posts = Array.from({ length: 50 }, (_, i) => i).flatMap((i) =>
      [0, 1].map(() => call(app, 'POST', `/sessions/${id}/messages`, { text: `message ${i}`, messageId: `p${i}` })),
    );
    const replies = await Promise.all(posts);
    expect(replies.map((r) => r.res.statusCode)).toEqual(Array(100).fill(200));
    const turns = new Set(replies.map((r) => r.body.turn));
    expect(turns.size).toBe(50);
    for (let i = 0; i < 50; i++) expect(replies[2 * i + 1].body).toEqual(replies[2 * i].body);
    expect((await call(app, 'GET', `/sessions/${id}`)).body.turns).toBe(50);
    // p0 is older than the 20 results the session holds: the archive answers the retry, and no turn runs.
    const old = await call(app, 'POST', `/sessions/${id}/messages`, { text: 'message 0', messageId: 'p0' });
    expect(old.res.statusCode).toBe(200);
    expect(old.body).toEqual(replies[0].body);
    expect((await call(app, 'GET', `/sessions/${id}`)).body.turns).toBe(50);
  });
});
