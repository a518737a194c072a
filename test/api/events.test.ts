/**
 * `GET /sessions/:sessionId/events` (Server-Sent Events) over a real listening server read with `fetch`, on the
 * in-process backend (`LocalSessions` + scripted executors), with and without an archive; and streamed tokens
 * through a real PostgreSQL (`LISTEN`/`NOTIFY`).
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { ArchiveStore } from '../../archive/store.js';
import {
  createTokenListener,
  createTokenPublisher,
  MAX_TOKEN_PAYLOAD_BYTES,
  splitTokenPayloads,
  type TokenListener,
  type TokenPublisher,
} from '../../archive/token-notify.js';
import { formatSseMessage } from '../../api/live/sse.js';
import { loadApiConfig } from '../../api/config.js';
import { type RunningServer, startServer } from '../../api/server.js';
import type { SessionBackend } from '../../api/sessions.js';
import { ReconnectingSessions } from '../../api/reconnecting-sessions.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { SessionEvent } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { makeTurn, turnRecord } from '../archive/conformance.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

/** One parsed SSE message (`comment` set for `: ...` lines instead). */
interface SseMessage {
  id?: string;
  event?: string;
  data?: any;
  comment?: string;
  /** The raw block, to assert on exact framing. */
  raw: string;
}

