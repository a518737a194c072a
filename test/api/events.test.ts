/**
 * `GET /sessions/:sessionId/events` (Server-Sent Events) over a real listening server read with `fetch`, on the
 * in-process backend (`LocalSessions` + scripted executors), with and without an archive. Streamed tokens through
 * PostgreSQL: ./token-stream.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import { formatSseMessage } from '../../api/live/sse.js';
import type { SessionBackend } from '../../api/sessions.js';
import { ReconnectingSessions } from '../../api/reconnecting-sessions.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { SessionEvent } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { makeTurn, turnRecord } from '../archive/conformance.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { scriptedExecutors } from '../support/scripted-executors.js';
import { type SseMessage, SseReader } from '../support/sse.js';

/** RESPOND to every decision (`n` of them). */
function replies(n: number) {
  return Array.from({ length: n }, (_, i) => ({ action: 'RESPOND', response: `reply ${i + 1}` }));
}

let h: Harness | undefined;
let base = '';
const readers: SseReader[] = [];

afterEach(async () => {
  for (const r of readers.splice(0)) await r.cancel();
  // fetch (undici) may hold a spare connection that never sends a request; the server would wait for its keep-alive
  // timeout (4 s) to close. Not what these tests are about.
  h?.app.server.closeAllConnections();
  await h?.app.close();
  h = undefined;
});

/** Builds the app over `backend` (default: a fresh `LocalSessions` running `script`), listening on 127.0.0.1:0. */
async function serve(options: { backend?: SessionBackend; archive?: ArchiveStore; script?: object[]; heartbeatMs?: number } = {}) {
  h = await build({
    ...(options.backend ? { backend: options.backend } : {}),
    script: (options.script ?? replies(10)) as never,
    app: { archive: options.archive, events: { pollIntervalMs: 10, heartbeatMs: options.heartbeatMs ?? 0 } },
  });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  return h;
}

/** Opens the event stream of `sessionId`; `headers` e.g. `{ 'last-event-id': '3' }`. */
async function stream(sessionId: string, options: { headers?: Record<string, string>; query?: string } = {}): Promise<SseReader> {
  const res = await fetch(`${base}/sessions/${sessionId}/events${options.query ?? ''}`, { headers: options.headers });
  const reader = new SseReader(res);
  readers.push(reader);
  return reader;
}

/** The events of a stream's messages, checked: `id` = seq, `event` = type, data a SessionEvent. */
function sessionEvents(messages: SseMessage[]): SessionEvent[] {
  return messages
    .filter((m) => m.event !== 'gap' && m.event !== 'token')
    .map((m) => {
      const e = SessionEvent.parse(m.data);
      expect(m.id).toBe(String(e.seq));
      expect(m.event).toBe(e.type);
      return e;
    });
}

