/**
 * Live streams on the real Temporal dev server (API and worker in this process): the API instance that sends a turn
 * wakes its streams of that session when the workflow accepts the turn, not only when it is answered, so a quiet
 * (backed-off) stream gets the turn's first events at once (api/live/event-hub.ts, `SessionBackend.onSessionActivity`).
 */
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAgent } from '../support/int-agent.js';
import { serveOnTemporal } from '../support/int-api.js';
import { SseReader } from '../support/sse.js';
import { connectTemporal } from '../support/temporal.js';

describe('live streams woken by the turns this API sends', () => {
  let env: TestWorkflowEnvironment;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let base: string;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    env = await connectTemporal();
    const agent = await writeAgent(`live-wake-${run}`, [
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 2500 } }] },
      { action: 'RESPOND', response: 'slept' },
    ]);
    // No poll of its own during the test (60 s): every round the stream gets comes from a wake.
    ({ app, stop } = await serveOnTemporal(env, { agents: [agent], taskQueue: `stepwise-int-live-wake-${process.pid}`, events: { pollIntervalMs: 60_000, heartbeatMs: 0 } }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await stop?.();
    await env?.teardown();
  });

  it("a turn's first events reach the stream when the turn is accepted, its reply when it is answered", async () => {
    const sessionId = `live-wake-${run}`;
    const created = await fetch(`${base}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: `live-wake-${run}`, sessionId }) });
    expect(created.status).toBe(201);
    const res = await fetch(`${base}/sessions/${sessionId}/events`, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    const reader = new SseReader(res);
    const seen: Array<{ type: string; at: number }> = [];
    const reading = (async () => {
      for (let m = await reader.next(); m; m = await reader.next()) if (m.event && m.data?.type) seen.push({ type: m.data.type, at: Date.now() });
    })();
    const sent = fetch(`${base}/sessions/${sessionId}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'sleep', messageId: 'm1' }) });
    expect((await sent).status).toBe(200);
    for (let i = 0; i < 100 && !seen.some((e) => e.type === 'reply'); i++) await new Promise((r) => setTimeout(r, 50));
    await reader.cancel();
    await reading.catch(() => {});
    const first = seen.find((e) => e.type === 'turn_started');
    const reply = seen.find((e) => e.type === 'reply');
    expect(first && reply).toBeTruthy();
    // The 2.5 s tool ran between them: the first events came with the acceptance, not with the reply.
    expect(reply!.at - first!.at).toBeGreaterThan(1_500);
  }, 60_000);
});
