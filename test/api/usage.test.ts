/**
 * Token usage on the API surfaces (`build()` + `inject()` over the in-process backend), with real provider calls: the
 * official `openai` SDK (through the `decide` / `summarize` activities and `localExecutors`) against the fake model
 * server, which reports prompt 11 / completion 7 tokens per completion. The agent's price table is $0.40 / $1.60 per
 * million input / output tokens ($0.10 / $0.40 for the summary model). The agent is loaded from YAML as a user writes it:
 * `llm` with `model` and no `provider` (inferred: openai), `llm.summary` overrides for flow-memory summaries, and a
 * `pricing` table. Checked: the turn result of `POST /sessions` and `POST /sessions/:id/messages`,
 * `GET /sessions/:id` (the session's sum), `GET /sessions/:id/messages/:messageId`, `GET /sessions/:id/history`, the
 * AgentOS run reply's `metadata.metrics`, and AI SDK's `finish` chunk `messageMetadata.usage` (read by the real client).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readUIMessageStream } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { localExecutors } from '../../cli/local-executors.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { loadAgent } from '../../runtime/agents/load.js';
import { TurnResult } from '../../src/engine/types.js';
import { SessionView } from '../../workflows/shared.js';
import { chatTransport, listen } from '../support/ai-chat.js';
import { build, call, type Harness } from '../support/api.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';

let fake: FakeModelServer;
let h: Harness;
beforeAll(async () => {
  fake = await startFakeModelServer();
});
afterAll(async () => {
  await fake?.close();
});
afterEach(async () => {
  await h?.app.close();
});

/** One completion at the fake server's 11 + 7 tokens: (11 × 0.4 + 7 × 1.6) / 1e6 dollars. */
const ONE = { inputTokens: 11, outputTokens: 7, totalTokens: 18, calls: 1, costUsd: 0.0000156 };

/** The agent YAML: two steps, a flow around `order`, a model string without provider, summary overrides, prices. */
function agentYaml(baseUrl: string): string {
  return `name: test-agent
start_step_id: greet
steps:
  - step_id: greet
    description: Greet the user.
    routes: [{ target: order, condition: the user wants to order }]
  - step_id: order
    description: Take the order.
    routes: [{ target: greet, condition: done }]
flows:
  - flow_id: ordering
    enters: [order]
    exits: [greet]
llm:
  model: gpt-4.1-mini
  base_url: ${baseUrl}
  api_key_env: STEPWISE_TEST_KEY
  temperature: 0.7
  summary: { model: gpt-4.1-nano, temperature: 0, max_tokens: 120 }
pricing:
  gpt-4.1-mini: { input: 0.4, output: 1.6 }
  gpt-4.1-nano: { input: 0.1, output: 0.4 }
`;
}

async function serve() {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-usage-api-'));
  writeFileSync(join(dir, 'agent.yaml'), agentYaml(fake.openaiBaseUrl));
  const { snapshot: agent } = await loadAgent(join(dir, 'agent.yaml'), { env: {} });
  expect(agent.llms.global).toMatchObject({ provider: 'openai', model: 'gpt-4.1-mini' });
  const activities = createActivities({ models: new ModelCache({ env: { STEPWISE_TEST_KEY: 'sk-test-0123456789abcdef' } }), tools: new Map() });
  h = await build({ agents: [agent], backend: new LocalSessions({ executors: () => localExecutors(activities) }) });
}

describe('token usage on the API', () => {
  it('turn results, session state, message and history reads carry usage and cost', async () => {
    await serve();
    fake.enqueue({ action: 'RESPOND', response: 'Hello! What can I get you?' });
    const created = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'u1', message: 'hi' });
    expect(created.res.statusCode).toBe(201);
    expect(created.body.usage).toEqual(ONE);

    // MOVE into the `ordering` flow (its entry summary is a completion too), then RESPOND.
    fake.enqueue({ action: 'MOVE', step_id: 'order' });
    fake.enqueue({ text: 'The user wants to order.' });
    fake.enqueue({ action: 'RESPOND', response: 'What would you like?' });
    fake.requests.length = 0;
    const turn = await call(h.app, 'POST', '/sessions/u1/messages', { text: 'I want to order', messageId: 'm2' });
    expect(turn.res.statusCode).toBe(200);
    const result = TurnResult.parse(turn.body);
    expect(result.flowId).toBe('ordering');
    // The summary went out with its own model settings; the decisions with the agent's.
    const [move, summary, respond] = fake.requests.map((r) => r.body);
    expect(summary).toMatchObject({ model: 'gpt-4.1-nano', temperature: 0, max_completion_tokens: 120 });
    expect(summary.response_format).toBeUndefined();
    for (const decision of [move, respond]) expect(decision).toMatchObject({ model: 'gpt-4.1-mini', temperature: 0.7 });
    // Two decisions at $0.40/$1.60 and the summary at the nano's $0.10/$0.40: 2 × 15.6 + 3.9 millionths of a dollar.
    expect(result.usage).toEqual({ inputTokens: 33, outputTokens: 21, totalTokens: 54, calls: 3, costUsd: 0.0000351 });

    const view = SessionView.parse((await call(h.app, 'GET', '/sessions/u1')).body);
    expect(view.usage).toEqual({ inputTokens: 44, outputTokens: 28, totalTokens: 72, calls: 4, costUsd: 0.0000507 });
    expect(TurnResult.parse((await call(h.app, 'GET', '/sessions/u1/messages/m2')).body).usage).toEqual(result.usage);
    const history = await call(h.app, 'GET', '/sessions/u1/history');
    expect(history.body.turns.map((t: TurnResult) => t.usage?.calls)).toEqual([1, 3]);
  });

  it('the AgentOS run reply has metadata.metrics; the AI SDK finish chunk has messageMetadata.usage', async () => {
    await serve();
    fake.enqueue({ action: 'RESPOND', response: 'Hi from AgentOS.' });
    fake.requests.length = 0;
    const ran = await call(h.app, 'POST', '/api/v1/agents/test-agent/run', { input: 'hello' });
    expect(ran.res.statusCode).toBe(200);
    expect(ran.body.metadata.metrics).toEqual({ input_tokens: 11, output_tokens: 7, total_tokens: 18, cost: 0.0000156 });

    fake.enqueue({ action: 'RESPOND', response: 'Hi from AI SDK.' });
    const transport = chatTransport(await listen(h.app), 'test-agent');
    const stream = await transport.sendMessages({
      chatId: 'ai-1',
      messages: [{ id: 'u-1', role: 'user', parts: [{ type: 'text', text: 'hello' }] }],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    let metadata: unknown;
    for await (const m of readUIMessageStream({ stream })) metadata = m.metadata;
    expect(metadata).toEqual({ step: 'greet', flow: null, ended: false, usage: ONE });
  });
});
