/**
 * The session's read side: the `getState`, `getTurnResult`, `getHistory`, `getEvents` and `getTurnState` (time
 * travel) queries. Queries never
 * change the workflow (Temporal runs them on any worker, also on closed sessions replayed from history).
 */
import { setHandler } from '@temporalio/workflow';
import { clipEvent } from '../../src/engine/state.js';
import { getEvents, getHistory, getState, getTurnResult, getTurnState, type TurnLookup } from '../shared.js';
import type { SessionRun } from './run.js';

/** Registers the queries of `run`. */
export function registerViews(run: SessionRun): void {
  setHandler(getTurnState, (turn: number) => run.travel.lookup(turn));
  setHandler(getState, () => ({ ...run.view(), ...(run.endRequested ? { ending: true } : {}) }));
  setHandler(getTurnResult, (messageId: string): TurnLookup => {
    const result = run.resultOf(messageId);
    if (result) return { status: 'done', result };
    if (run.inProgress(messageId)) return { status: 'running' };
    if (run.isQueued(messageId)) return { status: 'queued' };
    const refusal = run.queue.refusalOf(messageId);
    if (refusal) return { status: 'refused', refusal };
    const turn = run.answered.get(messageId);
    return turn === undefined ? { status: 'unknown' } : { status: 'answered', turn };
  });
  setHandler(getHistory, () => ({ sessionId: run.state.sessionId, turns: run.state.recentResults }));
  setHandler(getEvents, (fromSeq: number) => ({
    firstSeq: run.state.events[0]?.seq ?? run.state.counters.events,
    nextSeq: run.state.counters.events,
    // Mid-turn, the running turn's events are still whole (a tool output can be 1 MB): clip them for the reply.
    events: run.state.events.filter((e) => e.seq >= fromSeq).map((e) => clipEvent(e)),
    ended: run.state.status === 'ended',
    busy: run.working,
  }));
}
