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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
