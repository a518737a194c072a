/**
 * NOMOS and AgentOS clients on the real Temporal dev server: a conversation driven through the NOMOS routes (the
 * agent speaks first via `initiate`, an `openSession` update-with-start) and through the AgentOS routes (session with
 * user/name/metadata, runs, the SSE stream), each one durable session workflow, archived.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { call, expectError, expectNomosError } from '../support/api.js';
import { serveOnTemporal } from '../support/int-api.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';
import { workflowsPath } from '../../workers/workflows-path.js';

describe('NOMOS and AgentOS routes over the Temporal backend (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let archive: InMemoryArchiveStore;
  const taskQueue = `stepwise-int-compat-${process.pid}`;
  const run = Date.now().toString(36);
  const agentId = `compat-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    const agent = await writeAgent(agentId, [
      { action: 'RESPOND', response: 'Hello, I speak first.' },
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'x' } }] },
      { action: 'RESPOND', response: 'worked' },
      { action: 'END', response: 'goodbye' },
    ]);
    archive = new InMemoryArchiveStore();
    ({ app, stop } = await serveOnTemporal(env, { agents: [agent], taskQueue, archive }));
  });
  afterAll(async () => {
    await stop?.();
    await env?.teardown();
  });

  // Replaying a history bundles the workflow code (tens of seconds on a loaded machine).
  it('NOMOS: initiate, message, history, chat, delete — one durable workflow', { timeout: 180_000 }, async () => {
    const created = await call(app, 'POST', '/session?initiate=true');
    expect(created.res.statusCode).toBe(200);
    expect(created.body.message).toMatchObject({ action: 'RESPOND', response: 'Hello, I speak first.' });
    const id = created.body.session_id as string;
    const handle = env.client.workflow.getHandle(`session-${id}`);
    // The opening turn ran in the workflow, without a user message.
    const first = (await call(app, 'GET', `/sessions/${id}/history`)).body.turns[0];
    expect(first).toMatchObject({ messageId: ':opening', turn: 1 });
    expect(first.events.map((e: { type: string }) => e.type)).not.toContain('user_message');

    const sent = await call(app, 'POST', `/session/${id}/message`, { content: 'do the work' });
    expect(sent.body.message).toMatchObject({ action: 'RESPOND', response: 'worked' });
    const history = (await call(app, 'GET', `/session/${id}/history`)).body.history;
    // Session memory only (as NOMOS): the MOVE entered flow `working`, so its tool event and reply are flow memory.
    expect(history.map((e: { type: string }) => e.type)).toEqual([agentId, 'user']);

    const chat = await call(app, 'POST', '/chat', { user_input: 'bye', session_data: { session_id: id, current_step_id: 'work', history: [] } });
    expect(chat.body.response).toMatchObject({ action: 'END', response: 'goodbye' });
    expect(chat.body.session_data).toMatchObject({ session_id: id, current_step_id: 'work' });
    expect(await handle.result()).toMatchObject({ reason: 'end_action', turns: 3 });
    // The opening turn's history replays (new histories stay deterministic, like the committed ones).
    await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory(), `nomos-${id}`);
    expect((await call(app, 'DELETE', `/session/${id}`)).body).toEqual({ message: 'Session ended successfully' });
    // NOMOS forgets a deleted session: later calls are 404 with FastAPI's `detail`.
    expectNomosError(await call(app, 'POST', `/session/${id}/message`, { content: 'again' }), 404, 'SESSION_NOT_FOUND');
    // A retried initiate of a session started otherwise is refused by the workflow's validator.
    const bare = `bare-${run}`;
    await call(app, 'POST', '/sessions', { agentId, sessionId: bare });
    expectError(await call(app, 'POST', '/sessions', { agentId, sessionId: bare, initiate: true }), 409, 'SESSION_EXISTS');
  });

  it('AgentOS: session with user/name/metadata, runs, stream, list by user, update, delete', { timeout: 180_000 }, async () => {
    const created = await call(app, 'POST', '/api/v1/sessions', { agent_id: agentId, user_id: 'carol', name: 'Work', metadata: { team: 'ops' } });
    expect(created.res.statusCode).toBe(201);
    const id = created.body.session_id as string;
    expect(created.body).toMatchObject({ session_id: expect.any(String), agent_id: agentId, user_id: 'carol', name: 'Work', metadata: { team: 'ops' }, run_count: 0 });

    const ran = await call(app, 'POST', `/api/v1/agents/${agentId}/run`, { input: 'hello', session_id: id });
    expect(ran.body).toMatchObject({ content: 'Hello, I speak first.', session_id: id, metadata: { turn: 1 } });
    const stream = await app.inject({ method: 'POST', url: `/api/v1/agents/${agentId}/run/stream`, payload: { input: 'work', session_id: id } });
    const types = [...stream.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(types).toEqual(['run_start', 'step_start', 'tool_call', 'complete']);
    expect(stream.body).toContain('"output":"worked"');

    const updated = await call(app, 'PUT', `/api/v1/sessions/${id}`, { name: 'Work (renamed)' });
    expect(updated.body).toMatchObject({ name: 'Work (renamed)', run_count: 2, state: { step_id: 'work', flow_id: 'working', status: 'active' } });
    const listed = (await call(app, 'GET', `/api/v1/sessions?user_id=carol&agent_id=${agentId}`)).body;
    expect(listed.sessions.map((s: { session_id: string; name: string }) => [s.session_id, s.name])).toEqual([[id, 'Work (renamed)']]);
    expect((await call(app, 'DELETE', `/api/v1/sessions/${id}`)).body).toEqual({ message: 'session deleted successfully' });
    // A closed workflow answers queries by replaying its history: the PUT (an update writing the archive) replays.
    const handle = env.client.workflow.getHandle(`session-${id}`);
    await handle.result();
    await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory(), `agentos-${id}`);
    expect((await call(app, 'GET', `/api/v1/sessions/${id}`)).body).toMatchObject({ session_id: id, state: { status: 'ended' } });
  });
});
