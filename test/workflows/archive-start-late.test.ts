/**
 * Regression (found by the chaos suite, invariant 3 "no session stuck"): when the archive start's local activity
 * finished while the session's first activation still ran, the SDK asked for a second workflow task to resolve it,
 * and the `decide-local-activity` patch marker, asked after the archive start, landed in that second task. Replay
 * resolves the local activity within the first task, so every later replay (another worker, a cache eviction, a
 * query on a cold worker) failed with "[TMPRL1100] Nondeterminism error: Non-deprecated patch marker encountered for
 * change decide-local-activity": the session was stuck, every message answered 500.
 *
 * `archive-start-resolved-late-before-fix.json` is the first 20 events of such a session from a chaos run (seed 1):
 * it fails replay. `archive-start-resolved-late.json` is the same timing as the workflow writes it since the
 * `executors-first` patch (both markers in the first task, before the archive start; the second task records no
 * command): it replays.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../workers/workflows-path.js';
import { patchIds } from '../support/histories.js';

const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'chaos', `${name}.json`), 'utf8'));

describe('a session whose archive start resolves in its second workflow task', () => {
  it('replays with the executors-first patch: the decide-local-activity marker is in the first task', async () => {
    const history = fixture('archive-start-resolved-late');
    const markers = history.events.filter((e: any) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    expect(patchIds(history.events)).toEqual(['nomos-iteration-rules', 'idle-timer-first', 'idle-timer-per-period', 'executors-first', 'decide-local-activity']);
    expect(markers.every((e: any) => e.markerRecordedEventAttributes.workflowTaskCompletedEventId === '4')).toBe(true);
    await expect(Worker.runReplayHistory({ workflowsPath }, history, 'archive-start-resolved-late')).resolves.toBeUndefined();
  }, 120_000);

  it('failed replay before it (the history a chaos run recorded)', async () => {
    const replay = Worker.runReplayHistory({ workflowsPath }, fixture('archive-start-resolved-late-before-fix'), 'before-fix');
    await expect(replay).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
