/**
 * AgentOS's (agno-go) API under `/api/v1` over the same durable sessions: sessions CRUD with agent_id, user_id, name,
 * metadata; agents; runs; the SSE run stream with its `types=` filter; errors `{error, message, code}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentOsSession } from '../../api/routes/agentos-shapes.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { build, call, type Harness } from '../support/api.js';
import { type ScriptEntry, scriptedExecutors } from '../support/scripted-executors.js';
import { parseSse, type SseMessage, SseReader } from '../support/sse.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const SCRIPT: ScriptEntry[] = [
  { action: 'MOVE', step_id: 'order' },
  { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }] },
  { action: 'RESPOND', response: 'One latte added.' },
  { action: 'RESPOND', response: 'Anything else?' },
];

async function serve(archive?: InMemoryArchiveStore) {
  const exec = scriptedExecutors(SCRIPT, { add_item: (args) => ({ added: args.item }) });
  const backend = new LocalSessions({ executors: () => exec, now: exec.now });
  return build({ backend, app: archive ? { archive } : {} });
}

/** Expects AgentOS's error body with `code` and `status`. */
function expectAgentOsError(result: { res: { statusCode: number }; body: any }, status: number, code: string) {
  expect(result.res.statusCode).toBe(status);
  expect(Object.keys(result.body).sort()).toEqual(['code', 'error', 'message']);
  expect(result.body.code).toBe(code);
  expect(result.body.error).toBe(code.toLowerCase().replace(/_/g, ' '));
  return result.body;
}

