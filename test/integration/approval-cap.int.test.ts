/**
 * Regression (found by the chaos suite, invariant 3 "no session stuck", and 1: a burst session's acknowledged
 * messages never answered): Temporal caps the updates in flight per workflow (`history.maxInFlightUpdates`, 10 on the
 * dev server), and `sendMessage` updates queued behind a turn that waits for approval stay in flight until it ends.
 * With the cap full (two API instances let 8 in each), the `decideApproval` update got RESOURCE_EXHAUSTED until its
 * deadline: nobody could decide, and the session was stuck for good. Since then the decision goes in as a signal,
 * confirmed by the `getApproval` query (api/approval-signal.ts).
 *
 * Here, on the real dev server: a turn paused for approval, 10 messages accepted behind it (the cap), then the
 * approval through the API's backend: it is recorded, the paused turn finishes and all 10 queued messages are answered.
 */
import { type WorkflowUpdateHandle, WorkflowUpdateStage } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { TurnResult } from '../../src/engine/types.js';
import { getApproval, sendMessage, sessionWorkflowId } from '../../workflows/shared.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

describe('an approval while Temporal’s cap on in-flight updates is full', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-approval-cap-${process.pid}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('is decided (by signal) and every message queued behind the paused turn is answered', async () => {
    const script = [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'hi' } }] }, { action: 'RESPOND', response: 'echoed' }, ...responses(10)];
    const agent = await writeAgent('approval-cap', script, {}, { tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } } });
    const id = `approval-cap-${Date.now().toString(36)}`;
    await withSessionWorker(env, { taskQueue, agents: [agent] }, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      const paused = await sessions.send(id, { messageId: 'm0', text: 'echo hi' });
      expect(paused.pendingApprovals).toEqual([expect.objectContaining({ callId: 't1.1', tool: 'echo' })]);

      // Fill the server's cap with messages the workflow accepts and queues behind the paused turn.
      const handle = env.client.workflow.getHandle(sessionWorkflowId(id));
      const queued: WorkflowUpdateHandle<TurnResult>[] = [];
      for (let i = 1; i <= 10; i++) {
        queued.push(await handle.startUpdate(sendMessage, { args: [{ messageId: `m${i}`, text: `queued ${i}` }], waitForStage: WorkflowUpdateStage.ACCEPTED }));
      }
      // The cap is full: one more update is turned away by the server.
      const refused = await env.client.connection.withDeadline(Date.now() + 2_000, () =>
        handle.startUpdate(sendMessage, { args: [{ messageId: 'm11', text: 'one too many' }], waitForStage: WorkflowUpdateStage.ACCEPTED }).then(
          () => undefined,
          (err: unknown) => err,
        ),
      );
      expect(String((refused as Error)?.cause ?? refused)).toMatch(/in-flight updates|deadline/i);

      const asked = Date.now();
      const reply = await sessions.decideApproval(id, { callId: 't1.1', decision: 'approve', approver: 'alice' });
      console.log(`approval by signal answered in ${Date.now() - asked} ms`);
      expect(reply).toEqual({ callId: 't1.1', decision: 'approve', decidedAt: expect.any(String) });
      expect(await handle.query(getApproval, 't1.1')).toMatchObject({ status: 'decided', decision: { decision: 'approve', approver: 'alice', timedOut: false } });

      const answers = await Promise.all(queued.map((u) => u.result()));
      expect(answers.map((r) => r.reply)).toEqual(Array.from({ length: 10 }, (_, i) => `reply ${i}`));
      const first = await sessions.turnResult(id, 'm0');
      expect(first).toMatchObject({ status: 'done', result: { reply: 'echoed' } });
      // A second decision on the same call is refused as the update's validator would.
      await expect(sessions.decideApproval(id, { callId: 't1.1', decision: 'deny' })).rejects.toMatchObject({ code: 'APPROVAL_ALREADY_DECIDED' });
    });
  }, 120_000);

  // The same cap held DELETE: the `endSession` update was turned away until its deadline. It now goes in as a signal.
  it('ends the session (by signal) while the cap is full of messages queued behind a paused turn', async () => {
    const script = [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'hi' } }] }, { action: 'RESPOND', response: 'echoed' }, ...responses(10)];
    const agent = await writeAgent('approval-cap-end', script, {}, { tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } } });
    const id = `approval-cap-end-${Date.now().toString(36)}`;
    await withSessionWorker(env, { taskQueue, agents: [agent] }, async () => {
      // A turn wait of 15 s: without the signal, the end would be refused until then.
      const sessions = new TemporalSessions({ client: env.client, taskQueue, turnTimeoutMs: 15_000 });
      await sessions.start(agent.snapshot, id);
      expect((await sessions.send(id, { messageId: 'm0', text: 'echo hi' })).pendingApprovals).toHaveLength(1);
      const handle = env.client.workflow.getHandle(sessionWorkflowId(id));
      const queued: WorkflowUpdateHandle<TurnResult>[] = [];
      for (let i = 1; i <= 10; i++) {
        queued.push(await handle.startUpdate(sendMessage, { args: [{ messageId: `m${i}`, text: `queued ${i}` }], waitForStage: WorkflowUpdateStage.ACCEPTED }));
      }
      const asked = Date.now();
      const view = await sessions.end(id);
      console.log(`end by signal answered in ${Date.now() - asked} ms`);
      expect(view).toMatchObject({ status: 'ended' });
      expect(Date.now() - asked).toBeLessThan(10_000);
      // The queued messages are refused as the session ended (none hangs), and the workflow has closed.
      const outcomes: string[] = await Promise.all(
        queued.map((u) => u.result().then(() => 'answered', (err: Error) => (err.cause instanceof Error ? err.cause.message : err.message))),
      );
      expect(outcomes.every((o) => /ended/i.test(o)), outcomes.join('; ')).toBe(true);
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    });
  }, 120_000);

  // Regression (the same chaos run, after the fix above): a turn that paused for approval while the run drained for
  // continue-as-new (due, with updates of queued messages still unanswered) refused every decision as
  // SESSION_CONTINUING, and the run could not continue as new before those updates were answered: stuck for good.
  it('is decided while the run drains for continue-as-new, and the queued messages are answered', async () => {
    const script = [
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 1_500 } }] },
      { action: 'RESPOND', response: 'slept' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'hi' } }] },
      { action: 'RESPOND', response: 'echoed' },
      { action: 'RESPOND', response: 'last' },
    ];
    const agent = await writeAgent('approval-drain', script, { max_turns_per_run: 1 }, {
      steps: [{ step_id: 'chat', description: 'chat', available_tools: ['slow', 'echo'] }],
      flows: [],
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
    });
    const id = `approval-drain-${Date.now().toString(36)}`;
    await withSessionWorker(env, { taskQueue, agents: [agent] }, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      const handle = env.client.workflow.getHandle(sessionWorkflowId(id));
      const send = (messageId: string) => handle.startUpdate(sendMessage, { args: [{ messageId, text: messageId }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const [m0, m1, m2] = [await send('m0'), await send('m1'), await send('m2')]; // m1 and m2 queue behind m0's slow tool
      expect((await m0.result()).reply).toBe('slept');
      // Turn 2 (m1) pauses for approval in a run that is due to continue as new (max_turns_per_run: 1).
      await vi.waitFor(async () => expect((await sessions.state(id)).pendingApprovals).toEqual([expect.objectContaining({ callId: 't2.2' })]), { timeout: 10_000 });
      expect(await sessions.decideApproval(id, { callId: 't2.2', decision: 'approve' })).toMatchObject({ callId: 't2.2', decision: 'approve' });
      expect((await m1.result()).pendingApprovals).toHaveLength(1); // the update answers with the paused turn, as always
      await vi.waitFor(async () => expect(await sessions.turnResult(id, 'm1')).toMatchObject({ status: 'done', result: { reply: 'echoed' } }), { timeout: 10_000 });
      expect((await m2.result()).reply).toBe('last');
      expect((await sessions.state(id)).run).toBeGreaterThanOrEqual(2);
    });
  }, 120_000);

  // Regression (chaos suite, short variant in CI, invariant 3): a burst message's turn paused for approval while its
  // client's request had already timed out; the messages queued behind that turn filled the API's lane for the
  // session, so each time the client sent the paused message again it waited in the lane behind them (until its own
  // time-out), never saw the approval, and nobody decided it. A message the workflow already has is now answered
  // outside the lane, as its first request was: the early result with the pending call.
  it('answers a paused message sent again at once, while the messages queued behind it fill the API lane', async () => {
    const script = [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'hi' } }] }, { action: 'RESPOND', response: 'echoed' }, ...responses(2)];
    const agent = await writeAgent('approval-lane', script, {}, { tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } } });
    const id = `approval-lane-${Date.now().toString(36)}`;
    await withSessionWorker(env, { taskQueue, agents: [agent] }, async (plain) => {
      // A lane of 2 per session, and a turn wait of 15 s: waiting in the lane, the retry would be refused (429) then.
      const sessions = new TemporalSessions({ client: env.client, taskQueue, maxInFlightUpdatesPerSession: 2, turnTimeoutMs: 15_000 });
      await plain.start(agent.snapshot, id);
      const paused = await sessions.send(id, { messageId: 'm0', text: 'echo hi' });
      expect(paused.pendingApprovals).toEqual([expect.objectContaining({ callId: 't1.1' })]);
      // Two messages queue behind the paused turn and hold both slots of the lane.
      const queued = [sessions.send(id, { messageId: 'm1', text: 'one' }), sessions.send(id, { messageId: 'm2', text: 'two' })];
      await vi.waitFor(async () => expect((await sessions.state(id)).queued).toBe(2), { timeout: 10_000 });

      const asked = Date.now();
      const again = await sessions.send(id, { messageId: 'm0', text: 'echo hi' });
      expect(Date.now() - asked).toBeLessThan(5_000);
      expect(again).toEqual(paused);
      expect((await sessions.state(id)).pendingApprovals).toEqual([expect.objectContaining({ callId: 't1.1' })]);

      await sessions.decideApproval(id, { callId: 't1.1', decision: 'approve' });
      expect((await Promise.all(queued)).map((r) => r.reply)).toEqual(['reply 0', 'reply 1']);
      // Answered now: sent again (the lane is free), it gets its result as before.
      expect(await sessions.turnResult(id, 'm0')).toMatchObject({ status: 'done', result: { reply: 'echoed' } });
    });
  }, 120_000);
});
