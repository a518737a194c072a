/**
 * An SDK core bug, kept as an offline reproducer (docs/chaos.md "nondeterminism on live workers"): a session of the
 * chaos suite (seed 7006, `chaos-7006-18-1`, 2026-12-07) whose history replays with a nondeterminism error, found
 * under load with worker kills and stalls. Its workflow task 220 ran on a worker that had just taken the session over
 * (a full replay, then live): it got the `decide` activity's result (event 218) and the `sendMessage` update `m111`
 * together, and completed with the turn's `archiveTurn` scheduled (event 222), then `m111` accepted (event 223). Replayed, the
 * workflow code emits the acceptance first: "Update machine does not handle this event: HistoryEvent(id: 222,
 * ActivityTaskScheduled)". Live, the next workflow task (a sticky-queue timeout sent it to a cold worker) failed the
 * same way on the server, "received *update.Acceptance message while in state Accepted", for good: the session was
 * stuck. The live task must have had the two in two activations (the result first), its replay has them in one. Sessions started since
 * the `update-responses-last` patch order update responses after the other commands of every activation
 * (workflows/command-order.ts), so both groupings record the same order; this history predates the patch and keeps
 * failing. Related upstream reports: temporalio/sdk-typescript#1966 (an update accepted twice on replay),
 * temporalio/sdk-go#1057 (the same in the Go SDK, fixed there).
 *
 * When this test fails, the SDK itself replays the history: the core bug is fixed upstream, and docs/chaos.md should say so.
 * History: the first 226 events (up to the task that failed), gzipped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../workers/workflows-path.js';

describe('a session history whose update acceptance replays out of order (open SDK bug)', () => {
  it('fails replay at the activity scheduled before the acceptance', async () => {
    const file = join(import.meta.dirname, '..', 'fixtures', 'chaos', 'update-accepted-with-activity-result.json.gz');
    const history = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
    const replay = Worker.runReplayHistory({ workflowsPath }, history, 'chaos-7006-18-1');
    await expect(replay).rejects.toBeInstanceOf(DeterminismViolationError);
    await expect(replay).rejects.toThrow(/Update machine does not handle this event: HistoryEvent\(id: 222, ActivityTaskScheduled\)/);
  }, 60_000);
});
