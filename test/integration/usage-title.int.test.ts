/**
 * Token usage and generated titles on the real Temporal dev server, through the REST API over `TemporalSessions` and
 * the official `openai` SDK against the fake model server (which reports prompt 11 / completion 7 tokens per chat
 * completion):
 * - every provider call of a session (decisions, a flow-memory summary, the title) is summed per turn (turn results,
 *   `GET /sessions/:id/messages/:messageId`), per session (`GET /sessions/:id`, the workflow memo) and priced by the
 *   agent's `pricing`; the AgentOS run reply carries it as `metadata.metrics`; the history is recorded for replay;
 * - the agent's llm is written as a model string without `provider` (inferred: openai), and its flow-memory summary
 *   goes out with `llm.summary`'s own model and temperature;
 * - after the first exchange the session is named by the `generateTitle` activity (prompt, temperature and length
 *   as configured), shown in the state and the memo;
 * - a title call that fails (503 three times: retried, then given up) leaves the conversation exactly as it was;
 * - a session the user named is never titled.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TurnResult } from '../../src/engine/types.js';
import { PATCH_IDS, SessionView, sessionWorkflowId } from '../../workflows/shared.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { recordHistory } from '../support/histories.js';
import { writeAgent } from '../support/int-agent.js';
import { serveOnTemporal } from '../support/int-api.js';
import { connectTemporal } from '../support/temporal.js';

const KEY_ENV = { STEPWISE_FAKE_KEY: 'sk-test-usage-0123456789' };
/** The fake server's usage of one chat completion. */
const CALL = { inputTokens: 11, outputTokens: 7, totalTokens: 18 };

