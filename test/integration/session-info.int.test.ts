/**
 * Session info (`userId`, `name`, `metadata`) on the real Temporal dev server: given at start, shown by the state
 * query and the memo, archived by the workflow, changed by `PATCH` (a workflow update), carried across
 * continue-as-new, and changed in the archive once the workflow has ended.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { call, expectError } from '../support/api.js';
import { serveOnTemporal } from '../support/int-api.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';
import { workflowsPath } from '../../workers/workflows-path.js';

describe('session info over the Temporal backend (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let archive: InMemoryArchiveStore;
  const taskQueue = `stepwise-int-info-${process.pid}`;
  const run = Date.now().toString(36);
  const agentId = `info-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    // Two turns per run: the third message continues as new.
    const agent = await writeAgent(agentId, responses(10), { max_turns_per_run: 2 });
    archive = new InMemoryArchiveStore();
    ({ app, stop } = await serveOnTemporal(env, { agents: [agent], taskQueue, archive }));
  });
  afterAll(async () => {
    await stop?.();
    await env?.teardown();
  });

  // Replay bundles the workflow code (tens of seconds on a loaded machine).
  it('keeps userId, name and metadata in state, memo and archive, through PATCH and continue-as-new', { timeout: 180_000 }, async () => {
    const id = `info-${run}`;
    const metadata = { channel: 'web', cart: { items: 2 } };
    const created = await call(app, 'POST', '/sessions', { agentId, sessionId: id, message: 'hi', userId: 'alice', name: 'First', metadata });
    expect(created.res.statusCode).toBe(201);
    expect((await call(app, 'GET', `/sessions/${id}`)).body).toMatchObject({ source: 'live', userId: 'alice', name: 'First', metadata });
    const handle = env.client.workflow.getHandle(`session-${id}`);
    const described = await handle.describe();
    expect(described.memo).toMatchObject({ agent: agentId, userId: 'alice', name: 'First' });
    // The Temporal UI's User Metadata: summary and details of the start.
    expect(await described.staticSummary()).toBe(`${agentId} session for user alice: First`);
    expect(await described.staticDetails()).toMatch(new RegExp(`\\*\\*Agent\\*\\* ${agentId} .*\\*\\*User\\*\\* alice.*\\*\\*Started\\*\\* with a first message, at step \`chat\``, 's'));
    expect(await archive.getSession(id)).toMatchObject({ userId: 'alice', name: 'First', metadata });

    const patched = await call(app, 'PATCH', `/sessions/${id}`, { name: 'Second', metadata: { channel: 'app' } });
    // Run 1, with the PATCH update (archive write + memo) in it, replays deterministically.
    const run1 = (await handle.describe()).runId;
    expect(patched.res.statusCode).toBe(200);
    expect(patched.body).toMatchObject({ source: 'live', userId: 'alice', name: 'Second', metadata: { channel: 'app' } });
    expect((await handle.describe()).memo).toMatchObject({ userId: 'alice', name: 'Second' });
    expect(await archive.getSession(id)).toMatchObject({ userId: 'alice', name: 'Second', metadata: { channel: 'app' } });

    // Turns 2 and 3: the run continues as new after turn 2; the next run has the patched info.
    for (const text of ['two', 'three']) expect((await call(app, 'POST', `/sessions/${id}/messages`, { text })).res.statusCode).toBe(200);
    const state = (await call(app, 'GET', `/sessions/${id}`)).body;
    expect(state).toMatchObject({ run: 2, turns: 3, userId: 'alice', name: 'Second', metadata: { channel: 'app' } });
    expect((await handle.describe()).memo).toMatchObject({ userId: 'alice', name: 'Second', turns: 3 });

    const listed = await call(app, 'GET', '/sessions?userId=alice');
    expect(listed.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual([id]);
    expect((await call(app, 'GET', '/sessions?userId=bob')).body.sessions).toEqual([]);

    // Ended: the workflow refuses the change (validator), the archive takes it.
    await call(app, 'DELETE', `/sessions/${id}`);
    // Both runs replay: run 1 with the PATCH update (archive write, memo), run 2 started by continue-as-new with the info.
    await handle.result();
    const histories = [
      { workflowId: `session-${id}`, history: await env.client.workflow.getHandle(`session-${id}`, run1).fetchHistory() },
      { workflowId: `session-${id}`, history: await handle.fetchHistory() },
    ];
    for await (const result of Worker.runReplayHistories({ workflowsPath }, histories)) expect(result.error).toBeUndefined();
    const late = await call(app, 'PATCH', `/sessions/${id}`, { name: 'Third' });
    expect(late.res.statusCode).toBe(200);
    expect(late.body).toMatchObject({ source: 'archive', status: 'ended', name: 'Third', userId: 'alice' });
    expect(await archive.getSession(id)).toMatchObject({ name: 'Third' });
  });

  it('refuses invalid info before it reaches the workflow', async () => {
    const id = `info-bad-${run}`;
    await call(app, 'POST', '/sessions', { agentId, sessionId: id });
    expectError(await call(app, 'PATCH', `/sessions/${id}`, { metadata: { blob: 'x'.repeat(17_000) } }), 400, 'INVALID_REQUEST');
    expectError(await call(app, 'PATCH', `/sessions/${id}`, { userId: 'x' }), 400, 'INVALID_REQUEST');
    const events = await env.client.workflow.getHandle(`session-${id}`).fetchHistory();
    expect(events.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
  });
});
