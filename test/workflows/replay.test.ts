/**
 * Replays the histories recorded on the real dev server (test/fixtures/histories/v<N>-*.json) through the current
 * workflow code with `Worker.runReplayHistory`: a change to workflows/ or the engine that would break running sessions
 * fails here. And shows that it does: the same histories replayed with a deliberately incompatible change (a timer
 * inserted before the workflow's first command, test/fixtures/incompatible/) fail with a determinism violation.
 *
 * Record the histories again with `npm run record:histories`; keep the files of every released workflow version.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../workers/workflows-path.js';
import { patchIds } from '../support/histories.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const history = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const incompatible = join(import.meta.dirname, '..', 'fixtures', 'incompatible', 'interceptors.ts');

describe('replay of recorded histories', () => {
  it('has recorded histories of flows, tool errors, END, idle timeout, continue-as-new and a worker crash', () => {
    for (const name of ['flow-conversation', 'idle-timeout', 'continue-as-new', 'worker-crash']) {
      expect(files.some((f) => f.endsWith(`-${name}.json`)), `${name} history`).toBe(true);
    }
  });

  it('has recorded histories of approvals, embedding retrieval and a seeded NOMOS session (v4 on)', () => {
    for (const name of ['approval-restart', 'approval-timeout', 'embedding-retrieval', 'nomos-seed']) expect(files).toContain(`v4-${name}.json`);
  });

  it('has a recorded history of a session with engine semantics 3 (v5 on: max_errors counting tool errors)', () => {
    expect(files).toContain('v5-iteration-rules.json');
  });

  it('has a recorded history with token usage and a generated title (patches token-usage, session-title)', () => {
    const text = readFileSync(join(dir, 'v5-usage-title.json'), 'utf8');
    expect(text).toContain('generateTitle');
  });

  it('has recorded histories of a rewind (with regenerate and edit), a fork and a Temporal reset (v6 on: time travel)', () => {
    for (const name of ['time-travel-rewind', 'time-travel-fork', 'time-travel-reset']) expect(files).toContain(`v6-${name}.json`);
  });

  it('has recorded histories of every kind with no local activity (v7 on: patch no-local-activities)', () => {
    for (const name of ['flow-conversation', 'continue-as-new', 'worker-crash', 'approval-restart', 'embedding-retrieval', 'usage-title', 'time-travel-rewind']) {
      const events: any[] = history(`v7-${name}.json`).events;
      const patches = patchIds(events);
      expect(patches, name).toContain('no-local-activities');
      expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'), name).toEqual([]);
    }
  });

  it('has recorded histories whose update responses come after the other commands of their task (v8 on: patch update-responses-last)', () => {
    for (const name of ['flow-conversation', 'continue-as-new', 'worker-crash', 'approval-restart', 'time-travel-rewind']) {
      const events: any[] = history(`v8-${name}.json`).events;
      const patches = patchIds(events);
      expect(patches, name).toContain('update-responses-last');
    }
  });

  it.each(['v7-files.json', 'v6-files-local-decide.json'])('has a recorded history of messages with files (references in the update and the decide input, no bytes): %s', (file) => {
    // v6-files-local-decide: recorded before the no-local-activities patch (decide as a local activity).
    const text = readFileSync(join(dir, file), 'utf8');
    expect(text).toContain('sendMessage');
    // Payloads are base64 JSON: the references' `fileId` key is in them, and the workflow replays them.
    const payloads = [...text.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
    expect(payloads.some((p) => p.includes('"fileId":"f-'))).toBe(true);
    expect(payloads.some((p) => p.includes('"url":"https://images.example.com/menu.jpg"'))).toBe(true);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      await expect(Worker.runReplayHistory({ workflowsPath }, history(file), file)).resolves.toBeUndefined();
    }, 120_000);
  }

  it('fails on a deliberately incompatible workflow change', async () => {
    const file = files.find((f) => f.endsWith('-flow-conversation.json'))!;
    const replay = Worker.runReplayHistory({ workflowsPath, interceptors: { workflowModules: [incompatible] } }, history(file), file);
    await expect(replay).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