describe('AgentOS API', () => {
  it('GET /api/v1/agents lists agents with a count', async () => {
    h = await serve();
    expect((await call(h.app, 'GET', '/api/v1/agents')).body).toEqual({ agents: [{ id: 'test-agent', name: 'test-agent' }], count: 1 });
  });

  it('sessions: create with agent_id/user_id/name/metadata, get, update (PUT), delete', async () => {
    h = await serve();
    const created = await call(h.app, 'POST', '/api/v1/sessions', { agent_id: 'test-agent', user_id: 'u1', name: 'Morning', metadata: { k: 1 } });
    expect(created.res.statusCode).toBe(201);
    const s = AgentOsSession.parse(created.body);
    expect(s).toMatchObject({ agent_id: 'test-agent', user_id: 'u1', name: 'Morning', metadata: { k: 1 }, run_count: 0, state: { step_id: 'greet', status: 'active' } });
    expect(s.created_at).toBeGreaterThan(1_700_000_000);

    expect((await call(h.app, 'GET', `/api/v1/sessions/${s.session_id}`)).body).toEqual(created.body);
    const updated = await call(h.app, 'PUT', `/api/v1/sessions/${s.session_id}`, { name: 'Evening', metadata: { k: 2 } });
    expect(updated.body).toMatchObject({ name: 'Evening', metadata: { k: 2 }, user_id: 'u1' });
    // An empty name is ignored, as agno-go does.
    expect((await call(h.app, 'PUT', `/api/v1/sessions/${s.session_id}`, { name: '' })).body.name).toBe('Evening');
    expect((await call(h.app, 'DELETE', `/api/v1/sessions/${s.session_id}`)).body).toEqual({ message: 'session deleted successfully' });
    expect((await call(h.app, 'GET', `/api/v1/sessions/${s.session_id}`)).body.state.status).toBe('ended');

    expectAgentOsError(await call(h.app, 'GET', '/api/v1/sessions/nope'), 404, 'SESSION_NOT_FOUND');
    expectAgentOsError(await call(h.app, 'POST', '/api/v1/sessions', { agent_id: 'ghost' }), 404, 'AGENT_NOT_FOUND');
    const bad = expectAgentOsError(await call(h.app, 'POST', '/api/v1/sessions', { user_id: 'u1' }), 400, 'INVALID_REQUEST');
    expect(bad.message).toContain('agent_id');
    expectAgentOsError(await call(h.app, 'PUT', `/api/v1/sessions/${s.session_id}`, { name: 'late' }), 409, 'SESSION_ENDED');
  });

  it('lists sessions filtered by agent_id and user_id (archive), or 503 without one', async () => {
    h = await serve();
    expectAgentOsError(await call(h.app, 'GET', '/api/v1/sessions'), 503, 'ARCHIVE_UNAVAILABLE');
    await h.app.close();
    const archive = new InMemoryArchiveStore();
    h = await serve(archive);
    const at = '2026-01-01T00:00:00.000Z';
    await archive.recordSessionStart({ sessionId: 'a', agentName: 'test-agent', configHash: 'h', createdAt: at, userId: 'u1', name: 'A' });
    await archive.recordSessionStart({ sessionId: 'b', agentName: 'test-agent', configHash: 'h', createdAt: at, userId: 'u2' });
    await archive.recordSessionStart({ sessionId: 'c', agentName: 'other', configHash: 'h', createdAt: at, userId: 'u1' });
    const u1 = (await call(h.app, 'GET', '/api/v1/sessions?user_id=u1')).body;
    expect([u1.count, u1.sessions.map((x: { session_id: string }) => x.session_id).sort()]).toEqual([2, ['a', 'c']]);
    const both = (await call(h.app, 'GET', '/api/v1/sessions?user_id=u1&agent_id=test-agent')).body;
    expect(both).toEqual({ sessions: [expect.objectContaining({ session_id: 'a', agent_id: 'test-agent', user_id: 'u1', name: 'A', run_count: 0 })], count: 1 });
  });

  it('POST /agents/{id}/run: a new session per run without session_id, a turn of session_id with one', async () => {
    h = await serve();
    const first = await call(h.app, 'POST', '/api/v1/agents/test-agent/run', { input: 'A latte please' });
    expect(first.res.statusCode).toBe(200);
    expect(first.body).toMatchObject({
      run_id: ':first',
      status: 'completed',
      content: 'One latte added.',
      session_id: expect.any(String),
      metadata: { agent_id: 'test-agent', step_id: 'order', flow_id: 'ordering', turn: 1, ended: false },
    });
    const next = await call(h.app, 'POST', '/api/v1/agents/test-agent/run', { input: 'that is all', session_id: first.body.session_id, media: [{ type: 'image', url: 'http://x/y.png' }] });
    expect(next.body).toMatchObject({ content: 'Anything else?', session_id: first.body.session_id, metadata: { turn: 2, media: [{ type: 'image', url: 'http://x/y.png' }] } });

    expectAgentOsError(await call(h.app, 'POST', '/api/v1/agents/ghost/run', { input: 'hi' }), 404, 'AGENT_NOT_FOUND');
    expectAgentOsError(await call(h.app, 'POST', '/api/v1/agents/test-agent/run', { input: 'hi', session_id: 'nope' }), 404, 'SESSION_NOT_FOUND');
    expectAgentOsError(await call(h.app, 'POST', '/api/v1/agents/test-agent/run', { input: '' }), 400, 'INVALID_REQUEST');
  });

  it('POST /agents/{id}/run/stream: run_start, step_start, tool_call, complete as SSE; types= filters', async () => {
    h = await serve();
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/agents/test-agent/run/stream', payload: { input: 'A latte please' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseSse(res.body);
    expect(events.map((e) => e.event)).toEqual(['run_start', 'step_start', 'tool_call', 'complete']);
    const sessionId = events[0]!.data.session_id;
    expect(events[0]!.data).toMatchObject({ type: 'run_start', agent_id: 'test-agent', data: { input: 'A latte please', session_id: sessionId } });
    expect(events[1]!.data.data).toMatchObject({ step_name: 'order' });
    expect(events[2]!.data.data).toEqual({ tool_name: 'add_item', arguments: { item: 'latte' }, result: { added: 'latte' } });
    expect(events[3]!.data.data).toMatchObject({ output: 'One latte added.', metadata: { turn: 1 } });

    const filtered = await h.app.inject({ method: 'POST', url: '/api/v1/agents/test-agent/run/stream?types=complete', payload: { input: 'more', session_id: sessionId } });
    expect(parseSse(filtered.body).map((e) => [e.event, e.data.data.output])).toEqual([['complete', 'Anything else?']]);
    // `stream: true` on /run answers with the same stream.
    const viaRun = await h.app.inject({ method: 'POST', url: '/api/v1/agents/test-agent/run?types=run_start', payload: { input: 'x', session_id: sessionId, stream: true } });
    expect(parseSse(viaRun.body).map((e) => e.event)).toEqual(['run_start']);

    expectAgentOsError(await call(h.app, 'POST', '/api/v1/agents/test-agent/run/stream?types=bogus', { input: 'x' }), 400, 'INVALID_REQUEST');
    expectAgentOsError(await call(h.app, 'POST', '/api/v1/agents/test-agent/run/stream', { input: 'x', session_id: 'nope' }), 404, 'SESSION_NOT_FOUND');
  });

  it('a turn that fails mid-stream ends the stream with an error event', async () => {
    h = await serve();
    await call(h.app, 'POST', '/api/v1/sessions', { agent_id: 'test-agent', session_id: 'ending' });
    await call(h.app, 'DELETE', '/api/v1/sessions/ending');
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/agents/test-agent/run/stream', payload: { input: 'hi', session_id: 'ending' } });
    const events = parseSse(res.body);
    expect(events.map((e) => e.event)).toEqual(['run_start', 'error']);
    expect(events[1]!.data.data).toMatchObject({ code: 'SESSION_ENDED' });
  });
});


