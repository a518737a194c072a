/**
 * Regression (found by the chaos suite, invariants 3 and 1: a burst session stuck, its acknowledged messages never
 * answered): under a burst of `sendMessage` updates with queries arriving, a local activity's result reached the
 * workflow one workflow task after its marker was recorded; replay resolves it a task earlier, so the workflow's next
 * commands came before the update accepted in between and every replay failed ("[TMPRL1100] ... does not handle
 * HistoryEvent(WorkflowExecutionUpdateAccepted)"). Since the `no-local-activities` patch, new sessions call every
 * activity as a regular one (docs/chaos.md).
 *
 * Here, on the real dev server with the archive on: a burst of 30 messages at once while 5 loops query the session;
 * every message is answered once, the history holds no local-activity marker (so the race has nothing to act on) and
 * the `no-local-activities` patch marker, and it replays. And the history a chaos run recorded before the fix
 * (test/fixtures/chaos/burst-late-local-activity.json) still fails replay, as it did.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { workflowsPath } from '../../workers/workflows-path.js';
import { getTurnResult, sessionWorkflowId } from '../../workflows/shared.js';
import { patchIds } from '../support/histories.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

/** Events a workflow task's commands write (the history service writes them right after its WORKFLOW_TASK_COMPLETED). */
const COMMAND_EVENTS = new Set([
  'ACTIVITY_TASK_SCHEDULED', 'TIMER_STARTED', 'TIMER_CANCELED', 'MARKER_RECORDED', 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
  'WORKFLOW_PROPERTIES_MODIFIED', 'UPDATE_ACCEPTED', 'UPDATE_COMPLETED', 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW', 'WORKFLOW_EXECUTION_COMPLETED',
]);
const TERMINAL_EVENTS = new Set(['WORKFLOW_EXECUTION_CONTINUED_AS_NEW', 'WORKFLOW_EXECUTION_COMPLETED']);

/** For each completed workflow task, the types of the command events it wrote, in order (`UPDATE_*` shortened). */
function commandBlocks(events: any[]): string[][] {
  const blocks: string[][] = [];
  let block: string[] | undefined;
  for (const e of events) {
    const type = String(e.eventType).replace('EVENT_TYPE_', '').replace('WORKFLOW_EXECUTION_UPDATE_', 'UPDATE_');
    if (type === 'WORKFLOW_TASK_COMPLETED') blocks.push((block = []));
    else if (type === 'WORKFLOW_TASK_SCHEDULED') block = undefined;
    else if (block && COMMAND_EVENTS.has(type)) block.push(type);
  }
  return blocks;
}

describe('a burst of messages while clients query the session', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-burst-${process.pid}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('answers every message once, records no local activity and replays', async () => {
    const agent = await writeAgent('burst', responses(40));
    const id = `burst-${Date.now().toString(36)}`;
    await withSessionWorker(env, { taskQueue, agents: [agent], archive: new InMemoryArchiveStore() }, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      const handle = env.client.workflow.getHandle(sessionWorkflowId(id));
      let stop = false;
      const queries = Promise.all(
        Array.from({ length: 5 }, async () => {
          while (!stop) await handle.query(getTurnResult, 'none').catch(() => undefined);
        }),
      );
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => sessions.send(id, { messageId: `b${i}`, text: `burst ${i}` })));
      stop = true;
      await queries;
      expect(new Set(results.map((r) => r.turn)).size).toBe(30);
      expect(results.every((r) => r.reply?.startsWith('reply '))).toBe(true);

      const history = JSON.parse(JSON.stringify(await handle.fetchHistory()));
      const events: any[] = history.events;
      expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toEqual([]);
      expect(patchIds(events)).toContain('no-local-activities');
      expect(patchIds(events)).not.toContain('decide-local-activity');
      const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      expect(scheduled.filter((n) => n === 'decide')).toHaveLength(30);
      expect(scheduled.filter((n) => n === 'archiveTurn')).toHaveLength(30);
      // Patch `update-responses-last` (workflows/command-order.ts): in every workflow task, the updates accepted and
      // completed come after the task's other commands, whichever way the SDK core grouped its jobs.
      expect(patchIds(events)).toContain('update-responses-last');
      const blocks = commandBlocks(events);
      // Not vacuous: a turn that ends with messages queued completes its update and schedules the next `decide` in one task.
      expect(blocks.some((b) => b.includes('UPDATE_COMPLETED') && b.includes('ACTIVITY_TASK_SCHEDULED')), blocks.map((b) => b.join(' ')).join('\n')).toBe(true);
      for (const block of blocks) {
        const firstUpdate = block.findIndex((t) => t.startsWith('UPDATE_'));
        if (firstUpdate >= 0) expect(block.slice(firstUpdate).filter((t) => !t.startsWith('UPDATE_') && !TERMINAL_EVENTS.has(t)), block.join(' ')).toEqual([]);
      }
      // Patch `update-completions-first` (its ordering is tested on a chaos history: test/workflows/update-completions-replay).
      expect(patchIds(events)).toContain('update-completions-first');
      await expect(Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory(), id)).resolves.toBeUndefined();
    });
  }, 180_000);

  it('failed replay before the fix (the history a chaos run recorded)', async () => {
    const history = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'chaos', 'burst-late-local-activity.json'), 'utf8'));
    expect(patchIds(history.events)).toContain('decide-local-activity');
    await expect(Worker.runReplayHistory({ workflowsPath }, history, 'burst-before-fix')).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
