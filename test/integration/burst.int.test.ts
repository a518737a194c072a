/**
 * A burst of messages while a turn waits for approval, over REST on the real Temporal dev server (issue 24): the
 * approval answers at once whatever the backlog (9 or 30 queued messages), and every message the API acknowledged
 * ends in its turn result or a documented refusal that its result URL keeps answering (409 SESSION_ENDED after the
 * session ended), never a 404; a message never sent gets 429 with Retry-After, never 503. Also issue 25.1: ending a
 * session whose paused turn has messages queued behind it ends it (it used to fail the workflow task forever).
 */
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { createSessionWorker } from '../../workers/worker.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

const echoCall = (text: string) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text } }] });

describe('a burst of messages during an approval, on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-burst-${process.pid}`;
  const run = Date.now().toString(36);
  const sid = (name: string) => `${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  /** The REST API over a worker for `agent`; `turnTimeoutMs` is the API's turn wait (default 100 s). */
  async function withApi<T>(agent: LoadedAgent, fn: (app: FastifyInstance) => Promise<T>, turnTimeoutMs?: number): Promise<T> {
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    return worker.runUntil(async () => {
      const backend = new TemporalSessions({ client: env.client, taskQueue, ...(turnTimeoutMs ? { turnTimeoutMs } : {}) });
      // No per-session message rate limit: these bursts are about the queue behind it (70 messages in a minute).
      const app = await buildApp({ backend, agents: new Map([[agent.snapshot.name, agent.snapshot]]), guards: { sessionMessagesPerMinute: 0 } });
      try {
        return await fn(app);
      } finally {
        await app.close();
      }
    });
  }

  const post = (app: FastifyInstance, url: string, payload: object) => app.inject({ method: 'POST', url, payload });
  const get = (app: FastifyInstance, url: string) => app.inject({ method: 'GET', url });

  /** Starts session `id`, sends `m0` (its turn pauses for approval of `echo`), then `n` messages at once. */
  async function burstDuringApproval(app: FastifyInstance, agentId: string, id: string, n: number, query = '') {
    expect((await post(app, '/sessions', { agentId, sessionId: id })).statusCode).toBe(201);
    const first = await post(app, `/sessions/${id}/messages`, { text: 'echo it', messageId: 'm0' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ pendingApprovals: [{ callId: 't1.1', tool: 'echo' }] });
    const ids = Array.from({ length: n }, (_, i) => `b${i + 1}`);
    const replies = ids.map((messageId) => post(app, `/sessions/${id}/messages${query}`, { text: `burst ${messageId}`, messageId }));
    // Wait until the workflow holds every message the API could send (8 updates in flight, the rest in the API's line).
    const inWorkflow = Math.min(n, 8);
    for (let i = 0; i < 200 && (await get(app, `/sessions/${id}`)).json().queued < inWorkflow; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await get(app, `/sessions/${id}`)).json().queued).toBeGreaterThanOrEqual(inWorkflow);
    return { ids, replies };
  }

  /** Decides `t1.1` and returns the reply with its latency in ms. */
  async function decide(app: FastifyInstance, id: string, decision: 'approve' | 'deny') {
    const started = performance.now();
    const reply = await post(app, `/sessions/${id}/approvals/t1.1`, { decision });
    return { reply, ms: performance.now() - started };
  }

  /** Every message's final answer at its result URL. */
  async function finalAnswers(app: FastifyInstance, id: string, ids: string[]): Promise<LightMyRequestResponse[]> {
    return Promise.all(ids.map((m) => get(app, `/sessions/${id}/messages/${m}`)));
  }

  for (const [n, decision] of [
    [9, 'approve'],
    [30, 'deny'],
  ] as const) {
    it(`${n} queued messages: the ${decision} answers at once, then every message gets its turn`, async () => {
      const agent = await writeAgent(`burst-${n}`, [echoCall('it'), { action: 'RESPOND', response: 'after decision' }, ...responses(n)], {}, {
        tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
      });
      const id = sid(`burst-${n}`);
      await withApi(agent, async (app) => {
        const { ids, replies } = await burstDuringApproval(app, agent.snapshot.name, id, n);
        const { reply, ms } = await decide(app, id, decision);
        expect(reply.statusCode).toBe(200);
        expect(reply.json()).toMatchObject({ callId: 't1.1', decision });
        // It used to wait behind the in-flight messages until their 100 s turn deadline.
        expect(ms).toBeLessThan(5_000);

        const answered = await Promise.all(replies);
        expect(answered.map((r) => r.statusCode)).toEqual(ids.map(() => 200));
        expect(new Set(answered.map((r) => r.json().reply)).size).toBe(n); // n distinct turns, each its own reply
        const final = await finalAnswers(app, id, ['m0', ...ids]);
        expect(final.map((r) => r.statusCode)).toEqual(['m0', ...ids].map(() => 200));
        expect(final[0]!.json()).toMatchObject({ messageId: 'm0', reply: 'after decision' });
        expect((await get(app, `/sessions/${id}`)).json()).toMatchObject({ status: 'active', turns: n + 1, queued: 0 });
      });
    }, 120_000);
  }

  it('9 queued messages and the approval times out (deny): every message gets its turn', async () => {
    const agent = await writeAgent('burst-timeout', [echoCall('it'), { action: 'RESPOND', response: 'after timeout' }, ...responses(9)], {}, {
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { approval: { timeout: '2s', on_timeout: 'deny' } } } },
    });
    const id = sid('burst-timeout');
    await withApi(agent, async (app) => {
      const { ids, replies } = await burstDuringApproval(app, agent.snapshot.name, id, 9);
      const answered = await Promise.all(replies);
      expect(answered.map((r) => r.statusCode)).toEqual(ids.map(() => 200));
      const final = await finalAnswers(app, id, ['m0', ...ids]);
      expect(final.map((r) => r.statusCode)).toEqual(['m0', ...ids].map(() => 200));
      expect(final[0]!.json()).toMatchObject({ reply: 'after timeout' });
      expect(final[0]!.json().events).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'approval_decided', timedOut: true })]));
      // The timers read as what they are in the Temporal UI's timeline, not `2 (2s)`.
      const history = await env.client.workflow.getHandle(`session-${id}`).fetchHistory();
      const timers = history.events!.filter((e) => e.timerStartedEventAttributes);
      const summaries = await Promise.all(timers.map(async (e) => env.client.options.loadedDataConverter.payloadConverter.fromPayload(e.userMetadata!.summary!)));
      expect(summaries).toEqual(expect.arrayContaining(['approval timeout: echo (t1.1), then deny', expect.stringMatching(/^idle timeout/)]));
    });
  }, 120_000);

  it('ending the session during the approval: acknowledged messages answer 409 SESSION_ENDED, never 404; unsent ones got 429', async () => {
    const agent = await writeAgent('burst-end', [echoCall('it'), ...responses(3)], {}, {
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
    });
    const id = sid('burst-end');
    // A 4 s turn wait: the 8 messages in flight answer 202 (accepted, turn pending), the 22 in the API's line 429.
    await withApi(
      agent,
      async (app) => {
        const { ids, replies } = await burstDuringApproval(app, agent.snapshot.name, id, 30);
        const answered = await Promise.all(replies);
        const codes = answered.map((r) => r.statusCode);
        expect(codes.filter((c) => c === 202)).toHaveLength(8);
        expect(codes.filter((c) => c === 429)).toHaveLength(22);
        for (const r of answered.filter((r) => r.statusCode === 429)) {
          expect(r.headers['retry-after']).toBe('1');
          expect(r.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
        }
        // Two more queued as signals (?wait=false): acknowledged with 202 too.
        const signalled = await Promise.all(['s1', 's2'].map((m) => post(app, `/sessions/${id}/messages?wait=false`, { text: m, messageId: m })));
        expect(signalled.map((r) => r.statusCode)).toEqual([202, 202]);

        const started = performance.now();
        const ended = await app.inject({ method: 'DELETE', url: `/sessions/${id}` });
        expect(ended.statusCode).toBe(200);
        expect(ended.json()).toMatchObject({ status: 'ended' });
        expect(performance.now() - started).toBeLessThan(5_000);

        const acknowledged = ['m0', ...ids.filter((_, i) => codes[i] === 202), 's1', 's2'];
        const final = await finalAnswers(app, id, acknowledged);
        expect(final.map((r) => r.statusCode)).toEqual(acknowledged.map(() => 409));
        for (const r of final) expect(r.json()).toMatchObject({ error: { code: 'SESSION_ENDED' } });
        // Messages refused with 429 were never sent: the session never had them.
        const unsent = ids.filter((_, i) => codes[i] === 429);
        expect((await finalAnswers(app, id, unsent)).map((r) => r.statusCode)).toEqual(unsent.map(() => 404));
        // And sending them now gets 409 SESSION_ENDED.
        expect((await post(app, `/sessions/${id}/messages`, { text: 'late', messageId: unsent[0]! })).statusCode).toBe(409);
      },
      4_000,
    );
  }, 120_000);

  it('70 queued 32k-character signals during an approval: the queue takes what fits, continue-as-new carries it, the rest answer 429', async () => {
    const agent = await writeAgent('burst-big', [echoCall('it'), { action: 'RESPOND', response: 'after decision' }, ...responses(70)], { max_turns_per_run: 1 }, {
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
    });
    const id = sid('burst-big');
    await withApi(agent, async (app) => {
      await burstDuringApproval(app, agent.snapshot.name, id, 0);
      const text = 'x'.repeat(32_000);
      const ids = Array.from({ length: 70 }, (_, i) => `big${i + 1}`);
      for (const messageId of ids) expect((await post(app, `/sessions/${id}/messages?wait=false`, { text, messageId })).statusCode).toBe(202);
      // Without a bound the next run's input would carry 2.2 MB of messages, past Temporal's 2 MiB payload limit.
      expect((await decide(app, id, 'approve')).reply.statusCode).toBe(200);

      // Wait for the 9 turns (one per run: max_turns_per_run 1), then read every message's answer once.
      const deadline = Date.now() + 60_000;
      while ((await get(app, `/sessions/${id}`)).json().turns < 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      // The 9th turn's result is there once its archive write is done (it answers after it, since no-local-activities).
      while ((await get(app, `/sessions/${id}/messages/big8`)).statusCode === 202 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const final = await finalAnswers(app, id, ids);
      const codes = final.map((r) => r.statusCode);
      // 256 KiB of queue: the first 8 get their turns (across runs), every later one is refused and says so.
      expect(codes).toEqual(ids.map((_, i) => (i < 8 ? 200 : 429)));
      for (const r of final.slice(8)) {
        expect(r.headers['retry-after']).toBe('1');
        expect(r.json()).toMatchObject({ error: { code: 'RATE_LIMITED', details: { messageId: expect.any(String) } } });
      }
      const state = (await get(app, `/sessions/${id}`)).json();
      expect(state).toMatchObject({ status: 'active', turns: 9, queued: 0 });
      expect(state.run).toBeGreaterThan(1);
      // A refused message sent again is taken now that the queue has room.
      const again = await post(app, `/sessions/${id}/messages`, { text: 'small now', messageId: 'big9' });
      expect(again.statusCode, again.body).toBe(200);
    });
  }, 120_000);

  it('a message refused as SESSION_CONTINUING is retried with backoff (a handful of attempts, not one per 20 ms), then runs in the next run', async () => {
    const slow = (ms: number) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms } }] });
    const script = [slow(300), { action: 'RESPOND', response: 'one' }, slow(3_000), { action: 'RESPOND', response: 'two' }, { action: 'RESPOND', response: 'three' }];
    const agent = await writeAgent('burst-continuing', script, { max_turns_per_run: 1 }, {
      steps: [{ step_id: 'chat', description: 'chat', available_tools: ['slow'] }],
      flows: [],
    });
    const id = sid('burst-continuing');
    const attempts = new Map<string, number>();
    const client = new Client({
      connection: env.client.connection,
      namespace: env.client.options.namespace,
      interceptors: {
        workflow: [
          {
            async startUpdate(input, next) {
              attempts.set(input.options.updateId ?? '', (attempts.get(input.options.updateId ?? '') ?? 0) + 1);
              return next(input);
            },
          },
        ],
      },
    });
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    await worker.runUntil(async () => {
      const sessions = new TemporalSessions({ client, taskQueue });
      await sessions.start(agent.snapshot, id);
      // m1 runs its turn; m2 is accepted behind it, so after m1 the run must finish m2 (3 s of tool) before it can
      // continue as new: m3, sent meanwhile, is refused with SESSION_CONTINUING until the next run takes it.
      const m1 = sessions.send(id, { messageId: 'm1', text: 'one' });
      await new Promise((r) => setTimeout(r, 100));
      const m2 = sessions.send(id, { messageId: 'm2', text: 'two' });
      await m1;
      await new Promise((r) => setTimeout(r, 300));
      const m3 = await sessions.send(id, { messageId: 'm3', text: 'three' });
      expect((await m2).reply).toBe('two');
      expect(m3.reply).toBe('three');
      expect((await sessions.state(id)).run).toBeGreaterThan(1);
      // ~2.7 s of refusals: fixed 20 ms retries made ~130 attempts; exponential backoff from 20 ms (cap 2 s) ~8.
      const tries = attempts.get('m3') ?? 0;
      expect(tries).toBeGreaterThan(1); // it was refused at least once (the scenario holds)
      expect(tries).toBeLessThan(15);
    });
  }, 120_000);

  it('approval wait + a queued message + end: the session ends at once (issue 25.1: the workflow task used to fail forever)', async () => {
    const agent = await writeAgent('burst-end-one', [echoCall('it'), ...responses(2)], {}, {
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
    });
    const id = sid('burst-end-one');
    await withApi(
      agent,
      async (app) => {
        await burstDuringApproval(app, agent.snapshot.name, id, 0);
        expect((await post(app, `/sessions/${id}/messages?wait=false`, { text: 'later', messageId: 's1' })).statusCode).toBe(202);
        const ended = await app.inject({ method: 'DELETE', url: `/sessions/${id}` });
        expect(ended.statusCode).toBe(200);
        expect(ended.json()).toMatchObject({ status: 'ended', queued: 0, pendingApprovals: [] });
        const [m0, s1] = await finalAnswers(app, id, ['m0', 's1']);
        expect(m0!.json()).toMatchObject({ error: { code: 'SESSION_ENDED', message: expect.stringMatching(/while this turn waited for approval/) } });
        expect(s1!.json()).toMatchObject({ error: { code: 'SESSION_ENDED', message: expect.stringMatching(/ended before this message's turn ran/) } });
      },
      10_000,
    );
  }, 60_000);
});
