/**
 * One poll per session per API instance (`api/live/event-hub.ts`): many `GET /sessions/:id/events` streams on one
 * session cost the workers one `getEvents` query loop, counted on the backend (`LocalSessions.events`, which is what
 * the Temporal backend turns into a query), and late subscribers still get exactly the events they missed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionEvent } from '../../src/engine/types.js';
import { build, call, type Harness } from '../support/api.js';
import { type SseMessage, SseReader } from '../support/sse.js';

const POLL_MS = 20;

let h: Harness | undefined;
let base = '';
const readers: SseReader[] = [];

afterEach(async () => {
  for (const r of readers.splice(0)) await r.cancel();
  h?.app.server.closeAllConnections();
  await h?.app.close();
  h = undefined;
});

async function serve(): Promise<Harness> {
  const script = Array.from({ length: 20 }, (_, i) => ({ action: 'RESPOND', response: `reply ${i + 1}` }));
  h = await build({ script: script as never, app: { events: { pollIntervalMs: POLL_MS, heartbeatMs: 0 } } });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  return h;
}

async function stream(sessionId: string, lastEventId?: number): Promise<SseReader> {
  const res = await fetch(`${base}/sessions/${sessionId}/events`, { headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) } });
  expect(res.status).toBe(200);
  const reader = new SseReader(res);
  readers.push(reader);
  return reader;
}

function seqsOf(messages: SseMessage[]): number[] {
  return messages.map((m) => {
    const e = SessionEvent.parse(m.data);
    expect(m.id).toBe(String(e.seq));
    return e.seq;
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('event streams share one poll per session', () => {
  it('20 subscribers of one session cause one query loop, not 20, and every one of them gets every event', async () => {
    await serve();
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'fan', message: 'first' });
    const queries = vi.spyOn(h!.backend, 'events');

    const subscribers = await Promise.all(Array.from({ length: 20 }, () => stream('fan')));
    for (const s of subscribers) expect(seqsOf(await s.until((m) => m.id === '3'))).toEqual(range(0, 3));

    // A window of polling with 20 streams open: the loop runs one query per interval.
    const before = queries.mock.calls.length;
    const windowMs = 30 * POLL_MS;
    const started = Date.now();
    await sleep(windowMs);
    const inWindow = queries.mock.calls.length - before;
    const rounds = (Date.now() - started) / POLL_MS;
    expect(inWindow).toBeGreaterThan(0); // it does poll
    expect(inWindow).toBeLessThanOrEqual(Math.ceil(rounds) + 1); // one loop; 20 loops would be ~20 × rounds
    expect(queries.mock.calls.every(([sessionId]) => sessionId === 'fan')).toBe(true);

    // A turn sent now reaches all 20 through that one loop.
    await call(h!.app, 'POST', '/sessions/fan/messages', { text: 'second', messageId: 'm2' });
    for (const s of subscribers) expect(seqsOf(await s.until((m) => m.id === '7'))).toEqual(range(4, 7));

    // When every subscriber has left, the session is not polled any more.
    for (const s of subscribers) await s.cancel();
    await vi.waitFor(async () => {
      const n = queries.mock.calls.length;
      await sleep(5 * POLL_MS);
      expect(queries.mock.calls.length).toBe(n);
    });
  });

  it('a late subscriber with Last-Event-ID gets exactly the events it missed, from the shared buffer', async () => {
    await serve();
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'late', message: 'one' });
    await call(h!.app, 'POST', '/sessions/late/messages', { text: 'two', messageId: 'm2' });
    const early = await stream('late');
    expect(seqsOf(await early.until((m) => m.id === '7'))).toEqual(range(0, 7));

    const queries = vi.spyOn(h!.backend, 'events');
    await call(h!.app, 'POST', '/sessions/late/messages', { text: 'three', messageId: 'm3' });
    const late = await stream('late', 5); // it had 0..5 before it disconnected
    expect(seqsOf(await late.until((m) => m.id === '11'))).toEqual(range(6, 11));
    expect(seqsOf(await early.until((m) => m.id === '11'))).toEqual(range(8, 11));
    // Served from the buffer the early stream's loop keeps: no query from `fromSeq` 6 was sent for it.
    expect(queries.mock.calls.some(([, fromSeq]) => fromSeq < 8)).toBe(false);

    // Both see the end, once, in order.
    await call(h!.app, 'DELETE', '/sessions/late');
    const endEarly = await early.toEnd();
    const endLate = await late.toEnd();
    expect(seqsOf(endEarly)).toEqual(seqsOf(endLate));
    expect(endLate.at(-1)!.event).toBe('session_ended');
  });

  it('a late subscriber resuming below what the buffer holds catches up with one direct query', async () => {
    await serve();
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'below', message: 'one' });
    await call(h!.app, 'POST', '/sessions/below/messages', { text: 'two', messageId: 'm2' });
    const queries = vi.spyOn(h!.backend, 'events');
    const first = await stream('below', 5); // the loop's buffer starts at 6
    expect(seqsOf(await first.until((m) => m.id === '7'))).toEqual([6, 7]);
    const catchUps = () => queries.mock.calls.filter(([, fromSeq]) => fromSeq === 2).length;
    const late = await stream('below', 1);
    expect(seqsOf(await late.until((m) => m.id === '7'))).toEqual(range(2, 7));
    expect(catchUps()).toBe(1);
    // Afterwards both follow the same loop.
    await call(h!.app, 'POST', '/sessions/below/messages', { text: 'three', messageId: 'm3' });
    expect(seqsOf(await late.until((m) => m.id === '11'))).toEqual(range(8, 11));
    expect(seqsOf(await first.until((m) => m.id === '11'))).toEqual(range(8, 11));
    expect(catchUps()).toBe(1);
  });
});
