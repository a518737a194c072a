/**
 * Session titles through each adapter with the official SDKs against the fake model server: OpenAI Chat Completions,
 * the Responses API, Anthropic Messages (request shape, the title's own temperature and token limit, the cleaned
 * title, usage), the scripted provider (deterministic, zero usage), and an empty answer as MODEL_OUTPUT_INVALID.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createModel, ModelCache } from '../../activities/models/model.js';
import type { LlmConfig } from '../../src/config/agent.js';
import type { TitleRequest } from '../../src/engine/title.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';

const env = { OPENAI_API_KEY: 'sk-test-title-0123456789', ANTHROPIC_API_KEY: 'sk-ant-test-title-0123456789' };

function titleRequest(llm: LlmConfig, over: Partial<TitleRequest> = {}): TitleRequest {
  return {
    sessionId: 's-1',
    agentName: 'barista',
    llm,
    userText: 'Can I get two flat whites to go?',
    replyText: 'Sure, two flat whites to go. Anything else?',
    maxChars: 30,
    ...over,
  };
}

describe('session titles through the real SDKs', () => {
  let server: FakeModelServer;
  beforeAll(async () => {
    server = await startFakeModelServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
  });

  it('OpenAI Chat Completions: a plain completion with the title prompt and temperature, cleaned, with usage', async () => {
    const llm: LlmConfig = { provider: 'openai', model: 'gpt-test', baseUrl: server.openaiBaseUrl, temperature: 0.9 };
    server.enqueue({ text: 'Title: "Two flat whites to go, please."' });
    const out = await createModel(llm, { env }).title(titleRequest({ ...llm, temperature: 0.2, maxTokens: 20 }));
    expect(out).toEqual({ title: 'Two flat whites to go, please', model: 'gpt-test', usage: { inputTokens: 11, outputTokens: 7 } });
    const body = server.requests[0]!.body;
    expect(body).toMatchObject({ model: 'gpt-test', temperature: 0.2, max_completion_tokens: 20 });
    expect(body.response_format).toBeUndefined();
    expect(body.messages[0]).toMatchObject({ role: 'system', content: expect.stringContaining('at most 30 characters') });
    expect(body.messages[1].content).toBe('User: Can I get two flat whites to go?\nAssistant: Sure, two flat whites to go. Anything else?');
  });

  it('OpenAI Responses API: instructions + one input item, usage with cached and reasoning tokens', async () => {
    const llm: LlmConfig = { provider: 'openai', model: 'gpt-test', baseUrl: server.openaiBaseUrl, apiType: 'responses' };
    server.enqueue({ text: 'Flat whites to go' });
    const out = await createModel(llm, { env }).title(titleRequest(llm));
    expect(out).toEqual({ title: 'Flat whites to go', model: 'gpt-test', usage: { inputTokens: 17, outputTokens: 9, cachedInputTokens: 4, reasoningTokens: 2 } });
    expect(server.requests[0]!.path).toBe('/v1/responses');
    expect(server.requests[0]!.body).toMatchObject({ store: false, input: [{ type: 'message', role: 'user' }] });
  });

  it('Anthropic Messages: a plain message with temperature and max_tokens, cut at a word to maxChars', async () => {
    const llm: LlmConfig = { provider: 'anthropic', model: 'claude-test', baseUrl: server.anthropicBaseUrl };
    server.enqueue({ text: 'Ordering two flat whites to take away' });
    const out = await createModel(llm, { env }).title(titleRequest({ ...llm, temperature: 0.3, maxTokens: 16 }));
    expect(out).toEqual({ title: 'Ordering two flat whites to', model: 'claude-test', usage: { inputTokens: 13, outputTokens: 5 } });
    const body = server.requests[0]!.body;
    expect(body).toMatchObject({ model: 'claude-test', temperature: 0.3, max_tokens: 16, system: expect.stringContaining('short title') });
    expect(body.tools).toBeUndefined();
  });

  it('an empty answer is MODEL_OUTPUT_INVALID (non-retryable); the activity passes it on', async () => {
    const llm: LlmConfig = { provider: 'openai', model: 'gpt-test', baseUrl: server.openaiBaseUrl };
    server.enqueue({ text: '  ""  ' });
    const activities = createActivities({ models: new ModelCache({ env }), tools: new Map() });
    const err = await activities.generateTitle(titleRequest(llm)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'MODEL_OUTPUT_INVALID', nonRetryable: true });
  });

  it('scripted: the user message cleaned, zero usage, no request', async () => {
    const llm: LlmConfig = { provider: 'scripted', script: '/dev/null' };
    const out = await createModel(llm, { env }).title(titleRequest(llm));
    expect(out).toEqual({ title: 'Can I get two flat whites to', model: 'scripted', usage: { inputTokens: 0, outputTokens: 0 } });
    expect(server.requests).toHaveLength(0);
  });
});
