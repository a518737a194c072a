/**
 * Side effects exactly once, on the real Temporal dev server: an `@api` HTTP tool's requests carry
 * `Idempotency-Key: <sessionId>/<callId>`, different for two sessions' `t1.1` calls, and the same on both attempts
 * when the worker is killed (SIGKILL) after its POST reached the API and before the answer came back: the retry on
 * another worker process sends the same key, so an API honouring the header applies the order once.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { createSessionWorker } from '../../workers/worker.js';
import { writeAgent } from '../support/int-agent.js';
import { startWorkerProcess } from '../support/spawn-worker.js';
import { connectTemporal, temporalServer } from '../support/temporal.js';

/** What the orders API saw: one entry per request. */
interface OrderRequest {
  key: string | undefined;
  body: string;
}

/** One decision calling `create_order`, then the reply `ordered`. */
const SCRIPT = [
  { action: 'TOOL_CALL', tool_calls: [{ tool: 'create_order', arguments: { item: 'latte' } }] },
  { action: 'RESPOND', response: 'ordered' },
];

describe('Idempotency-Key of @api tools on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let api: Server;
  let apiUrl: string;
  const requests: OrderRequest[] = [];
  /** When set, the next request is held unanswered (its worker is about to be killed). */
  let holdNext = false;
  const held: ServerResponse[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await connectTemporal();
    api = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests.push({ key: req.headers['idempotency-key'] as string | undefined, body });
        if (holdNext) {
          holdNext = false;
          held.push(res);
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ order: requests.length }));
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/orders`;
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const res of held) res.destroy();
    await new Promise<void>((r) => api?.close(() => r()));
    await env?.teardown();
  });

  /** An agent whose only tool is `create_order`, a POST to the orders API. */
  const orderAgent = (name: string) =>
    writeAgent(name, SCRIPT, {}, {
      steps: [{ step_id: 'chat', description: 'take orders', available_tools: ['create_order'] }],
      flows: [],
      tools: { external_tools: [{ tag: `@api/${apiUrl}`, name: 'create_order', method: 'POST', body: { item: '{item}' } }] },
    });

  it("sends <sessionId>/<callId>: two sessions' t1.1 calls get different keys", async () => {
    const agent = await orderAgent('idem');
    const taskQueue = `stepwise-int-idem-${process.pid}`;
    const sessions = new TemporalSessions({ client: env.client, taskQueue });
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    const ids = [`idem-a-${Date.now().toString(36)}`, `idem-b-${Date.now().toString(36)}`];
    const before = requests.length;
    await worker.runUntil(async () => {
      for (const id of ids) {
        await sessions.start(agent.snapshot, id);
        const result = await sessions.send(id, { messageId: 'm1', text: 'one latte' });
        expect(result.reply).toBe('ordered');
        expect(result.events.find((e) => e.type === 'tool_call')).toMatchObject({ callId: 't1.1', tool: 'create_order' });
        expect(result.events.find((e) => e.type === 'tool_result')).toMatchObject({ callId: 't1.1', result: { order: expect.any(Number) } });
      }
    });
    expect(requests.slice(before).map((r) => r.key)).toEqual([`${ids[0]}/t1.1`, `${ids[1]}/t1.1`]);
    expect(JSON.parse(requests.at(-1)!.body)).toEqual({ item: 'latte' });
  }, 60_000);

  it('sends the same key on the retry after the worker died with the POST sent', async () => {
    const agent = await orderAgent('idem-crash');
    const sessionId = `idem-crash-${Date.now().toString(36)}`;
    const taskQueue = `stepwise-int-idem-crash-${process.pid}`;
    const { address, namespace } = temporalServer();
    const workerEnv = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, STEPWISE_TASK_QUEUE: taskQueue, STEPWISE_AGENTS: join(agent.dir, 'agent.yaml') };
    const sessions = new TemporalSessions({ client: env.client, taskQueue });
    const first = await startWorkerProcess(workerEnv);
    children.push(first);
    const before = requests.length;
    holdNext = true;
    await sessions.start(agent.snapshot, sessionId);
    const reply = sessions.send(sessionId, { messageId: 'm1', text: 'one latte' });

    // The POST has reached the API (a side effect done); the worker dies before the answer comes back.
    for (let i = 0; i < 400 && requests.length === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(requests.length).toBe(before + 1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    // Another worker process gets the call's second attempt when the dead worker's heartbeat times out (3 s).
    children.push(await startWorkerProcess(workerEnv));
    const result = await reply;
    expect(result.reply).toBe('ordered');
    expect(result.events.find((e) => e.type === 'tool_result')).toMatchObject({ callId: 't1.1', result: { order: before + 2 } });
    expect(requests.slice(before).map((r) => r.key)).toEqual([`${sessionId}/t1.1`, `${sessionId}/t1.1`]);
  }, 120_000);
});
