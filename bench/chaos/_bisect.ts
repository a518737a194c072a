import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../workers/workflows-path.js';
const h = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const fi = h.events.findIndex((e: any) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED');
const events = fi > 0 ? h.events.slice(0, fi - 1) : h.events;
const ends: number[] = [];
events.forEach((e: any, i: number) => { if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED') ends.push(i + 1); });
const fails = async (k: number) => { try { await Worker.runReplayHistory({ workflowsPath }, { events: events.slice(0, ends[k]) }, `w${k}`); return false; } catch (e) { return (e as Error).message.slice(0, 300); } };
let lo = 0, hi = ends.length - 1;
if (!(await fails(hi))) { console.log('full prefix replays'); process.exit(0); }
while (lo < hi) { const mid = (lo + hi) >> 1; if (await fails(mid)) hi = mid; else lo = mid + 1; }
console.log('first failing prefix ends at event', ends[lo], 'previous ok', ends[lo - 1], await fails(lo));
