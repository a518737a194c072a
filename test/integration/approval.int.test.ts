/**
 * Human approval of tool calls on the real Temporal dev server: a paused turn survives a real worker stop/start and
 * finishes on the new worker once approved; timeouts are durable timers deciding by `on_timeout` (deny / allow), and
 * an approval without a timeout of its own gets the agent's default (`session.approval_timeout`) at load; a
 * denial reaches the model (the fake OpenAI-compatible server records its prompt) as the call's tool error; a turn
 * paused when continue-as-new is due is carried into the next run; validator errors over REST.
 * With STEPWISE_RECORD_HISTORIES=1 the approval and timeout histories are written for the offline replay test.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../../src/config/agent.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import type { TurnResult } from '../../src/engine/types.js';
import { getTurnResult } from '../../workflows/shared.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { recordHistory } from '../support/histories.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

const echoCall = (text: string) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text } }] });
/** Tools of the integration agent with `echo` needing approval (`approval` options, or plain `requires_approval`). */
const approvalTools = (approval?: Record<string, unknown>) => ({
  tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: approval ? { approval } : { requires_approval: true } } },
});

describe('approval of tool calls on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let models: FakeModelServer;
  const taskQueue = `stepwise-int-approval-${process.pid}`;
  const run = Date.now().toString(36);
  const sid = (name: string) => `${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    models = await startFakeModelServer();
  });
  afterAll(async () => {
    await models?.close();
    await env?.teardown();
  });

  const withWorker = <T>(agents: LoadedAgent[], fn: (sessions: TemporalSessions) => Promise<T>, archive?: ArchiveStore) =>
    withSessionWorker(env, { taskQueue, agents, archive }, fn);

  /** The final result of a paused turn, once its workflow finished it. */
  async function finalOf(sessions: TemporalSessions, id: string, messageId: string, timeoutMs = 20_000): Promise<TurnResult> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const lookup = await sessions.turnResult(id, messageId);
      if (lookup.status === 'done') return lookup.result;
    }
    throw new Error(`turn ${messageId} of ${id} did not finish`);
  }

  it('approves after a real worker stop/start: the paused turn resumes on the new worker and runs the tool once', async () => {
    const agent = await writeAgent('approve-restart', [echoCall('hello'), { action: 'RESPOND', response: 'echoed' }], {}, approvalTools());
    const toolLog = join(agent.dir, 'tools.log');
    writeFileSync(toolLog, '');
    process.env.STEPWISE_TOOL_LOG = toolLog;
    const id = sid('approve-restart');
    const archive = new InMemoryArchiveStore();
    try {
      const early = await withWorker([agent], async (sessions) => {
        await sessions.start(agent.snapshot, id);
        return sessions.send(id, { messageId: 'm1', text: 'echo hello' });
      }, archive); // worker stopped here
      expect(early.pendingApprovals).toEqual([{ callId: 't1.1', tool: 'echo', arguments: { text: 'hello' }, requestedAt: expect.any(String), timeoutAt: expect.any(String) }]);
      const [pending] = early.pendingApprovals!;
      expect(Date.parse(pending!.timeoutAt!) - Date.parse(pending!.requestedAt)).toBe(DEFAULT_APPROVAL_TIMEOUT_MS); // the default, applied at load
      expect(early.reply).toMatch(/Waiting for approval to run echo/);

      // Between the workers nothing runs; the wait is in the workflow's history.
      await withWorker([agent], async (sessions) => {
        expect(await sessions.state(id)).toMatchObject({ busy: true, pendingApprovals: [{ callId: 't1.1', tool: 'echo' }] });
        // Live streams may back off: no event comes until a decision (api/live/event-hub.ts).
        expect((await sessions.events(id, 0)).busy).toBe(false);
        expect(readFileSync(toolLog, 'utf8')).toBe(''); // nothing ran before the decision
        const reply = await sessions.decideApproval(id, { callId: 't1.1', decision: 'approve', approver: 'alice' });
        expect(reply).toMatchObject({ callId: 't1.1', decision: 'approve', decidedAt: expect.any(String) });
        const final = await finalOf(sessions, id, 'm1');
        expect(final.reply).toBe('echoed');
        expect(final.events.find((e) => e.type === 'approval_decided')).toMatchObject({ callId: 't1.1', decision: 'approve', approver: 'alice', timedOut: false });
        expect(final.events.find((e) => e.type === 'tool_result')).toMatchObject({ callId: 't1.1', result: { echo: 'hello' } });
        expect((await sessions.state(id)).pendingApprovals).toEqual([]);
        expect((await sessions.events(id, 0)).busy).toBe(false); // answered, nothing queued
        await expect(sessions.decideApproval(id, { callId: 't1.1', decision: 'deny' })).rejects.toMatchObject({ code: 'APPROVAL_ALREADY_DECIDED' });
        // Audit: the archived turn holds the request and the decision (who, when).
        let archived = (await archive.getTurns(id, { limit: 10 })).turns;
        for (let i = 0; i < 50 && archived.length === 0; i++, archived = (await archive.getTurns(id, { limit: 10 })).turns) await new Promise((r) => setTimeout(r, 100));
        const decided = archived[0]?.events.find((e) => e.type === 'approval_decided');
        expect(decided).toMatchObject({ callId: 't1.1', decision: 'approve', approver: 'alice', at: expect.any(String) });
        expect(archived[0]?.events.some((e) => e.type === 'approval_requested')).toBe(true);
      }, archive);
      expect(readFileSync(toolLog, 'utf8').trim().split('\n')).toEqual(['echo t1.1']);
      await recordHistory('approval-restart', env.client.workflow.getHandle(`session-${id}`));
    } finally {
      delete process.env.STEPWISE_TOOL_LOG;
    }
  }, 90_000);

  it('a timeout is a durable timer: on_timeout deny reports a tool error, on_timeout allow runs the tool', async () => {
    for (const onTimeout of ['deny', 'allow'] as const) {
      const agent = await writeAgent(`timeout-${onTimeout}`, [echoCall('x'), { action: 'RESPOND', response: 'after timeout' }], {}, approvalTools({ timeout: '2s', on_timeout: onTimeout }));
      const id = sid(`timeout-${onTimeout}`);
      await withWorker([agent], async (sessions) => {
        await sessions.start(agent.snapshot, id);
        const early = await sessions.send(id, { messageId: 'm1', text: 'echo x' });
        expect(early.pendingApprovals?.[0]?.timeoutAt).toBeDefined();
        const final = await finalOf(sessions, id, 'm1');
        expect(final.reply).toBe('after timeout');
        expect(final.events.find((e) => e.type === 'approval_decided')).toMatchObject({ timedOut: true, decision: onTimeout === 'allow' ? 'approve' : 'deny' });
        if (onTimeout === 'deny') expect(final.events.find((e) => e.type === 'tool_error')).toMatchObject({ callId: 't1.1', message: expect.stringMatching(/not approved in time/) });
        else expect(final.events.find((e) => e.type === 'tool_result')).toMatchObject({ callId: 't1.1', result: { echo: 'x' } });
      });
      const history = await env.client.workflow.getHandle(`session-${id}`).fetchHistory();
      expect(history.events?.some((e) => e.timerStartedEventAttributes?.startToFireTimeout)).toBe(true);
      if (onTimeout === 'deny') await recordHistory('approval-timeout', env.client.workflow.getHandle(`session-${id}`));
    }
  }, 90_000);

  it('an approval without its own timeout gets session.approval_timeout at load, and expires with deny', async () => {
    const agent = await writeAgent('timeout-default', [echoCall('y'), { action: 'RESPOND', response: 'after default timeout' }], { approval_timeout: '2s' }, approvalTools());
    expect(agent.snapshot.approvals?.echo).toEqual({ timeoutMs: 2_000, onTimeout: 'deny' });
    const id = sid('timeout-default');
    await withWorker([agent], async (sessions) => {
      await sessions.start(agent.snapshot, id);
      const early = await sessions.send(id, { messageId: 'm1', text: 'echo y' });
      const pending = early.pendingApprovals?.[0];
      expect(Date.parse(pending!.timeoutAt!) - Date.parse(pending!.requestedAt)).toBe(2_000);
      const final = await finalOf(sessions, id, 'm1');
      expect(final.reply).toBe('after default timeout');
      expect(final.events.find((e) => e.type === 'approval_decided')).toMatchObject({ timedOut: true, decision: 'deny' });
      expect(final.events.find((e) => e.type === 'tool_error')).toMatchObject({ callId: 't1.1', message: expect.stringMatching(/not approved in time/) });
    });
  }, 90_000);

  it('deny: the model sees the tool error with the reason, and answers the user', async () => {
    process.env.STEPWISE_FAKE_KEY = 'test-key';
    const llm = { provider: 'openai', model: 'fake-model', base_url: models.openaiBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY' };
    const agent = await writeAgent('deny-model', [], {}, { ...approvalTools(), llm });
    models.enqueue(echoCall('secret'));
    models.enqueue({ action: 'RESPOND', response: 'I am not allowed to do that.' });
    const id = sid('deny-model');
    await withWorker([agent], async (sessions) => {
      await sessions.start(agent.snapshot, id);
      await sessions.send(id, { messageId: 'm1', text: 'echo the secret' });
      await sessions.decideApproval(id, { callId: 't1.1', decision: 'deny', reason: 'contains a secret', approver: 'bob' });
      const final = await finalOf(sessions, id, 'm1');
      expect(final.reply).toBe('I am not allowed to do that.');
    });
    const second = JSON.stringify(models.requests.filter((r) => r.path.endsWith('/chat/completions'))[1]?.body.messages);
    expect(second).toContain('echo failed: call to echo was denied by approver bob: contains a secret');
  }, 60_000);

  it('a paused turn is carried across continue-as-new and finishes in the next run', async () => {
    // Turn 2's call has a 120 KB argument: history passes max_history_bytes while the turn waits, and the next
    // activation (a message posted meanwhile) finds continue-as-new due.
    const big = 'x'.repeat(120_000);
    const script = [{ action: 'RESPOND', response: 'first' }, echoCall(big), { action: 'RESPOND', response: 'carried' }, { action: 'RESPOND', response: 'third' }];
    const agent = await writeAgent('approve-can', script, { max_history_bytes: 100_000 }, approvalTools({ timeout: '1h' }));
    const id = sid('approve-can');
    await withWorker([agent], async (sessions) => {
      await sessions.start(agent.snapshot, id);
      const firstRun = (await env.client.workflow.getHandle(`session-${id}`).describe()).runId;
      await sessions.send(id, { messageId: 'm1', text: 'hi' });
      const early = await sessions.send(id, { messageId: 'm2', text: 'echo big' });
      expect(early.pendingApprovals?.map((p) => p.callId)).toEqual(['t2.1']);
      await sessions.post(id, { messageId: 'm3', text: 'queued behind the approval' }); // carried to the next run too
      let state = await sessions.state(id);
      for (let i = 0; i < 100 && state.run < 2; i++, state = await sessions.state(id)) await new Promise((r) => setTimeout(r, 100));
      expect(state).toMatchObject({ run: 2, busy: true, pendingApprovals: [{ callId: 't2.1', timeoutAt: early.pendingApprovals![0]!.timeoutAt }] });
      // The run that carried the wait ended with the turn suspended (`running` unset): its result URL still answers
      // `running` there, as in the next run (it answered `unknown`, a 404 for an acknowledged message, chaos suite).
      expect(await env.client.workflow.getHandle(`session-${id}`, firstRun).query(getTurnResult, 'm2')).toEqual({ status: 'running' });
      expect(await sessions.turnResult(id, 'm2')).toEqual({ status: 'running' });
      await sessions.decideApproval(id, { callId: 't2.1', decision: 'approve' });
      const final = await finalOf(sessions, id, 'm2');
      expect(final.reply).toBe('carried');
      expect(final.events.map((e) => e.type)).toEqual(expect.arrayContaining(['turn_started', 'approval_requested', 'approval_decided', 'tool_result', 'reply']));
      expect((await finalOf(sessions, id, 'm3')).reply).toBe('third');
    });
  }, 90_000);

  it('REST: pending reply, ?wait=true, validator errors (404 / 409 / 409 SESSION_ENDED)', async () => {
    const agent = await writeAgent('approve-rest', [echoCall('a'), { action: 'RESPOND', response: 'done a' }, echoCall('b'), { action: 'RESPOND', response: 'done b' }], {}, approvalTools());
    const id = sid('approve-rest');
    await withWorker([agent], async (sessions) => {
      const app = await buildApp({ backend: sessions, agents: new Map([[agent.snapshot.name, agent.snapshot]]) });
      try {
        const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
        expect((await post('/sessions', { agentId: agent.snapshot.name, sessionId: id })).statusCode).toBe(201);
        const first = await post(`/sessions/${id}/messages`, { text: 'echo a', messageId: 'm1' });
        expect(first.statusCode).toBe(200);
        expect(first.json()).toMatchObject({ pendingApprovals: [{ callId: 't1.1' }] });
        expect((await post(`/sessions/${id}/approvals/t9.9`, { decision: 'approve' })).json()).toMatchObject({ error: { code: 'APPROVAL_NOT_FOUND' } });
        expect((await post(`/sessions/${id}/approvals/t1.1`, { decision: 'sure' })).statusCode).toBe(400);
        const ok = await post(`/sessions/${id}/approvals/t1.1`, { decision: 'approve' });
        expect(ok.statusCode).toBe(200);
        const again = await post(`/sessions/${id}/approvals/t1.1`, { decision: 'approve' });
        expect(again.statusCode).toBe(409);
        expect(again.json()).toMatchObject({ error: { code: 'APPROVAL_ALREADY_DECIDED' } });

        // ?wait=true: the request waits through the approval and answers with the final reply.
        const waiting = post(`/sessions/${id}/messages?wait=true`, { text: 'echo b', messageId: 'm2' });
        let pending: unknown[] = [];
        for (let i = 0; i < 100 && pending.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          pending = (await app.inject({ method: 'GET', url: `/sessions/${id}` })).json().pendingApprovals;
        }
        expect(pending).toMatchObject([{ callId: 't2.2' }]); // call ids count across the session
        await post(`/sessions/${id}/approvals/t2.2`, { decision: 'approve', approver: 'carol' });
        const final = await waiting;
        expect(final.statusCode).toBe(200);
        expect(final.json()).toMatchObject({ messageId: 'm2', reply: 'done b' });

        expect((await app.inject({ method: 'DELETE', url: `/sessions/${id}` })).statusCode).toBe(200);
        const ended = await post(`/sessions/${id}/approvals/t2.2`, { decision: 'approve' });
        expect(ended.statusCode).toBe(409);
        expect(ended.json()).toMatchObject({ error: { code: 'SESSION_ENDED' } });
      } finally {
        await app.close();
      }
    });
  }, 90_000);
});
