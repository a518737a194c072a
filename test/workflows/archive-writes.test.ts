/** The bound of the writes a session keeps while the archive is down (workflows/archive-writes.ts): pure, offline. */
import { describe, expect, it } from 'vitest';
import { jsonBytes } from '../../src/engine/state.js';
import { type ArchiveWrite, clipUnarchived, MAX_UNARCHIVED_BYTES } from '../../workflows/archive-writes.js';

/** A waiting turn write with a `stateKb` KB state snapshot and a `replyKb` KB reply. */
function turnWrite(turn: number, stateKb: number, replyKb = 1): ArchiveWrite {
  return {
    kind: 'turn',
    input: {
      sessionId: 's',
      agentName: 'a',
      configHash: 'h',
      run: 1,
      startedAt: '2026-12-07T00:00:00.000Z',
      finishedAt: '2026-12-07T00:00:01.000Z',
      turn: { messageId: `m${turn}`, turn, reply: 'r'.repeat(replyKb * 1024), stepId: 'start', ended: false, events: [] },
      state: 's'.repeat(stateKb * 1024),
    },
  };
}

describe('clipUnarchived', () => {
  it('clips the oldest turns only until the list fits, and returns its exact JSON bytes', () => {
    const info: ArchiveWrite = { kind: 'info', input: { sessionId: 's', title: 't' } as never };
    const pending = [info, ...Array.from({ length: 60 }, (_, i) => turnWrite(i + 1, 150, 2))];
    const bytes = clipUnarchived(pending);
    expect(bytes).toBe(jsonBytes(pending));
    expect(bytes).toBeLessThanOrEqual(MAX_UNARCHIVED_BYTES);
    const clipped = pending.map((w) => w.kind === 'turn' && w.input.state === undefined);
    const firstWhole = clipped.indexOf(false, 1);
    expect(pending[0]).toBe(info); // not a turn: kept as it is
    expect(clipped.slice(1, firstWhole).every(Boolean)).toBe(true); // oldest first, none skipped
    expect(clipped.slice(firstWhole).some(Boolean)).toBe(false); // the newest are whole
    expect(firstWhole).toBeLessThan(pending.length); // some turns stayed whole
    const whole = pending[firstWhole];
    expect(whole.kind === 'turn' && whole.input.turn.reply.length).toBe(2 * 1024);
    // Clipping one turn fewer would not have fitted: the cut is as late as it can be.
    const oneFewer = [...pending];
    oneFewer[firstWhole - 1] = turnWrite(firstWhole - 1, 150, 2);
    expect(jsonBytes(oneFewer)).toBeGreaterThan(MAX_UNARCHIVED_BYTES);
  });

  it('leaves a list that fits untouched, and clips everything when even that is over', () => {
    const small = [turnWrite(1, 1), turnWrite(2, 1)];
    const before = JSON.stringify(small);
    expect(clipUnarchived(small)).toBe(before.length);
    expect(JSON.stringify(small)).toBe(before);
    const tight = [turnWrite(1, 10), turnWrite(2, 10)];
    expect(clipUnarchived(tight, 100)).toBe(jsonBytes(tight));
    expect(tight.every((w) => w.kind === 'turn' && w.input.state === undefined)).toBe(true);
  });
});