function seqs(events: Array<{ seq: number }>): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('GET /sessions/:sessionId/events (live)', () => {
  it('streams the events of turns as they run, with increasing ids, and ends after session_ended', async () => {
    await serve();
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'live-1', message: 'first' });
    const reader = await stream('live-1');
    expect(reader.res.status).toBe(200);
    expect(reader.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(reader.res.headers.get('cache-control')).toBe('no-cache, no-transform');

    // The first turn is already done: its four events arrive at once.
    const first = sessionEvents(await reader.until((m) => m.event === 'reply'));
    expect(first.map((e) => e.type)).toEqual(['turn_started', 'user_message', 'decision', 'reply']);
    expect(seqs(first)).toEqual([0, 1, 2, 3]);

    // A turn run while the client listens, then the end.
    const second = await call(h!.app, 'POST', '/sessions/live-1/messages', { text: 'second', messageId: 'msg-2' });
    expect(second.res.statusCode).toBe(200);
    expect((await call(h!.app, 'DELETE', '/sessions/live-1')).res.statusCode).toBe(200);
    const rest = await reader.toEnd();
    const events = [...first, ...sessionEvents(rest)];
    expect(seqs(events)).toEqual(range(0, events.length - 1));
    expect(events.at(-1)).toMatchObject({ type: 'session_ended', reason: 'end_session' });
    expect(rest.every((m) => m.event !== 'gap')).toBe(true);
    // Exactly what the session recorded, in order.
    const live = await h!.backend.events('live-1', 0);
    expect(events).toEqual(live.events);
    expect(events.find((e) => e.type === 'user_message' && e.turn === 2)).toMatchObject({ text: 'second', messageId: 'msg-2' });
  });

  it('frames each event as `id: <seq>`, `event: <type>`, `data: <json>`', async () => {
    await serve();
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'frame', message: 'hi' });
    const [m] = await (await stream('frame')).until(() => true);
    expect(m!.raw).toBe(`id: 0\nevent: turn_started\ndata: ${JSON.stringify(m!.data)}`);
    expect(formatSseMessage('gap', { fromSeq: 0, toSeq: 4 }, 4)).toBe('id: 4\nevent: gap\ndata: {"fromSeq":0,"toSeq":4}\n\n');
    expect(formatSseMessage('token', { text: 'a\nb' })).toBe('event: token\ndata: {"text":"a\\nb"}\n\n');
  });

  it('resumes after Last-Event-ID (or ?after=) with no gap and no duplicate; a client that leaves stops the polling', async () => {
    await serve();
    const events = vi.spyOn(h!.backend, 'events');
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'res', message: 'one' });
    await call(h!.app, 'POST', '/sessions/res/messages', { text: 'two' });

    const first = await stream('res');
    const head = sessionEvents(await first.until((m) => m.id === '5'));
    expect(seqs(head)).toEqual(range(0, 5));
    await first.cancel(); // the client goes away
    await vi.waitFor(async () => {
      const before = events.mock.calls.length;
      await new Promise((r) => setTimeout(r, 60)); // six poll intervals
      expect(events.mock.calls.length).toBe(before);
    });

    const resumed = await stream('res', { headers: { 'last-event-id': '5' } });
    const next = sessionEvents(await resumed.until((m) => m.id === '7'));
    expect(seqs(next)).toEqual([6, 7]);
    await resumed.cancel();

    // `?after=` works the same; the header wins over it (a browser's EventSource keeps the URL and sends the header).
    const viaQuery = await stream('res', { query: '?after=3' });
    expect(seqs(sessionEvents(await viaQuery.until((m) => m.id === '7')))).toEqual([4, 5, 6, 7]);
    const both = await stream('res', { query: '?after=0', headers: { 'last-event-id': '6' } });
    expect(seqs(sessionEvents(await both.until((m) => m.id === '7')))).toEqual([7]);

    // Resume at the very end: the stream stays open for new events, then ends after session_ended.
    const tail = await stream('res', { headers: { 'last-event-id': '7' } });
    await call(h!.app, 'DELETE', '/sessions/res');
    const end = sessionEvents(await tail.toEnd());
    expect(end).toEqual([expect.objectContaining({ seq: 8, type: 'session_ended' })]);
    // A client reconnecting after the end gets an empty, closed stream.
    expect(await (await stream('res', { headers: { 'last-event-id': '8' } })).toEnd()).toEqual([]);
  });

  it('sends `: ping` heartbeats', async () => {
    await serve({ heartbeatMs: 20 });
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'ping' });
    const reader = await stream('ping');
    expect(await reader.next()).toMatchObject({ comment: 'ping', raw: ': ping' });
  });

  it('closing the app ends open streams instead of waiting for them', async () => {
    await serve();
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'shut' });
    const reader = await stream('shut');
    await vi.waitFor(() => expect(reader.res.status).toBe(200));
    await h!.app.close();
    h = undefined;
    expect(await reader.toEnd(2_000)).toEqual([]);
  });

  it('answers errors as JSON before streaming: 404 unknown session, 400 bad event id, 503 Temporal down', async () => {
    await serve();
    expectError(await call(h!.app, 'GET', '/sessions/nobody/events'), 404, 'SESSION_NOT_FOUND');
    await call(h!.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'bad' });
    const res = await h!.app.inject({ method: 'GET', url: '/sessions/bad/events', headers: { 'last-event-id': 'abc' } });
    const err = expectError({ res, body: JSON.parse(res.body) }, 400, 'INVALID_REQUEST');
    expect(err.details.issues[0].path).toBe('headers.last-event-id');
    expectError(await call(h!.app, 'GET', '/sessions/bad/events?after=1.5'), 400, 'INVALID_REQUEST');
    await h!.app.close();

    const down = new ReconnectingSessions({ connect: () => Promise.reject(new SystemError('TEMPORAL_UNAVAILABLE', 'down')), retryMs: 60_000 });
    await down.connectOrRetry();
    await serve({ backend: down });
    expectError(await call(h!.app, 'GET', '/sessions/any/events'), 503, 'TEMPORAL_UNAVAILABLE');
  });
});

