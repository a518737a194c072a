/**
 * Several API instances behave as one: 2 `stepwise api` and 2 `stepwise worker` processes against one Temporal dev
 * server, with their rate limits in one real Redis (`STEPWISE_RATE_LIMIT_REDIS_URL`).
 *
 * - messages of one session alternate between the APIs, and an event stream on API A sees the turns sent through B
 *   (and a stream on B the same events);
 * - a tool call waiting for approval, its turn sent through A (`?wait=true`), is approved through B, and A's
 *   request gets the final reply;
 * - the per-credential rate limit holds across both APIs;
 * - both process kinds serve their Prometheus metrics (the API's `GET /metrics`, the workers' Core SDK exporter),
 *   with the series docs/production.md "Scaling out" names for autoscaling.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionEvent } from '../../src/engine/types.js';
import { prebuiltWorkflowBundle } from '../../workers/workflow-bundle.js';
import { writeAgent, responses } from '../support/int-agent.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';
import { SseReader } from '../support/sse.js';
import { freePort, startStepwise, type StepwiseProcess } from '../support/stepwise-process.js';
import { temporalServer } from '../support/temporal.js';

/** Requests per minute per credential on both APIs (shared through Redis). */
const LIMIT = 30;
const KEY = 'multi-main-key';
const LIMITED_KEY = 'multi-limited-key';

