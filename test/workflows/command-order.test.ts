/** workflows/command-order.ts: update responses after the other commands of an activation, terminal commands last. */
import { describe, expect, it } from 'vitest';
import { updateResponsesLast } from '../../workflows/command-order.js';

const schedule = (seq: number) => ({ scheduleActivity: { seq, activityType: 'archiveTurn' } });
const accept = (id: string) => ({ updateResponse: { protocolInstanceId: id, accepted: {} } });
const complete = (id: string) => ({ updateResponse: { protocolInstanceId: id, completed: {} } });

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
