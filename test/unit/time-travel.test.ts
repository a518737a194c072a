/**
 * The pure part of time travel (src/engine/rewind.ts): the state a rewind produces from a snapshot, a fork's state,
 * the request and reply schemas (round-trip through JSON), and a fork's start options (api/fork-start-options.ts).
 */
import { describe, expect, it } from 'vitest';
import { forkStartOptions } from '../../api/fork-start-options.js';
import { sessionStartOptions } from '../../api/session-start-options.js';
import { advance, initialState, startTurn } from '../../src/engine/engine.js';
import { forkState, RewindReply, RewindRequest, rewindBranchId, rewindState, TurnStateLookup } from '../../src/engine/rewind.js';
import { loadSessionState } from '../../src/engine/state.js';
import { SessionEvent, type SessionState } from '../../src/engine/types.js';
import { SessionWorkflowInput } from '../../workflows/shared.js';
import { testAgent } from '../support/agents.js';

const agent = testAgent();
const at = (n: number) => `2026-01-01T00:00:${String(n).padStart(2, '0')}.000Z`;

/** Runs `n` one-decision turns (RESPOND `reply i`), returning the state after each (index 0: before the first). */
function conversation(n: number): SessionState[] {
  const states = [initialState(agent, 's1', at(0))];
  for (let i = 1; i <= n; i++) {
    const started = startTurn(agent, states[i - 1]!, { messageId: `m${i}`, text: `hello ${i}`, now: at(i) });
    expect(started.command.type).toBe('decide');
    const done = advance(agent, started.state, { type: 'decided', decision: { action: 'RESPOND', response: `reply ${i}` }, now: at(i) });
    expect(done.command.type).toBe('finish');
    states.push(done.state);
  }
  return states;
}

describe('rewindState', () => {
  it("is the snapshot's state, with the event sequence going on and a rewound event", () => {
    const states = conversation(4);
    const snapshot = states[2]!;
    const current = states[4]!;
    const { state, event } = rewindState(current, snapshot, 'r2-abc', at(9));
    expect(event).toEqual({ seq: current.counters.events, turn: 2, at: at(9), type: 'rewound', toTurn: 2, fromTurn: 4, branch: 'r2-abc' });
    expect(SessionEvent.parse(event)).toEqual(event);
    // Everything but the event sequence, the appended event and the clock is the snapshot's.
    const { counters, events, updatedAt, ...rest } = state;
    const { counters: sc, events: se, updatedAt: _u, ...snapRest } = snapshot;
    expect(rest).toStrictEqual(snapRest);
    expect(counters).toStrictEqual({ ...sc, events: current.counters.events + 1 });
    expect(events).toStrictEqual([...se, event]);
    expect(updatedAt).toBe(at(9));
    // The result is a valid carried state (survives continue-as-new), and the inputs are untouched.
    expect(loadSessionState(JSON.parse(JSON.stringify(state)))).toEqual(JSON.parse(JSON.stringify(state)));
    expect(conversation(4)[4]).toStrictEqual(current);
    // The next turn numbers on from the snapshot, with event seqs past the rewound event.
    const next = startTurn(agent, state, { messageId: 'm3', text: 'again', now: at(10) });
    expect(next.state.counters.turns).toBe(3);
    expect(next.state.events.at(-1)!.seq).toBeGreaterThan(event.seq);
  });

  it('refuses a snapshot of another session, of a later turn, or taken mid-turn', () => {
    const states = conversation(2);
    expect(() => rewindState(states[1]!, states[2]!, 'b', at(9))).toThrow(/does not belong/);
    expect(() => rewindState(states[2]!, { ...states[1]!, sessionId: 'other' }, 'b', at(9))).toThrow(/does not belong/);
    const midTurn = startTurn(agent, states[1]!, { messageId: 'x', text: 'x', now: at(3) }).state;
    expect(() => rewindState(states[2]!, midTurn, 'b', at(9))).toThrow(/does not belong/);
  });
});

describe('forkState and fork start options', () => {
  it("changes nothing but the session id, and starts the fork's workflow at the snapshot's step", () => {
    const snapshot = conversation(3)[3]!;
    expect(forkState(snapshot, 'fork-1')).toStrictEqual({ ...snapshot, sessionId: 'fork-1' });
    const moved = { ...snapshot, stepId: 'order' };
    const info = { parentSessionId: 's1', forkedAtTurn: 3 };
    const base = sessionStartOptions(agent, 'fork-1', { info }, 'q', true);
    const options = forkStartOptions(base, { state: JSON.stringify(moved), answered: [['m1', 1]] });
    expect(options.args[0]).toStrictEqual({ ...base.args[0], fork: { state: JSON.stringify(moved), answered: [['m1', 1]] } });
    expect(SessionWorkflowInput.parse(JSON.parse(JSON.stringify(options.args[0])))).toStrictEqual(options.args[0]);
    expect(options.memo).toMatchObject({ stepId: 'order' });
    expect(options.typedSearchAttributes!.find((a) => a.key.name === 'StepwiseStep')!.value).toBe('order');
  });
});

describe('time travel payloads', () => {
  it('round-trip through JSON and refuse bad input', () => {
    const values = [
      [RewindRequest, { toTurn: 3 }],
      [RewindReply, { toTurn: 1, fromTurn: 4, branch: rewindBranchId(1, '0123456789abcdef'), source: 'archive' }],
      [TurnStateLookup, { status: 'held', turn: 2, state: '{}', answered: [['m1', 1]] }],
      [TurnStateLookup, { status: 'missing', turn: 2, turns: 9 }],
    ] as const;
    for (const [schema, value] of values) expect(schema.parse(JSON.parse(JSON.stringify(value)))).toStrictEqual(value);
    expect(rewindBranchId(1, '0123456789abcdef')).toBe('r1-01234567');
    expect(RewindRequest.safeParse({ toTurn: -1 }).success).toBe(false);
    expect(RewindRequest.safeParse({ toTurn: 1.5 }).success).toBe(false);
    expect(RewindRequest.safeParse({ toTurn: 1, more: 1 }).success).toBe(false);
  });
});
