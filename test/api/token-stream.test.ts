/**
 * Streamed model tokens through a real PostgreSQL (`LISTEN`/`NOTIFY`, archive/token-notify.ts): payload splitting
 * within NOTIFY's limit, delivery per session, listener reconnects, a publisher that never throws, and the API
 * forwarding tokens to event streams as `event: token` without an id.
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTokenListener,
  createTokenPublisher,
  MAX_TOKEN_PAYLOAD_BYTES,
  splitTokenPayloads,
  type TokenListener,
  type TokenPublisher,
} from '../../archive/token-notify.js';
import { loadApiConfig } from '../../api/config.js';
import { type RunningServer, startServer } from '../../api/server.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { testAgent } from '../support/agents.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { scriptedExecutors } from '../support/scripted-executors.js';
import { type SseMessage, SseReader } from '../support/sse.js';

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
    const exec = scriptedExecutors([1, 2, 3].map((i) => ({ action: 'RESPOND', response: `reply ${i}` })));
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
    closers.push({ close: () => reader.cancel() });
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
