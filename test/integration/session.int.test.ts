/**
 * The session workflow on Temporal's real dev server (started once per run by test/support/global-setup.ts), driven
 * through the API's Temporal backend (`TemporalSessions`): a full conversation, duplicate message ids (concurrent,
 * sequential, across continue-as-new), a burst of 50 messages over the server's 10-in-flight-updates cap, the idle
 * timeout, and search attributes.
 *
 * With STEPWISE_RECORD_HISTORIES=1 the histories are written to test/fixtures/histories/ for the offline replay test.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { agentSearchAttribute, getState, sessionWorkflowId } from '../../workflows/shared.js';
import { recordHistory } from '../support/histories.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

describe('session workflow on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let sessions: TemporalSessions;
  const taskQueue = `stepwise-int-session-${process.pid}`;
  /** Session ids unique to this run, so a long-lived server (TEMPORAL_ADDRESS) can run the suite again. */
  const run = Date.now().toString(36);
  const sid = (name: string) => `${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    sessions = new TemporalSessions({ client: env.client, taskQueue });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const withWorker = <T>(agents: LoadedAgent[], fn: () => Promise<T>) => withSessionWorker(env, { taskQueue, agents }, fn);

  /** Polls `check` every 100 ms until it holds (fails after `timeoutMs`). */
  async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const handleOf = (sessionId: string): WorkflowHandle => env.client.workflow.getHandle(sessionWorkflowId(sessionId));

  it('holds a full conversation (move, tools with an error, flow enter/exit, end); then SESSION_ENDED', async () => {
    const agent = await writeAgent('full', [
      { action: 'RESPOND', response: 'hello' },
      { action: 'MOVE', step_id: 'work' },
      {
        action: 'TOOL_CALL',
        tool_calls: [
          { tool: 'echo', arguments: { text: 'a' } },
          { tool: 'slow', arguments: { ms: 50 } },
          { tool: 'fail', arguments: {} },
        ],
      },
      { action: 'RESPOND', response: 'worked' },
      { action: 'MOVE', step_id: 'chat' },
      { action: 'END', response: 'bye' },
    ]);
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('full'));
      expect((await sessions.send(sid('full'), { messageId: 'm1', text: 'hi' })).reply).toBe('hello');
      const r2 = await sessions.send(sid('full'), { messageId: 'm2', text: 'do work' });
      expect(r2).toMatchObject({ reply: 'worked', stepId: 'work', flowId: 'working' });
      const results = r2.events.filter((e) => e.type === 'tool_result');
      expect(results).toHaveLength(2);
      const errors = r2.events.filter((e) => e.type === 'tool_error');
      expect(errors).toHaveLength(1);
      expect(r2.events.map((e) => e.type)).toContain('flow_enter');
      expect(JSON.stringify(errors)).toContain('the fail tool failed');
      const r3 = await sessions.send(sid('full'), { messageId: 'm3', text: 'thanks' });
      expect(r3).toMatchObject({ reply: 'bye', ended: true });
      expect(r3.events.map((e) => e.type)).toContain('flow_exit');
      expect(await handleOf(sid('full')).result()).toMatchObject({ reason: 'end_action', turns: 3 });
      await expect(sessions.send(sid('full'), { messageId: 'm4', text: 'again?' })).rejects.toMatchObject({ code: 'SESSION_ENDED' });
      // A retry of the message that ended the session still gets its reply.
      expect((await sessions.send(sid('full'), { messageId: 'm3', text: 'thanks' })).reply).toBe('bye');
      await expect(sessions.post(sid('full'), { messageId: 'p1', text: 'fire and forget' })).rejects.toMatchObject({ code: 'SESSION_ENDED' });
      expect(await sessions.end(sid('full'))).toMatchObject({ status: 'ended', turns: 3 }); // idempotent end
      // The id of an ended session is never reused for a new conversation.
      await expect(sessions.start(agent.snapshot, sid('full'))).rejects.toMatchObject({ code: 'SESSION_EXISTS' });
      const description = await handleOf(sid('full')).describe();
      expect(description.memo).toMatchObject({ agent: 'full', status: 'ended', stepId: 'chat', turns: 3 });
      await recordHistory('flow-conversation', handleOf(sid('full')));
    });
  });

  it('sets search attributes (agent, step, status) that list and filter sessions', async () => {
    const agent = await writeAgent(sid('searchable'), [{ action: 'MOVE', step_id: 'work' }, { action: 'RESPOND', response: 'in work' }]);
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('search'));
      await sessions.send(sid('search'), { messageId: 'm1', text: 'go to work' });
      const query = `StepwiseAgent = '${sid('searchable')}' AND StepwiseStep = 'work' AND StepwiseStatus = 'active'`;
      let found: string[] = [];
      // Visibility is eventually consistent: wait for the upsert to be indexed.
      for (let i = 0; i < 50 && found.length === 0; i++) {
        found = [];
        for await (const wf of env.client.workflow.list({ query })) found.push(wf.workflowId);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(found).toEqual([sessionWorkflowId(sid('search'))]);
      const description = await handleOf(sid('search')).describe();
      expect(description.typedSearchAttributes.get(agentSearchAttribute)).toBe(sid('searchable'));
    });
  });

  it('runs a turn once per message id: concurrent, sequential, and across continue-as-new', async () => {
    const agent = await writeAgent('dup', responses(10), { max_turns_per_run: 2 });
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('dup'));
      const [a, b] = await Promise.all([
        sessions.send(sid('dup'), { messageId: 'same', text: 'hello' }),
        sessions.send(sid('dup'), { messageId: 'same', text: 'hello' }),
      ]);
      const c = await sessions.send(sid('dup'), { messageId: 'same', text: 'hello' });
      expect(a.reply).toBe('reply 0');
      expect(b).toEqual(a);
      expect(c).toEqual(a);
      // Two more turns; the run continues as new once it is idle after its second turn.
      expect((await sessions.send(sid('dup'), { messageId: 'two', text: 'next' })).reply).toBe('reply 1');
      expect((await sessions.send(sid('dup'), { messageId: 'three', text: 'next' })).reply).toBe('reply 2');
      await waitFor(async () => (await sessions.state(sid('dup'))).run >= 2);
      // Ids from the previous run are still recognised: same result, no new turn.
      const again = await sessions.send(sid('dup'), { messageId: 'same', text: 'hello' });
      expect(again).toEqual(a);
      expect((await sessions.send(sid('dup'), { messageId: 'two', text: 'next' })).reply).toBe('reply 1');
      expect((await sessions.state(sid('dup'))).turns).toBe(3);
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${sessionWorkflowId(sid('dup'))}' AND ExecutionStatus = 'ContinuedAsNew'` })) {
        await recordHistory('continue-as-new', env.client.workflow.getHandle(wf.workflowId, wf.runId));
        break;
      }
    });
  });

  it('answers 50 messages sent at once, each id twice, in arrival order (server cap: 10 in-flight updates)', async () => {
    const agent = await writeAgent('burst', responses(60));
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('burst'));
      const ids = Array.from({ length: 50 }, (_, i) => `b${i}`);
      const sends = ids.flatMap((id, i) => [0, 1].map(() => sessions.send(sid('burst'), { messageId: id, text: `message ${i}` })));
      const results = await Promise.all(sends);
      for (let i = 0; i < ids.length; i++) {
        const [first, second] = [results[2 * i], results[2 * i + 1]];
        expect(first.messageId).toBe(ids[i]);
        expect(second).toEqual(first);
        expect(first.turn).toBe(i + 1); // arrival order
        expect(first.reply).toBe(`reply ${i}`);
      }
      expect((await sessions.state(sid('burst'))).turns).toBe(50);
    });
  });

  it('ends an idle session after its durable idle timeout', async () => {
    const agent = await writeAgent('idle', [{ action: 'RESPOND', response: 'hi' }], { idle_timeout: '2s' });
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('idle'));
      await sessions.send(sid('idle'), { messageId: 'm1', text: 'hello' });
      expect(await handleOf(sid('idle')).result()).toMatchObject({ reason: 'idle_timeout', turns: 1 });
      expect((await handleOf(sid('idle')).query(getState)).status).toBe('ended');
      await expect(sessions.send(sid('idle'), { messageId: 'm2', text: 'still there?' })).rejects.toMatchObject({ code: 'SESSION_ENDED' });
      await recordHistory('idle-timeout', handleOf(sid('idle')));
    });
  });
});
