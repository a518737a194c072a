/**
 * Engine semantics 3 (NOMOS iteration rules) on the real Temporal dev server: a new session gets the
 * `nomos-iteration-rules` patch and so `max_iter` free decisions plus one forced RESPOND, tool errors counted toward
 * `max_errors` (a fallback reply, never a failed update or a dead session), a retry after invalid tool arguments
 * narrowed to that tool, and a `summary_failed` event when the flow summary fails.
 *
 * With STEPWISE_RECORD_HISTORIES=1 the max_errors session's history is written for the offline replay test.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecisionModel, ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LlmConfig } from '../../src/config/agent.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { FALLBACK_REPLY } from '../../src/engine/engine.js';
import { PATCH_IDS, sessionWorkflowId } from '../../workflows/shared.js';
import { recordHistory } from '../support/histories.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

/** Models whose summaries always fail for good (non-retryable), so a flow change uses the extractive summary. */
class FailingSummaries extends ModelCache {
  override get(llm: LlmConfig): DecisionModel {
    const model = super.get(llm);
    return {
      decide: (req, opts) => model.decide(req, opts),
      summarize: async () => {
        throw ApplicationFailure.create({ message: 'summariser down', type: 'MODEL_REQUEST_FAILED', nonRetryable: true });
      },
      title: (req, opts) => model.title(req, opts),
    };
  }
}

describe('engine semantics 3 on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let sessions: TemporalSessions;
  const taskQueue = `stepwise-int-iteration-${process.pid}`;
  const run = Date.now().toString(36);
  const sid = (name: string) => `${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    sessions = new TemporalSessions({ client: env.client, taskQueue });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const withWorker = <T>(agents: LoadedAgent[], fn: () => Promise<T>, models = new ModelCache()) => withSessionWorker(env, { taskQueue, agents, models }, fn);

  const echo = (text: string) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text } }] });
  const types = (r: { events: { type: string }[] }) => r.events.map((e) => e.type);

  it('max_iter 3: three free decisions (MOVE and two tool calls), then a forced RESPOND', async () => {
    const agent = await writeAgent('max-iter', [{ action: 'MOVE', step_id: 'work' }, echo('a'), echo('b'), { action: 'RESPOND', response: 'done' }], {}, { max_iter: 3 });
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('max-iter'));
      const r = await sessions.send(sid('max-iter'), { messageId: 'm1', text: 'work' });
      expect(r.reply).toBe('done');
      expect(r.events.filter((e) => e.type === 'tool_result')).toHaveLength(2);
      expect(types(r)).not.toContain('decision_error');
      // The patch marker that gave this new session semantics 3 (and not the older nomos-semantics one).
      const history = await env.client.workflow.getHandle(sessionWorkflowId(sid('max-iter'))).fetchHistory();
      const markerText = (history.events ?? [])
        .flatMap((e) => Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((d) => d.payloads ?? []))
        .map((p) => Buffer.from(p.data ?? []).toString('utf8'))
        .join('\n');
      expect(markerText).toContain(PATCH_IDS.nomosIterationRules);
      expect(markerText).not.toContain(PATCH_IDS.nomosSemantics);
    });
  });

  it('max_errors 2: two failed tool calls end the turn with the fallback reply; the session goes on', async () => {
    const fail = { action: 'TOOL_CALL', tool_calls: [{ tool: 'fail', arguments: {} }] };
    const agent = await writeAgent(
      'max-errors',
      [{ action: 'MOVE', step_id: 'work' }, fail, fail, { action: 'RESPOND', response: 'still here' }],
      {},
      { max_errors: 2 },
    );
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('max-errors'));
      const r1 = await sessions.send(sid('max-errors'), { messageId: 'm1', text: 'work' });
      expect(r1).toMatchObject({ reply: FALLBACK_REPLY, ended: false });
      expect(r1.events.filter((e) => e.type === 'tool_error')).toHaveLength(2);
      expect(r1.events.find((e) => e.type === 'turn_failed')).toMatchObject({ message: expect.stringContaining('error limit reached (max_errors 2)') });
      expect((await sessions.send(sid('max-errors'), { messageId: 'm2', text: 'hello?' })).reply).toBe('still here');
      await recordHistory('iteration-rules', env.client.workflow.getHandle(sessionWorkflowId(sid('max-errors'))));
    });
  });

  it('invalid tool arguments: the retry may only call that tool', async () => {
    const agent = await writeAgent('retry-tool', [
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 'soon' } }] },
      echo('instead'),
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 5 } }] },
      { action: 'RESPOND', response: 'waited' },
    ]);
    await withWorker([agent], async () => {
      await sessions.start(agent.snapshot, sid('retry-tool'));
      const r = await sessions.send(sid('retry-tool'), { messageId: 'm1', text: 'wait' });
      expect(r.reply).toBe('waited');
      expect(r.events.find((e) => e.type === 'tool_error')).toMatchObject({ tool: 'slow', message: expect.stringContaining('invalid arguments for slow') });
      expect(r.events.find((e) => e.type === 'decision_error')).toMatchObject({ message: expect.stringContaining('only slow may be called now') });
      expect(r.events.filter((e) => e.type === 'tool_result').map((e) => (e as { tool: string }).tool)).toEqual(['slow']);
    });
  });

  it('a failing flow summary: summary_failed with the error, and the flow is entered on an extractive summary', async () => {
    const agent = await writeAgent('summary-fails', [{ action: 'MOVE', step_id: 'work' }, { action: 'RESPOND', response: 'in the flow' }]);
    await withWorker(
      [agent],
      async () => {
        await sessions.start(agent.snapshot, sid('summary-fails'));
        const r = await sessions.send(sid('summary-fails'), { messageId: 'm1', text: 'work' });
        expect(r).toMatchObject({ reply: 'in the flow', flowId: 'working' });
        expect(r.events.find((e) => e.type === 'summary_failed')).toMatchObject({
          flowId: 'working',
          purpose: 'flow_enter',
          message: expect.stringContaining('summariser down'),
        });
        expect(types(r).indexOf('summary_failed')).toBeLessThan(types(r).indexOf('flow_enter'));
      },
      new FailingSummaries(),
    );
  });
});
