/**
 * Regression (chaos suite, seed 7006, invariant 2 "the reply reflects it"): a worker stopped (SIGSTOP) with its
 * activity polls open took every attempt of a tool call, one after the other; each timed out on its heartbeat, the
 * three attempts allowed were spent, and the model was told the tool failed, while its first attempt had committed the
 * effect. Only lost attempts fail the `runTool` activity (a tool's own error is a result), so it now has 10.
 *
 * Here, on the real dev server: a tool that blocks the worker's event loop for 4 s (no heartbeats, as in a stall) on
 * its first three executions, then answers. Its turn must report the tool's result, not an error. The result is the
 * last execution's: usually the fourth, but an attempt the worker's poller took while the event loop was blocked can
 * time out (1.5 s heartbeat timeout) before it runs, and then its execution is lost too (seen in CI: five).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

/** `stall`: the first 3 executions block the event loop for 4 s (counted in `STALL_COUNT_FILE`), then it answers. */
const STALL_TOOL = `import { readFileSync, writeFileSync } from 'node:fs';
export const tools = [
  { name: 'stall', description: 'stalls its worker, then answers', parameters: { type: 'object', properties: {} },
    execute(_args, ctx) {
      const file = process.env.STALL_COUNT_FILE;
      const n = Number(readFileSync(file, 'utf8') || '0') + 1;
      writeFileSync(file, String(n));
      if (n <= 3) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4_000);
      return { executions: n, key: ctx.idempotencyKey };
    } },
];
`;

describe('tool attempts lost to a stalled worker', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-lost-tool-${process.pid}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('are retried until one answers: the turn reports the tool result, not an error', async () => {
    const script = [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'stall', arguments: {} }] }, { action: 'RESPOND', response: 'done' }];
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-int-lost-tool-'));
    writeFileSync(join(dir, 'stall.mjs'), STALL_TOOL);
    const counter = join(dir, 'count');
    writeFileSync(counter, '');
    process.env.STALL_COUNT_FILE = counter;
    const loaded = await writeAgent('lost-tool', script, {}, {
      steps: [{ step_id: 'chat', description: 'chat', available_tools: ['stall'] }],
      flows: [],
      tools: { tool_files: [join(dir, 'stall.mjs')] },
    });
    const id = `lost-tool-${Date.now().toString(36)}`;
    try {
      await withSessionWorker(env, { taskQueue, agents: [loaded] }, async (sessions) => {
        await sessions.start(loaded.snapshot, id);
        const result = await sessions.send(id, { messageId: 'm1', text: 'stall' });
        expect(result.reply).toBe('done');
        const outcome = result.events.filter((e) => e.type === 'tool_result' || e.type === 'tool_error');
        const executions = Number(readFileSync(counter, 'utf8'));
        expect(executions).toBeGreaterThanOrEqual(4); // three stalled, then the one that answered (or more, above)
        expect(executions).toBeLessThanOrEqual(10); // the activity's attempts
        expect(outcome).toEqual([expect.objectContaining({ type: 'tool_result', callId: 't1.1', result: { executions, key: `${id}/t1.1` } })]);
      });
    } finally {
      delete process.env.STALL_COUNT_FILE;
    }
  }, 120_000);
});