/** Reads an SSE response message by message (WHATWG framing: blank-line separated blocks). */
class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';
  #done = false;

  constructor(readonly res: Response) {
    this.#reader = res.body!.getReader();
  }

  /** The next message (comments included), or `null` once the server ended the stream. */
  async next(): Promise<SseMessage | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const raw = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseBlock(raw);
      }
      if (this.#done) return null;
      const { done, value } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /**
   * Messages (not comments) until `stop` says so (inclusive) or the stream ends; fails if neither happens within
   * `timeoutMs` (so a missing event fails the test at once instead of at the test timeout).
   */
  async until(stop: (m: SseMessage) => boolean = () => false, timeoutMs = 5_000): Promise<SseMessage[]> {
    const out: SseMessage[] = [];
    const read = async () => {
      for (let m = await this.next(); m; m = await this.next()) {
        if (m.comment !== undefined) continue;
        out.push(m);
        if (stop(m)) break;
      }
      return out;
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no end of stream or awaited message within ${timeoutMs} ms; got ${out.map((m) => m.id).join(',')}`)), timeoutMs);
    });
    try {
      return await Promise.race([read(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Messages until the server ends the stream (fails after `timeoutMs`). */
  toEnd(timeoutMs = 5_000): Promise<SseMessage[]> {
    return this.until(() => false, timeoutMs);
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function parseBlock(raw: string): SseMessage {
  const msg: SseMessage = { raw };
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) msg.comment = line.slice(1).trim();
    else if (line.startsWith('id: ')) msg.id = line.slice(4);
    else if (line.startsWith('event: ')) msg.event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length > 0) msg.data = JSON.parse(data.join('\n'));
  return msg;
}

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

describe('splitTokenPayloads', () => {
  it('keeps every payload within the NOTIFY budget, never splitting a character, and loses nothing', () => {
    const text = `${'a"\\\n'.repeat(1_500)}${'é€😀'.repeat(900)}`;
    const pieces = splitTokenPayloads('s-1', text);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(Buffer.byteLength(JSON.stringify({ sessionId: 's-1', text: p }))).toBeLessThanOrEqual(MAX_TOKEN_PAYLOAD_BYTES);
      expect(p).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    expect(splitTokenPayloads('s-1', 'short')).toEqual(['short']);
    expect(splitTokenPayloads('s-1', '')).toEqual([]);
  });
});

describe('token notify/listen on PostgreSQL', () => {
  let server: TestPostgres;
  let url: string;
  const closers: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    server = await startTestPostgres();
    url = await server.createDatabase();
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  function listener(): TokenListener {
    const l = createTokenListener(url, { reconnectMs: 50 });
    closers.push(l);
    return l;
  }
  function publisher(options: Parameters<typeof createTokenPublisher>[1] = {}): TokenPublisher {
    const p = createTokenPublisher(url, { batchMs: 10, ...options });
    closers.push(p);
    return p;
  }

  it('delivers a session’s deltas to its subscribers only, batched, in order', async () => {
    const l = listener();
    await l.ready();
    const a: string[] = [];
    const b: string[] = [];
    l.subscribe('s-a', (t) => a.push(t));
    l.subscribe('s-b', (t) => b.push(t));
    const p = publisher();
    p.publish('s-a', 'Hel');
    p.publish('s-a', 'lo');
    await p.flush();
    await vi.waitFor(() => expect(a).toEqual(['Hello'])); // one notification for both deltas
    p.publish('s-b', 'x');
    await vi.waitFor(() => expect(b).toEqual(['x'])); // delivered in order: nothing for s-a reached s-b before it
    expect(a).toEqual(['Hello']);

    // Larger than one NOTIFY payload: split, nothing lost.
    const long = 'y'.repeat(20_000);
    p.publish('s-a', long);
    await p.flush();
    await vi.waitFor(() => expect(a.slice(1).join('')).toBe(long));
    expect(a.length).toBeGreaterThan(3);

    // Unsubscribed: no more deliveries.
    const c: string[] = [];
    const off = l.subscribe('s-c', (t) => c.push(t));
    p.publish('s-c', 'one');
    await vi.waitFor(() => expect(c).toEqual(['one']));
    off();
    p.publish('s-c', 'two');
    p.publish('s-b', 'y');
    await vi.waitFor(() => expect(b).toEqual(['x', 'y']));
    expect(c).toEqual(['one']);
  });

  it('the listener reconnects after its connection is killed', async () => {
    const l = listener();
    await l.ready();
    const got: string[] = [];
    l.subscribe('s-r', (t) => got.push(t));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'stepwise-token-listener'",
      );
      expect(killed.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    const p = publisher();
    await vi.waitFor(
      async () => {
        p.publish('s-r', '.');
        await p.flush();
        expect(got.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('the publisher never throws when the database is unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => resolve(p));
      });
    });
    const errors: Error[] = [];
    const p = createTokenPublisher(`postgres://postgres@127.0.0.1:${port}/none`, { batchMs: 5, onError: (e) => errors.push(e) });
    closers.push(p);
    expect(() => p.publish('s', 'lost')).not.toThrow();
    await p.flush();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.message).join(' ')).not.toContain('postgres://');
    await p.close();
    expect(() => p.publish('s', 'after close')).not.toThrow();
  });

  it('startServer with databaseUrl forwards tokens to the session’s event streams as `event: token` without an id', async () => {
    const exec = scriptedExecutors(replies(3));
    const backend = new LocalSessions({ executors: () => exec, now: exec.now });
    const base = loadApiConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const running: RunningServer = await startServer({
      agents: new Map([['test-agent', testAgent()]]),
      config: base,
      backend,
      databaseUrl: url,
      handleSignals: false,
      eventsPollIntervalMs: 10,
    });
    closers.push(running);
    await backend.start(testAgent(), 'tok');
    await backend.start(testAgent(), 'other');
    await backend.send('tok', { messageId: 'm1', text: 'hi' });
    const res = await fetch(`${running.address}/sessions/tok/events`, { headers: { 'last-event-id': '3' } });
    const reader = new SseReader(res);
    readers.push(reader);
    const p = publisher();
    // The listener connects in the background: publish until it is there.
    const got: SseMessage[] = [];
    const collector = reader.until((m) => {
      got.push(m);
      return m.event === 'token' && m.data.text.includes('END');
    }, 20_000);
    await vi.waitFor(
      async () => {
        p.publish('other', 'not for you');
        p.publish('tok', 'Hi ');
        await p.flush();
        expect(got.some((m) => m.event === 'token')).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
    p.publish('tok', 'there END');
    await p.flush();
    await collector;
    const tokens = got.filter((m) => m.event === 'token');
    expect(tokens.every((m) => m.id === undefined && !m.raw.includes('id:'))).toBe(true);
    expect(tokens.map((m) => m.data.text).join('')).toMatch(/^(Hi )+there END$/);
    expect(got.every((m) => m.event === 'token')).toBe(true); // no session events after seq 3, nothing from `other`

    // Tokens never move Last-Event-ID: the next event still has the next seq.
    await backend.send('tok', { messageId: 'm2', text: 'again' });
    const [next] = await reader.until(() => true);
    expect(next).toMatchObject({ id: '4', event: 'turn_started' });
  });
});
