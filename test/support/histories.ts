/**
 * Recording workflow histories from the real server for the offline replay test (test/workflows/replay.test.ts).
 * Only when `STEPWISE_RECORD_HISTORIES=1`: `npm run record:histories`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

/** Where committed histories live. */
export const HISTORIES_DIR = join(import.meta.dirname, '..', 'fixtures', 'histories');

/** Workflow version prefix of recorded files: bump when a release changes the workflow (and keep the old files). */
export const HISTORY_VERSION = 'v8';

export const RECORDING = process.env.STEPWISE_RECORD_HISTORIES === '1';

/** Writes `handle`'s history to `<HISTORIES_DIR>/<HISTORY_VERSION>-<name>.json` when recording; else does nothing. */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (!RECORDING) return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  // The same JSON as `temporal workflow show --output json` (what `Worker.runReplayHistory` reads back).
  const history = JSON.parse(historyToJSON(await handle.fetchHistory()));
  writeFileSync(join(HISTORIES_DIR, `${HISTORY_VERSION}-${name}.json`), `${JSON.stringify(history, null, 1)}\n`);
}

/** Patch ids of a history's `core_patch` markers, in order (`events` as in `temporal workflow show -o json`). */
export function patchIds(events: any[]): string[] {
  return events
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes.details['patch-data'].payloads[0].data, 'base64').toString()).id);
}
