/**
 * `LiveEventHub` (api/live/event-hub.ts) on the in-process backend (`LocalSessions`, real engine, scripted model):
 * answers mean what the workflow's own `getEvents` pages mean, the buffer is bounded (subscribers behind it catch up
 * with a direct query), failures reach every subscriber until a round succeeds, and loops stop with their last
 * subscriber. Over HTTP: ./events-fanout.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveEventHub } from '../../api/live/event-hub.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import type { SessionEvent } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

const hubs: LiveEventHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
});

async function session(turns: number) {
  const exec = scriptedExecutors(Array.from({ length: turns + 5 }, (_, i) => ({ action: 'RESPOND', response: `r${i}` })) as never);
  const backend = new LocalSessions({ executors: () => exec, now: exec.now });
  await backend.start(testAgent(), 's');
  for (let i = 0; i < turns; i++) await backend.send('s', { messageId: `m${i}`, text: `t${i}` });
  return backend;
}

function hubOver(source: { events: LocalSessions['events'] }, options: { maxBufferedEvents?: number; pollIntervalMs?: number } = {}) {
  const kinds: string[] = [];
  const hub = new LiveEventHub({ source, pollIntervalMs: 5, maxRetryMs: 20, onQuery: (k) => kinds.push(k), ...options });
  hubs.push(hub);
  return { hub, kinds };
}

describe('LiveEventHub', () => {
  it('answers like the workflow does, from one direct query then the shared rounds', async () => {
    const backend = await session(2); // 8 events
    const { hub, kinds } = hubOver(backend);
    const a = hub.subscribe('s');
    const b = hub.subscribe('s');
    expect(await a.events(0)).toEqual(await backend.events('s', 0));
    expect(await b.events(3)).toEqual({ ...(await backend.events('s', 3)), firstSeq: 0 }); // from the buffer
    expect(kinds).toEqual(['catch_up']);
    await backend.send('s', { messageId: 'm2', text: 't2' });
    await vi.waitFor(async () => expect((await b.events(8)).events.map((e) => e.seq)).toEqual([8, 9, 10, 11]));
    expect(kinds.filter((k) => k === 'catch_up')).toEqual(['catch_up']);
    expect(hub.sessionCount).toBe(1);
    a.close();
    b.close();
    b.close(); // idempotent
    expect(hub.sessionCount).toBe(0);
    const n = kinds.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(kinds.length).toBe(n); // no loop left
  });

  it('keeps at most maxBufferedEvents; a subscriber behind them catches up with a direct query', async () => {
    const backend = await session(3); // 12 events
    const { hub, kinds } = hubOver(backend, { maxBufferedEvents: 5 });
    const a = hub.subscribe('s');
    const page = await a.events(0);
    expect(page.events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // the query's own answer
    expect((await a.events(7)).events.map((e) => e.seq)).toEqual([7, 8, 9, 10, 11]); // the kept five
    expect(kinds).toEqual(['catch_up']);
    const late = hub.subscribe('s');
    expect((await late.events(2)).events.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(kinds).toEqual(['catch_up', 'catch_up']);
  });

  it('a failing round reaches every subscriber until one succeeds; nextRound wakes them each time', async () => {
    const backend = await session(1);
    let down = false;
    const source = {
      events: (id: string, from: number) => (down ? Promise.reject(new SystemError('TEMPORAL_UNAVAILABLE', 'down')) : backend.events(id, from)),
    };
    const { hub } = hubOver(source);
    const a = hub.subscribe('s');
    await a.events(0);
    down = true;
    await a.nextRound();
    await a.nextRound();
    await expect(a.events(0)).rejects.toMatchObject({ code: 'TEMPORAL_UNAVAILABLE' });
    down = false;
    await vi.waitFor(async () => expect((await a.events(0)).events.length).toBe(4));
    // An abort ends a wait at once.
    const stop = new AbortController();
    const waiting = a.nextRound(stop.signal);
    stop.abort();
    await waiting;
    // After the session ended, nextRound resolves at once and the loop stops.
    await backend.end('s');
    await vi.waitFor(async () => expect((await a.events(0)).ended).toBe(true));
    await a.nextRound();
  });

  it('wake starts the next round at once, not after the interval; a wake during a round runs one more right after it', async () => {
    const backend = await session(1); // 4 events
    const { hub, kinds } = hubOver(backend, { pollIntervalMs: 60_000 });
    const a = hub.subscribe('s');
    await a.events(0);
    await backend.send('s', { messageId: 'm1', text: 't1' });
    hub.wake('other'); // no subscriber there: nothing
    const round = a.nextRound();
    hub.wake('s');
    await round; // within the test's timeout: long before the 60 s interval
    expect(kinds).toEqual(['catch_up', 'round']);
    expect((await a.events(4)).events.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    // Woken twice while one round is in flight: that round, then exactly one more, then the interval again.
    const slow = { events: async (id: string, from: number) => (await new Promise((r) => setTimeout(r, 30)), backend.events(id, from)) };
    const { hub: hub2, kinds: kinds2 } = hubOver(slow, { pollIntervalMs: 60_000 });
    const b = hub2.subscribe('s');
    await b.events(0);
    hub2.wake('s');
    await new Promise((r) => setTimeout(r, 10)); // the first round is in flight
    hub2.wake('s');
    hub2.wake('s');
    await b.nextRound();
    await b.nextRound();
    await new Promise((r) => setTimeout(r, 100));
    expect(kinds2).toEqual(['catch_up', 'round', 'round']);
  });

  it('backs off a quiet session to idlePollMs, and polls at the full rate again on events, a busy page or a wake', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      // A session whose events and busy flag the test sets.
      const held: { events: SessionEvent[]; busy: boolean | undefined } = { events: [], busy: false };
      const source = {
        events: async (_id: string, from: number) => ({
          firstSeq: 0,
          nextSeq: held.events.length,
          events: held.events.filter((e) => e.seq >= from),
          ended: false,
          ...(held.busy === undefined ? {} : { busy: held.busy }),
        }),
      };
      const rounds: number[] = [];
      const hub = new LiveEventHub({ source, pollIntervalMs: 100, idlePollMs: 800, onQuery: (k) => k === 'round' && rounds.push(Date.now()) });
      hubs.push(hub);
      const a = hub.subscribe('s');
      await a.events(0);
      // Quiet: 100, then doubling to the 800 ms cap.
      await vi.advanceTimersByTimeAsync(2_300);
      expect(rounds).toEqual([100, 300, 700, 1_500, 2_300]);
      // A round that brings an event: the full rate again (then doubling again while nothing comes).
      held.events.push({ seq: 0, turn: 1, at: 't', type: 'turn_started' } as SessionEvent);
      await vi.advanceTimersByTimeAsync(800);
      expect(rounds.slice(5)).toEqual([3_100]);
      await vi.advanceTimersByTimeAsync(300);
      expect(rounds.slice(6)).toEqual([3_200, 3_400]);
      expect((await a.events(0)).events.map((e) => e.seq)).toEqual([0]);
      // A wake: a round at once, and the back-off starts over (that round brought nothing: 200 ms, not 800).
      await vi.advanceTimersByTimeAsync(1_000); // backed off again: 3,800 (and 4,600 next)
      expect(rounds.slice(8)).toEqual([3_800]);
      hub.wake('s');
      await vi.advanceTimersByTimeAsync(200);
      expect(rounds.slice(9)).toEqual([4_400, 4_600]);
      // Busy (a turn running), or a page without the flag (an older worker): never backed off.
      for (const busy of [true, undefined]) {
        held.busy = busy;
        const from = rounds.length;
        await vi.advanceTimersByTimeAsync(1_000);
        const gaps = rounds.slice(from + 1).map((t, i) => t - rounds[from + i]!);
        expect(gaps.length).toBeGreaterThanOrEqual(5); // from the round after the wait already begun
        expect(new Set(gaps)).toEqual(new Set([100]));
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('without idlePollMs, a quiet session is polled at pollIntervalMs (no back-off)', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const source = { events: async () => ({ firstSeq: 0, nextSeq: 0, events: [], ended: false, busy: false }) };
      const rounds: number[] = [];
      const hub = new LiveEventHub({ source, pollIntervalMs: 100, onQuery: (k) => k === 'round' && rounds.push(Date.now()) });
      hubs.push(hub);
      await hub.subscribe('s').events(0);
      await vi.advanceTimersByTimeAsync(500);
      expect(rounds).toEqual([100, 200, 300, 400, 500]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('nextRound(fromSeq) does not wait past a round it missed that holds new events; asked again, it waits', async () => {
    const backend = await session(1); // 4 events
    const { hub } = hubOver(backend, { pollIntervalMs: 60_000 });
    const a = hub.subscribe('s');
    const b = hub.subscribe('s');
    await a.events(0);
    // b is "busy sending" while a round brings turn 2's events.
    await backend.send('s', { messageId: 'm1', text: 't1' });
    hub.wake('s');
    await a.nextRound();
    const settled = (p: Promise<void>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);
    expect(await settled(b.nextRound(undefined, 4))).toBe(true); // the buffer holds seq 4-7: no wait
    expect((await b.events(4)).events.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect(await settled(b.nextRound(undefined, 8))).toBe(false); // nothing new: waits for a round
    expect(await settled(b.nextRound(undefined, 4))).toBe(false); // the same ask twice: waits (no busy loop)
  });
});