describe('2 APIs + 2 workers against one Temporal server', () => {
  let redis: TestRedis;
  const processes: StepwiseProcess[] = [];
  let apis: string[] = [];
  let workerMetrics: string[] = [];
  const run = Date.now().toString(36);
  const readers: SseReader[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    // Built once here (cached by source hash), so both workers start polling in about a second instead of each
    // bundling with webpack.
    await prebuiltWorkflowBundle();
    const chat = await writeAgent('multi-chat', responses(20));
    const echoCall = { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'hi' } }] };
    const approve = await writeAgent('multi-approve', [echoCall, { action: 'RESPOND', response: 'echoed' }], {}, {
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
    });
    const { address, namespace } = temporalServer();
    const common = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      STEPWISE_TASK_QUEUE: `stepwise-int-multi-${process.pid}`,
      STEPWISE_AGENTS: [join(chat.dir, 'agent.yaml'), join(approve.dir, 'agent.yaml')].join(','),
      LOG_LEVEL: 'warn',
    };
    const workerPorts = [await freePort(), await freePort()];
    const apiPorts = [await freePort(), await freePort()];
    workerMetrics = workerPorts.map((p) => `http://127.0.0.1:${p}/metrics`);
    apis = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    const started = await Promise.all([
      ...workerPorts.map((port) => startStepwise('worker', { ...common, STEPWISE_WORKER_METRICS_ADDRESS: `127.0.0.1:${port}` }, /stepwise worker: task queue/, 120_000)),
      ...apiPorts.map((port) =>
        startStepwise(
          'api',
          {
            ...common,
            PORT: String(port),
            HOST: '127.0.0.1',
            STEPWISE_API_KEYS: `${KEY},${LIMITED_KEY}`,
            STEPWISE_RATE_LIMIT_PER_MINUTE: String(LIMIT),
            STEPWISE_RATE_LIMIT_REDIS_URL: redis.url,
            STEPWISE_API_METRICS: 'true',
          },
          /stepwise api: listening on/,
          120_000,
        ),
      ),
    ]);
    processes.push(...started);
  }, 180_000);

  afterAll(async () => {
    for (const r of readers.splice(0)) await r.cancel();
    await Promise.all(processes.map((p) => p.stop()));
    await redis?.stop();
  });

  const auth = (key = KEY) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  async function post(api: string, path: string, body: unknown, key = KEY): Promise<{ status: number; body: any }> {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: auth(key), body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
  async function stream(api: string, sessionId: string): Promise<SseReader> {
    const res = await fetch(`${api}/sessions/${sessionId}/events`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    const reader = new SseReader(res);
    readers.push(reader);
    return reader;
  }
  const events = (messages: Array<{ data?: unknown }>) => messages.map((m) => SessionEvent.parse(m.data));

  it('messages alternate between the APIs; a stream on A sees the turns sent through B, as does one on B', async () => {
    const [a, b] = apis as [string, string];
    const sessionId = `multi-chat-${run}`;
    expect((await post(a, '/sessions', { agentId: 'multi-chat', sessionId })).status).toBe(201);
    const onA = await stream(a, sessionId);
    const onB = await stream(b, sessionId);

    const replies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const api = i % 2 === 0 ? b : a; // B first: A's stream must see a turn it never handled
      const res = await post(api, `/sessions/${sessionId}/messages`, { text: `message ${i} via ${api === a ? 'A' : 'B'}`, messageId: `m${i}` });
      expect(res.status).toBe(200);
      replies.push(res.body.reply);
    }
    expect(replies).toEqual(['reply 0', 'reply 1', 'reply 2', 'reply 3']);

    const seenA = events(await onA.until((m) => m.event === 'reply' && (m.data as { turn: number }).turn === 4, 20_000));
    const seenB = events(await onB.until((m) => m.event === 'reply' && (m.data as { turn: number }).turn === 4, 20_000));
    expect(seenA.map((e) => e.seq)).toEqual(seenA.map((_, i) => i)); // every event, in order, once
    expect(seenA).toEqual(seenB);
    expect(seenA.filter((e) => e.type === 'user_message').map((e) => (e as { text: string }).text)).toEqual([
      'message 0 via B',
      'message 1 via A',
      'message 2 via B',
      'message 3 via A',
    ]);
    expect(seenA.filter((e) => e.type === 'reply').map((e) => (e as { text: string }).text)).toEqual(replies);
  });

  it('an approval requested through A is answered through B, and A gets the final reply', async () => {
    const [a, b] = apis as [string, string];
    const sessionId = `multi-approve-${run}`;
    expect((await post(a, '/sessions', { agentId: 'multi-approve', sessionId })).status).toBe(201);
    const onA = await stream(a, sessionId);
    const waiting = post(a, `/sessions/${sessionId}/messages?wait=true`, { text: 'echo hi', messageId: 'm1' });

    const requested = events(await onA.until((m) => m.event === 'approval_requested', 20_000)).at(-1)!;
    expect(requested).toMatchObject({ type: 'approval_requested', tool: 'echo' });
    const callId = (requested as { callId: string }).callId;
    const decided = await post(b, `/sessions/${sessionId}/approvals/${callId}`, { decision: 'approve', approver: 'bob-on-B' });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ callId, decision: 'approve' });

    const final = await waiting;
    expect(final.status).toBe(200);
    expect(final.body.reply).toBe('echoed');
    const rest = events(await onA.until((m) => m.event === 'reply', 20_000));
    expect(rest.map((e) => e.type)).toEqual(['approval_decided', 'tool_result', 'decision', 'reply']); // after approval_requested, once each
    expect(rest.find((e) => e.type === 'approval_decided')).toMatchObject({ callId, decision: 'approve' });
  });

  it('the per-credential rate limit holds across both APIs (shared in Redis)', async () => {
    const [a, b] = apis as [string, string];
    const get = (api: string) => fetch(`${api}/agents`, { headers: { authorization: `Bearer ${LIMITED_KEY}` } });
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await get(i % 2 === 0 ? a : b)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const api of [a, b]) {
      const res = await get(api);
      expect(res.status).toBe(429);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('both process kinds serve Prometheus metrics with the series to autoscale on', async () => {
    const workers = await Promise.all(workerMetrics.map(async (url) => (await fetch(url)).text()));
    for (const text of workers) {
      expect(text).toMatch(/^temporal_worker_task_slots_available\{.*worker_type="WorkflowWorker"/m);
      expect(text).toMatch(/^temporal_worker_task_slots_used\{/m);
      expect(text).toMatch(/^temporal_num_pollers\{/m);
    }
    const all = workers.join('\n');
    // The worker(s) that ran tasks: queue waits of workflow tasks and of the echo tool's activity.
    expect(all).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{/m);
    expect(all).toMatch(/^temporal_activity_schedule_to_start_latency_bucket\{/m);
    expect(all).toMatch(/task_queue="stepwise-int-multi-/);

    for (const api of apis) {
      const res = await fetch(`${api}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^stepwise_api_http_requests_total\{method="POST",route="\/sessions\/:sessionId\/messages",status_code="200"\} \d+/m);
      expect(text).toMatch(/^stepwise_api_http_request_duration_seconds_bucket\{/m);
      expect(text).toMatch(/^stepwise_api_sse_streams_open \d+/m);
      expect(text).toMatch(/^stepwise_api_rate_limited_total\{route="\/agents"\} 1$/m);
      expect(text).toMatch(/^stepwise_api_live_queries_total\{kind="round"\} \d+/m);
    }
  });
});