describe('GET /sessions/:sessionId/events (beyond what the workflow holds)', () => {
  /** A session of 130 one-decision turns (520 events): the backend keeps only the newest 500 (firstSeq 20). */
  async function longSession(archive?: ArchiveStore) {
    const exec = scriptedExecutors(replies(130));
    const backend = new LocalSessions({
      executors: () => exec,
      now: exec.now,
      ...(archive
        ? {
            onTurn: ({ agent, state, result }) =>
              archive.recordTurn({
                ...turnRecord(state.sessionId, result, Math.floor((result.turn - 1) / 50) + 1, agent.name),
                configHash: agent.configHash,
                startedAt: result.events[0]!.at,
                finishedAt: result.events.at(-1)!.at,
              }),
          }
        : {}),
    });
    await serve({ backend, archive });
    await backend.start(testAgent(), 'long');
    for (let i = 1; i <= 130; i++) await backend.send('long', { messageId: `m${i}`, text: `message ${i}` });
    const page = await backend.events('long', 0);
    expect([page.firstSeq, page.nextSeq]).toEqual([20, 520]);
    return backend;
  }

  it('fills what the workflow no longer holds from the archive: complete, in order, no gap', async () => {
    const archive = new InMemoryArchiveStore();
    const getEvents = vi.spyOn(archive, 'getEvents');
    await longSession(archive);
    const reader = await stream('long');
    const head = await reader.until((m) => m.id === '519');
    expect(head.some((m) => m.event === 'gap')).toBe(false);
    expect(seqs(sessionEvents(head))).toEqual(range(0, 519));
    expect(getEvents).toHaveBeenCalledWith('long', expect.objectContaining({ afterSeq: -1 }));
    await reader.cancel();

    // Resuming inside the archived range continues from the archive, then live, without a duplicate.
    const resumed = await stream('long', { headers: { 'last-event-id': '10' } });
    await call(h!.app, 'DELETE', '/sessions/long');
    const rest = sessionEvents(await resumed.toEnd());
    expect(seqs(rest)).toEqual(range(11, 520));
    expect(rest.at(-1)!.type).toBe('session_ended');
  });

  it('without an archive: one `gap` event for what nobody holds, then the live events', async () => {
    await longSession();
    const reader = await stream('long');
    const [gap, ...events] = await reader.until((m) => m.id === '519');
    expect(gap).toMatchObject({ event: 'gap', id: '19', data: { fromSeq: 0, toSeq: 19 } });
    expect(seqs(sessionEvents(events))).toEqual(range(20, 519));
    expect(events.some((m) => m.event === 'gap')).toBe(false);
    await reader.cancel();
    // The gap's id is its toSeq: a client resuming after it is not told twice.
    const resumed = await stream('long', { headers: { 'last-event-id': '19' } });
    const [first] = await resumed.until(() => true);
    expect(first).toMatchObject({ id: '20', event: 'turn_started' });
  });

  it('serves a session whose workflow is gone (e.g. past retention) from the archive, and ends', async () => {
    const archive = new InMemoryArchiveStore();
    await archive.recordTurn(turnRecord('gone', makeTurn(1, 0), 1));
    await archive.recordTurn(turnRecord('gone', makeTurn(2, 3), 2));
    await archive.recordSessionEnd({
      sessionId: 'gone',
      status: 'ended',
      reason: 'idle_timeout',
      at: '2025-01-01T11:00:00.000Z',
      events: [{ seq: 6, turn: 2, at: '2025-01-01T11:00:00.000Z', type: 'session_ended', reason: 'idle_timeout' }],
    });
    await serve({ archive }); // the LocalSessions backend has never heard of `gone`
    const all = sessionEvents(await (await stream('gone')).toEnd());
    expect(seqs(all)).toEqual(range(0, 6));
    expect(all.at(-1)).toMatchObject({ type: 'session_ended', reason: 'idle_timeout' });
    expect(seqs(sessionEvents(await (await stream('gone', { headers: { 'last-event-id': '4' } })).toEnd()))).toEqual([5, 6]);

    // Archived but not ended (its workflow vanished): everything archived, then the stream ends.
    await archive.recordTurn(turnRecord('orphan', makeTurn(1, 0), 1));
    expect(seqs(sessionEvents(await (await stream('orphan')).toEnd()))).toEqual([0, 1, 2]);
  });

  it('while Temporal is down, streams what the archive has, then the live events once it is back', async () => {
    const archive = new InMemoryArchiveStore();
    const exec = scriptedExecutors(replies(5));
    const inner = new LocalSessions({
      executors: () => exec,
      now: exec.now,
      onTurn: ({ agent, state, result }) =>
        archive.recordTurn({ ...turnRecord(state.sessionId, result, 1, agent.name), startedAt: result.events[0]!.at, finishedAt: result.events.at(-1)!.at }),
    });
    await inner.start(testAgent(), 'flaky');
    await inner.send('flaky', { messageId: 'a', text: 'one' });
    await inner.send('flaky', { messageId: 'b', text: 'two' });
    let up = false;
    const backend = new ReconnectingSessions({
      retryMs: 20,
      connect: async () => {
        if (!up) throw new SystemError('TEMPORAL_UNAVAILABLE', 'down');
        return inner;
      },
    });
    await backend.connectOrRetry();
    await serve({ backend, archive });
    const reader = await stream('flaky');
    expect(seqs(sessionEvents(await reader.until((m) => m.id === '7')))).toEqual(range(0, 7));
    up = true;
    await vi.waitFor(() => expect(backend.connected).toBe(true));
    await inner.send('flaky', { messageId: 'c', text: 'three' });
    await call(h!.app, 'DELETE', '/sessions/flaky');
    const rest = sessionEvents(await reader.toEnd());
    expect(seqs(rest)).toEqual(range(8, 12));
    expect(rest.at(-1)!.type).toBe('session_ended');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Streamed tokens through PostgreSQL LISTEN/NOTIFY
// ---------------------------------------------------------------------------------------------------------------
