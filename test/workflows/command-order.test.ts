/**
 * workflows/command-order.ts: update responses after the other commands of an activation, terminal commands last;
 * since `update-completions-first`, completions of updates accepted earlier before the responses to new ones.
 */
import { describe, expect, it } from 'vitest';
import { earlierCompletionsFirst, updateResponsesLast } from '../../workflows/command-order.js';

const schedule = (seq: number) => ({ scheduleActivity: { seq, activityType: 'archiveTurn' } });
const accept = (id: string) => ({ updateResponse: { protocolInstanceId: id, accepted: {} } });
const complete = (id: string) => ({ updateResponse: { protocolInstanceId: id, completed: {} } });
const reject = (id: string) => ({ updateResponse: { protocolInstanceId: id, rejected: { message: 'no' } } });

describe('updateResponsesLast', () => {
  it('puts an acceptance emitted before an activity after it (the order a task split in two activations records)', () => {
    expect(updateResponsesLast([accept('m111'), schedule(27)])).toEqual([schedule(27), accept('m111')]);
  });

  it('keeps each group in order (an acceptance before its completion) and terminal commands last', () => {
    const timer = { startTimer: { seq: 3 } };
    const can = { continueAsNewWorkflowExecution: { workflowType: 'sessionWorkflow' } };
    const withMetadata = { userMetadata: { summary: {} }, scheduleActivity: { seq: 9 } };
    expect(updateResponsesLast([accept('a'), timer, complete('a'), accept('b'), withMetadata, can])).toEqual([timer, withMetadata, accept('a'), complete('a'), accept('b'), can]);
  });

  it('returns the same array when nothing moves', () => {
    const done = [schedule(1), accept('x'), complete('x')];
    expect(updateResponsesLast(done)).toBe(done);
    const none = [schedule(1), { startTimer: { seq: 2 } }];
    expect(updateResponsesLast(none)).toBe(none);
    expect(updateResponsesLast([])).toEqual([]);
  });
});

describe('earlierCompletionsFirst', () => {
  it('puts the completion of an update accepted earlier before new acceptances (the order a split task records)', () => {
    // Replayed in one activation: the update jobs run first (acceptances), the activity result then ends the turn.
    const combined = updateResponsesLast([accept('burst1-18'), accept('burst1-15'), schedule(30), complete('burst1-1')]);
    expect(earlierCompletionsFirst(combined, new Set(['burst1-1']))).toEqual([schedule(30), complete('burst1-1'), accept('burst1-18'), accept('burst1-15')]);
  });

  it('counts a rejection of an update accepted earlier (its handler failed) as a completion, not one of a new update', () => {
    expect(earlierCompletionsFirst([accept('n'), reject('old')], new Set(['old']))).toEqual([reject('old'), accept('n')]);
    expect(earlierCompletionsFirst([accept('n'), reject('new')], new Set(['old']))).toEqual([accept('n'), reject('new')]);
  });

  it('keeps an update accepted and completed in the same activation in that order, after the earlier completions', () => {
    const commands = [schedule(1), accept('a'), complete('a'), complete('old'), { completeWorkflowExecution: {} }];
    expect(earlierCompletionsFirst(commands, new Set(['old']))).toEqual([schedule(1), complete('old'), accept('a'), complete('a'), { completeWorkflowExecution: {} }]);
  });

  it('returns the same array when nothing moves', () => {
    const already = [schedule(1), complete('old'), accept('a')];
    expect(earlierCompletionsFirst(already, new Set(['old']))).toBe(already);
    const noEarlier = [schedule(1), accept('a'), complete('a')];
    expect(earlierCompletionsFirst(noEarlier, new Set())).toBe(noEarlier);
    expect(earlierCompletionsFirst([], new Set(['old']))).toEqual([]);
  });
});
