/**
 * The second shape of the two-activation split (docs/chaos.md, workflows/command-order.ts): a history of the chaos
 * suite (`npm run chaos -- --seed 7011` under a 256 MB heap, session `chaos-7011-6-0`, 2026-12-07, the first 513
 * events) recorded with patch `update-responses-last` only. Its workflow task 499-501 ran on a worker that took the
 * burst session over cold: one activation (the `archiveTurn` result) ended a turn and recorded the completion of
 * `burst1-1` (event 505), a second one accepted `burst1-18` and `burst1-15` (506, 507). Replayed in one activation, the
 * SDK runs the update jobs first: "UpdateMachine in state AcceptCommandCreated says the transition is invalid during
 * event ... 505, WorkflowExecutionUpdateCompleted". A query on the closed run failed that way (a 500 of the run).
 *
 * Since patch `update-completions-first` the session workflow orders the completions of updates accepted in earlier
 * activations before the responses to new ones. The second test gives the same history what the code since the patch
 * records: its marker (after the first one, as the workflow asks it) and, in every workflow task, those completions
 * moved before the other update responses (the split task 499-501 already has that order); it must replay.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PATCH_IDS } from '../../src/session/contract.js';
import { workflowsPath } from '../../workers/workflows-path.js';

/** A raw history event (JSON as `temporal workflow show -o json` prints it). */
type Event = Record<string, any>;

const file = join(import.meta.dirname, '..', 'fixtures', 'chaos', 'update-completed-after-split.json.gz');
const recorded = (): Event[] => JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')).events;

/** `events` renumbered 1..n in their order, with every `...EventId` field mapped to the new numbers. */
function renumber(events: Event[]): Event[] {
  const ids = new Map(events.map((e, i) => [String(e.eventId), String(i + 1)]));
  const remap = (value: any): any => {
    if (Array.isArray(value)) return value.map(remap);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /EventId$/.test(k) && ids.has(String(v)) ? ids.get(String(v)) : remap(v)]));
  };
  return events.map((e, i) => ({ ...remap(e), eventId: String(i + 1) }));
}

/** The history as the code since `update-completions-first` records it (see the file comment). */
function withCompletionsFirst(events: Event[]): Event[] {
  const marker = events.findIndex((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED');
  const [patchMarker, changeVersion] = [events[marker]!, events[marker + 1]!];
  const payload = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
  const newMarker = structuredClone(patchMarker);
  newMarker.markerRecordedEventAttributes.details['patch-data'].payloads[0].data = payload({ id: PATCH_IDS.updateCompletionsFirst, deprecated: false });
  const newVersion = structuredClone(changeVersion);
  newVersion.upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields.TemporalChangeVersion.data = payload([
    PATCH_IDS.updateResponsesLast,
    PATCH_IDS.updateCompletionsFirst,
  ]);
  const out = [...events.slice(0, marker + 2), newMarker, newVersion, ...events.slice(marker + 2)];
  // Each workflow task's commands follow its WORKFLOW_TASK_COMPLETED; the update responses among them are reordered.
  const acceptedAt = new Map<string, number>(); // acceptance event id -> index of its task's completion
  for (let i = 0; i < out.length; i++) {
    if (out[i]!.eventType !== 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') continue;
    const task = String(out[i]!.eventId);
    const isCommand = (e: Event) => /UPDATE_(ACCEPTED|COMPLETED)$/.test(e.eventType) || Object.values(e).some((a) => a?.workflowTaskCompletedEventId === task);
    let end = i + 1;
    while (end < out.length && isCommand(out[end]!)) end++;
    const batch = out.slice(i + 1, end);
    for (const e of batch) if (e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED') acceptedAt.set(String(e.eventId), i);
    const earlier = (e: Event) =>
      e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED' && (acceptedAt.get(String(e.workflowExecutionUpdateCompletedEventAttributes.acceptedEventId)) ?? -1) < i;
    const first = batch.findIndex((e) => /UPDATE_(ACCEPTED|COMPLETED)/.test(e.eventType));
    if (first === -1) continue;
    const reordered = [...batch.slice(0, first), ...batch.filter(earlier), ...batch.slice(first).filter((e) => !earlier(e))];
    out.splice(i + 1, batch.length, ...reordered);
  }
  return renumber(out);
}

describe('a burst session whose update completion was split from two acceptances', () => {
  it('fails replay as recorded (update-responses-last only): the acceptances replay before the completion', async () => {
    const replay = Worker.runReplayHistory({ workflowsPath }, { events: recorded() }, 'chaos-7011-6-0');
    await expect(replay).rejects.toThrow(/UpdateMachine in state AcceptCommandCreated says the transition is invalid during event EventInfo \{ event_id: 505/);
  }, 60_000);

  it('replays as the code since update-completions-first records it', async () => {
    const events = withCompletionsFirst(recorded());
    expect(events).toHaveLength(515);
    // The split task keeps its recorded order: the completion of burst1-1, then the two acceptances.
    const updates = events.slice(502, 510).filter((e) => /UPDATE_(ACCEPTED|COMPLETED)/.test(e.eventType));
    expect(updates.map((e) => e.eventType.replace('EVENT_TYPE_WORKFLOW_EXECUTION_', ''))).toEqual(['UPDATE_COMPLETED', 'UPDATE_ACCEPTED', 'UPDATE_ACCEPTED']);
    await expect(Worker.runReplayHistory({ workflowsPath }, { events }, 'chaos-7011-6-0')).resolves.toBeUndefined();
  }, 60_000);
});
