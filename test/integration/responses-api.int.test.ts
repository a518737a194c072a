/**
 * `llm.api_type: responses` on the real Temporal dev server: a turn with a tool call (decision TOOL_CALL, the tool
 * runs as an activity, then RESPOND) whose two model calls go through the official `openai` SDK's
 * `responses.create` to the fake model server's `POST /v1/responses`, stateless (`store: false`, no
 * `previous_response_id`), the tool result sent back as an input item. Then the worker-wide default: an `openai` llm
 * without `api_type` on a worker whose environment has `LLM_API_TYPE=responses`.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

const KEY_ENV = { STEPWISE_FAKE_KEY: 'sk-test-responses-0123456789' };
const echoCall = { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'green tea' } }] };

describe('api_type responses on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let models: FakeModelServer;
  const taskQueue = `stepwise-int-responses-${process.pid}`;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    [env, models] = await Promise.all([connectTemporal(), startFakeModelServer()]);
  });
  afterAll(async () => {
    await models?.close();
    await env?.teardown();
  });

  /** Runs `fn` against a worker whose models read keys (and `LLM_API_TYPE`) from `workerEnv`. */
  const withWorker = <T>(agent: LoadedAgent, workerEnv: NodeJS.ProcessEnv, fn: (sessions: TemporalSessions) => Promise<T>) =>
    withSessionWorker(env, { taskQueue, agents: [agent], models: new ModelCache({ env: workerEnv }) }, fn);

  const llmYaml = (extra: Record<string, unknown> = {}) => ({
    llm: { provider: 'openai', model: 'gpt-test', base_url: models.openaiBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY', max_tokens: 400, ...extra },
  });

  it('a tool-call turn: TOOL_CALL then RESPOND, both through POST /v1/responses', async () => {
    const agent = await writeAgent(`responses-${run}`, [], {}, llmYaml({ api_type: 'responses' }));
    expect(agent.snapshot.llms.global).toMatchObject({ provider: 'openai', apiType: 'responses' });
    models.requests.length = 0;
    models.enqueue(echoCall);
    models.enqueue({ action: 'RESPOND', response: 'We have green tea.' });
    const id = `responses-${run}`;
    const result = await withWorker(agent, KEY_ENV, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      return sessions.send(id, { messageId: 'm1', text: 'Do you have green tea?' });
    });
    expect(result.reply).toBe('We have green tea.');
    expect(result.events.find((e) => e.type === 'tool_result')).toMatchObject({ result: { echo: 'green tea' } });

    expect(models.requests.map((r) => r.path)).toEqual(['/v1/responses', '/v1/responses']);
    for (const { body, headers } of models.requests) {
      expect(headers.authorization).toBe(`Bearer ${KEY_ENV.STEPWISE_FAKE_KEY}`);
      expect(body).toMatchObject({ model: 'gpt-test', store: false, max_output_tokens: 400, text: { format: { type: 'json_schema', name: 'decision', strict: false } } });
      expect(body.instructions).toContain('Integration test agent');
      expect(body.previous_response_id).toBeUndefined();
      expect(body.messages).toBeUndefined();
      expect(body.input.every((item: { type: string; role: string }) => item.type === 'message' && item.role !== 'system')).toBe(true);
    }
    const [first, second] = models.requests.map((r) => r.body.input);
    expect(first).toEqual([{ type: 'message', role: 'user', content: 'Do you have green tea?' }]);
    // The whole prompt again (stateless), now with the echo tool's result as the engine renders it.
    expect(second).toEqual([first[0], { type: 'message', role: 'user', content: expect.stringContaining('{"echo":"green tea"}') }]);
  }, 60_000);

  it('LLM_API_TYPE=responses in the worker environment switches an llm without api_type', async () => {
    const agent = await writeAgent(`responses-env-${run}`, [], {}, llmYaml());
    expect(agent.snapshot.llms.global).not.toHaveProperty('apiType');
    models.requests.length = 0;
    models.enqueue({ action: 'RESPOND', response: 'Hello from Responses.' });
    const id = `responses-env-${run}`;
    const result = await withWorker(agent, { ...KEY_ENV, LLM_API_TYPE: 'responses' }, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      return sessions.send(id, { messageId: 'm1', text: 'hi' });
    });
    expect(result.reply).toBe('Hello from Responses.');
    expect(models.requests.map((r) => r.path)).toEqual(['/v1/responses']);
  }, 60_000);
});