describe('token usage and session titles on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let models: FakeModelServer;
  const run = Date.now().toString(36);
  const sid = (name: string) => `usage-${name}-${run}`;

  beforeAll(async () => {
    [env, models] = await Promise.all([connectTemporal(), startFakeModelServer()]);
  });
  afterAll(async () => {
    await models?.close();
    await env?.teardown();
  });

  const openai = () => ({ provider: 'openai', model: 'gpt-test', base_url: models.openaiBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY' });

  async function serving<T>(agent: Awaited<ReturnType<typeof writeAgent>>, fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
    const served = await serveOnTemporal(env, { agents: [agent], taskQueue: `stepwise-int-usage-${process.pid}-${agent.snapshot.name}`, models: new ModelCache({ env: KEY_ENV }) });
    try {
      return await fn(served.app);
    } finally {
      await served.stop();
    }
  }

  const state = async (app: FastifyInstance, id: string) => SessionView.parse((await app.inject({ method: 'GET', url: `/sessions/${id}` })).json());
  const activities = async (id: string) =>
    ((await env.client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory()).events ?? []).flatMap((e) => {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });

  it('sums decisions, a summary and the title per turn and per session, prices them, and names the session', async () => {
    const { provider: _inferred, ...withoutProvider } = openai();
    const agent = await writeAgent(`usage-${run}`, [], {}, {
      llm: { ...withoutProvider, summary: { model: 'gpt-summary', temperature: 0 } },
      pricing: { 'gpt-test': { input: 1, output: 2 }, 'gpt-summary': { input: 0.5, output: 1 } },
      session_title: { max_chars: 40, temperature: 0.2 },
    });
    expect(agent.snapshot.llms.global).toMatchObject({ provider: 'openai', model: 'gpt-test' });
    expect(agent.snapshot.sessionTitle).toMatchObject({ maxChars: 40, llm: { provider: 'openai', model: 'gpt-test', temperature: 0.2 } });
    const id = sid('full');
    models.requests.length = 0;
    models.enqueue({ action: 'RESPOND', response: 'Hello! Green or black tea?' });
    models.enqueue({ text: '"Title: Green tea order."' });
    await serving(agent, async (app) => {
      const created = await app.inject({ method: 'POST', url: '/sessions', payload: { agentId: agent.snapshot.name, sessionId: id, message: 'I would like some green tea please' } });
      expect(created.statusCode).toBe(201);
      const first = TurnResult.parse(created.json());
      // One decision at 11 + 7 tokens, $1 / $2 per million.
      expect(first.usage).toEqual({ ...CALL, calls: 1, costUsd: 0.000025 });

      // The title call runs after the first exchange, beside the conversation.
      await vi.waitFor(async () => expect((await state(app, id)).name).toBe('Green tea order'), { timeout: 15_000, interval: 100 });
      const titleCall = models.requests[1]!.body;
      expect(titleCall.temperature).toBe(0.2);
      expect(titleCall.response_format).toBeUndefined();
      expect(titleCall.messages[0].content).toContain('at most 40 characters');
      expect(titleCall.messages[1].content).toBe('User: I would like some green tea please\nAssistant: Hello! Green or black tea?');

      // Turn 2: MOVE into the flow (a summary), then RESPOND: three calls.
      models.enqueue({ action: 'MOVE', step_id: 'work' });
      models.enqueue({ text: 'The user wants green tea.' });
      models.enqueue({ action: 'RESPOND', response: 'Brewing your green tea.' });
      const second = await app.inject({ method: 'POST', url: `/sessions/${id}/messages`, payload: { text: 'Green, please', messageId: 'm2' } });
      expect(second.statusCode).toBe(200);
      const turn2 = TurnResult.parse(second.json());
      expect(turn2.events.map((e) => e.type)).toContain('flow_enter');
      expect(models.requests[3]!.body).toMatchObject({ model: 'gpt-summary', temperature: 0 });
      // Two decisions at $1/$2 per million, the summary at $0.50/$1: 2 × 25 + 12.5 millionths.
      expect(turn2.usage).toEqual({ inputTokens: 33, outputTokens: 21, totalTokens: 54, calls: 3, costUsd: 0.0000625 });
      const again = TurnResult.parse((await app.inject({ method: 'GET', url: `/sessions/${id}/messages/m2` })).json());
      expect(again.usage).toEqual(turn2.usage);

      // The session: 2 + 3 model calls of the turns and the title's.
      const view = await state(app, id);
      const sessionUsage = { inputTokens: 55, outputTokens: 35, totalTokens: 90, calls: 5, costUsd: 0.0001125 };
      expect(view.usage).toEqual(sessionUsage);
      const { memo } = await env.client.workflow.getHandle(sessionWorkflowId(id)).describe();
      expect(memo).toMatchObject({ name: 'Green tea order', usage: { inputTokens: 55, outputTokens: 35, totalTokens: 90, costUsd: 0.0001125 } });

      // AgentOS reads: the run reply's `metadata.metrics` (agno's names), the session's `name`.
      models.enqueue({ action: 'RESPOND', response: 'Anything else?' });
      const ran = await app.inject({ method: 'POST', url: `/api/v1/agents/${agent.snapshot.name}/run`, payload: { input: 'No, thanks', session_id: id } });
      expect(ran.statusCode).toBe(200);
      expect(ran.json().metadata.metrics).toEqual({ input_tokens: 11, output_tokens: 7, total_tokens: 18, cost: 0.000025 });
      const agentOsSession = await app.inject({ method: 'GET', url: `/api/v1/sessions/${id}` });
      expect(agentOsSession.json()).toMatchObject({ session_id: id, name: 'Green tea order' });

      expect((await app.inject({ method: 'DELETE', url: `/sessions/${id}` })).statusCode).toBe(200);
    });
    expect(await activities(id)).toContain('generateTitle');
    await recordHistory('usage-title', env.client.workflow.getHandle(sessionWorkflowId(id)));
    // Payloads decoded: the patch markers are there, the provider key is not.
    const payloads: string[] = [];
    JSON.stringify(await env.client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory(), (key, v: unknown) => {
      if (key === 'data' && v instanceof Uint8Array) payloads.push(Buffer.from(v).toString('utf8'));
      else if (key === 'data' && typeof v === 'string') payloads.push(Buffer.from(v, 'base64').toString('utf8'));
      return v;
    });
    expect(payloads).toContain(JSON.stringify({ id: PATCH_IDS.tokenUsage, deprecated: false }));
    expect(payloads).toContain(JSON.stringify({ id: PATCH_IDS.sessionTitle, deprecated: false }));
    expect(payloads.join('\n')).not.toContain(KEY_ENV.STEPWISE_FAKE_KEY);
  }, 90_000);

  it('a failing title call (503, retried, then given up) never touches the conversation', async () => {
    const agent = await writeAgent(
      `usage-fail-${run}`,
      [
        { action: 'RESPOND', response: 'first reply' },
        { action: 'RESPOND', response: 'second reply' },
      ],
      {},
      {
        llm: { global: { provider: 'scripted', script: './script.yaml' }, titles: openai() },
        session_title: { llm: 'titles' },
      },
    );
    const id = sid('fail');
    models.requests.length = 0;
    for (let i = 0; i < 3; i++) models.enqueue({ status: 503, error: 'overloaded' });
    await serving(agent, async (app) => {
      const first = await app.inject({ method: 'POST', url: '/sessions', payload: { agentId: agent.snapshot.name, sessionId: id, message: 'hello there' } });
      expect(TurnResult.parse(first.json())).toMatchObject({ reply: 'first reply', ended: false });
      // Three attempts (1 s, then 2 s apart), then the workflow gives up on the title.
      await vi.waitFor(
        async () => {
          const events = (await env.client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory()).events ?? [];
          expect(events.some((e) => e.activityTaskFailedEventAttributes)).toBe(true);
        },
        { timeout: 20_000, interval: 200 },
      );
      expect(models.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(3);
      const second = TurnResult.parse((await app.inject({ method: 'POST', url: `/sessions/${id}/messages`, payload: { text: 'and again', messageId: 'm2' } })).json());
      expect(second).toMatchObject({ reply: 'second reply', stepId: 'chat', ended: false });
      expect(second.events.map((e) => e.type)).toEqual(['turn_started', 'user_message', 'decision', 'reply']);
      const view = await state(app, id);
      expect(view).toMatchObject({ status: 'active', turns: 2, busy: false });
      expect(view.name).toBeUndefined();
      // Scripted decisions count as calls with zero tokens; the failed title is not counted.
      expect(view.usage).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 2 });
      const history = await app.inject({ method: 'GET', url: `/sessions/${id}/history` });
      expect(history.json().turns.map((t: TurnResult) => t.reply)).toEqual(['first reply', 'second reply']);
      expect(history.body).not.toContain('overloaded');
    });
  }, 60_000);

  it('a session the user named is never titled', async () => {
    const agent = await writeAgent(`usage-named-${run}`, [{ action: 'RESPOND', response: 'hi' }], {}, { session_title: true });
    const id = sid('named');
    await serving(agent, async (app) => {
      const created = await app.inject({ method: 'POST', url: '/sessions', payload: { agentId: agent.snapshot.name, sessionId: id, name: 'My chat', message: 'hello' } });
      expect(created.statusCode).toBe(201);
      expect((await state(app, id)).name).toBe('My chat');
    });
    expect(await activities(id)).not.toContain('generateTitle');
  }, 60_000);
});