describe('AgentOS run/stream over a real connection (the shared SSE stream)', () => {
  /** Releases the blocked tool of the current test's run (so the turn can end and the app can close). */
  let release: (() => void) | undefined;
  let client: AbortController | undefined;
  afterEach(async () => {
    client?.abort();
    release?.();
    h?.app.server.closeAllConnections();
    await h?.app.close();
    h = undefined;
  });

  /**
   * Listens on 127.0.0.1:0 and starts a run/stream whose turn moves to `order` and then blocks in `add_item` until
   * `release()`; resolves once the tool is running. `reads` counts the backend's event reads (the route's polls).
   */
  async function blockedRun(heartbeatMs = 0) {
    let toolStarted = false;
    const gate = new Promise<void>((r) => (release = r));
    const exec = scriptedExecutors(SCRIPT, {
      add_item: async (args) => {
        toolStarted = true;
        await gate;
        return { added: args.item };
      },
    });
    const backend = new LocalSessions({ executors: () => exec, now: exec.now });
    const reads = vi.spyOn(backend, 'events');
    h = await build({ backend, app: { events: { pollIntervalMs: 10, heartbeatMs } } });
    const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    client = new AbortController();
    const res = await fetch(`${base}/api/v1/agents/test-agent/run/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'A latte please' }),
      signal: client.signal,
    });
    expect(res.status).toBe(200);
    const reader = new SseReader(res);
    const start = await reader.next();
    expect(start).toMatchObject({ event: 'run_start' });
    await vi.waitFor(() => expect(toolStarted).toBe(true));
    return { reader, reads, sessionId: start!.data.session_id as string };
  }

  /** The next `: comment` of `reader`, or undefined if none comes within `timeoutMs`. */
  async function nextComment(reader: SseReader, timeoutMs: number): Promise<SseMessage | undefined> {
    const read = async () => {
      for (let m = await reader.next(); m; m = await reader.next()) if (m.comment !== undefined) return m;
      return undefined;
    };
    return Promise.race([read(), sleep(timeoutMs).then(() => undefined)]);
  }

  it('stops reading the backend once the client has left (the run itself goes on)', async () => {
    const { reads, sessionId } = await blockedRun();
    await vi.waitFor(() => expect(reads.mock.calls.length).toBeGreaterThan(2)); // polling while the client listens
    client!.abort();
    await sleep(100); // ten poll intervals: the server has seen the close
    const afterClose = reads.mock.calls.length;
    await sleep(200);
    expect(reads.mock.calls.length).toBe(afterClose);
    // The durable turn finishes without the client, and still no poll (nor the final read) follows.
    release!();
    await vi.waitFor(async () => expect((await h!.backend.state(sessionId)).turns).toBe(1));
    await sleep(50);
    expect(reads.mock.calls.length).toBe(afterClose);
  });

  it('sends `: ping` heartbeat comments while the run is idle', async () => {
    const { reader } = await blockedRun(20);
    expect(await nextComment(reader, 2_000)).toMatchObject({ comment: 'ping', raw: ': ping' });
    // The stream still ends as before once the turn is done (`step_start` may have come before the ping).
    release!();
    expect((await reader.toEnd()).map((m) => m.event).slice(-2)).toEqual(['tool_call', 'complete']);
  });

  it('ends an open stream when the app closes, instead of holding shutdown until the run ends', async () => {
    const { reader } = await blockedRun();
    const closing = h!.app.close();
    h = undefined;
    await expect(reader.toEnd(2_000)).resolves.toBeDefined();
    release!();
    await closing;
  });
});
