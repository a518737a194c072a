/**
 * AgentOS `run/stream` over the Temporal backend on the real dev server (issue 25.8): the stream is the shared SSE
 * stream, so once the client leaves the route stops reading the session (no more queries), while the durable turn
 * goes on to its end in the workflow; heartbeat comments come while the turn is busy in a tool.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { createSessionWorker } from '../../workers/worker.js';
import { writeAgent } from '../support/int-agent.js';
import { SseReader } from '../support/sse.js';
import { connectTemporal } from '../support/temporal.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AgentOS run/stream on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-agentos-stream-${process.pid}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('stops querying the session once the client has left; the turn still finishes in the workflow', async () => {
    const script = [
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 6_000 } }] },
      { action: 'RESPOND', response: 'worked' },
    ];
    const agent = await writeAgent(`agentos-stream-${Date.now().toString(36)}`, script);
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    await worker.runUntil(async () => {
      const backend = new TemporalSessions({ client: env.client, taskQueue });
      const reads = vi.spyOn(backend, 'events');
      const app = await buildApp({ backend, agents: new Map([[agent.snapshot.name, agent.snapshot]]), events: { pollIntervalMs: 50, heartbeatMs: 200 } });
      try {
        const base = await app.listen({ port: 0, host: '127.0.0.1' });
        const client = new AbortController();
        const res = await fetch(`${base}/api/v1/agents/${agent.snapshot.name}/run/stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: 'do the slow work' }),
          signal: client.signal,
        });
        expect(res.status).toBe(200);
        const reader = new SseReader(res);
        const start = await reader.next();
        expect(start).toMatchObject({ event: 'run_start' });
        const sessionId = start!.data.session_id as string;
        // While the tool runs: the route polls the workflow, and heartbeats keep the connection alive.
        let ping = false;
        for (let m = await reader.next(); m && !ping; m = await reader.next()) ping = m.comment === 'ping';
        expect(ping).toBe(true);
        await vi.waitFor(() => expect(reads.mock.calls.length).toBeGreaterThan(2), { timeout: 4_000, interval: 50 });

        client.abort();
        await sleep(300); // six poll intervals: the server has seen the close
        const afterClose = reads.mock.calls.length;
        await sleep(500);
        expect(reads.mock.calls.length).toBe(afterClose);
        // The turn goes on without the client, in the workflow.
        await vi.waitFor(async () => expect((await backend.history(sessionId)).turns.at(-1)).toMatchObject({ reply: 'worked' }), { timeout: 20_000, interval: 250 });
        expect(reads.mock.calls.length).toBe(afterClose); // still no poll, nor a final read, from the route
      } finally {
        await app.close();
      }
    });
  }, 90_000);
});
