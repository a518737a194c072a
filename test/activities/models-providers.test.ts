import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createModel, NO_KEY_PLACEHOLDER, resolveApiKey } from '../../activities/models/model.js';
import { OpenAIModel, toOpenAIRequest } from '../../activities/models/openai.js';
import { DEFAULT_AZURE_API_VERSION, PROVIDER_PRESETS, providerBaseUrl } from '../../activities/models/providers.js';
import type { LlmConfig } from '../../src/config/agent.js';
import type { LlmProvider } from '../../src/config/schema.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { failureOf } from '../support/failures.js';
import { sampleDecideRequest, sampleSummarizeRequest } from '../support/model-requests.js';

const DECISION = { action: 'RESPOND', response: 'hello from the preset' };

/** Each OpenAI-compatible preset: documented base URL and key variable(s). */
const PRESETS: [LlmProvider, string, string[]][] = [
  ['mistral', 'https://api.mistral.ai/v1', ['MISTRAL_API_KEY']],
  ['google', 'https://generativelanguage.googleapis.com/v1beta/openai/', ['GOOGLE_API_KEY', 'GEMINI_API_KEY']],
  ['ollama', 'http://localhost:11434/v1', ['OLLAMA_API_KEY']],
  ['huggingface', 'https://router.huggingface.co/v1', ['HF_TOKEN', 'HUGGINGFACEHUB_API_TOKEN']],
  ['groq', 'https://api.groq.com/openai/v1', ['GROQ_API_KEY']],
  ['cohere', 'https://api.cohere.ai/compatibility/v1', ['COHERE_API_KEY', 'CO_API_KEY']],
];

describe('provider presets', () => {
  it.each(PRESETS)('%s → %s with key %j', (provider, url, vars) => {
    expect(PROVIDER_PRESETS[provider].baseUrl).toBe(url);
    expect(PROVIDER_PRESETS[provider].keyVariables).toEqual(vars);
    const model = createModel({ provider, model: 'm' }, { env: { [vars[0]!]: 'k-1' } }) as OpenAIModel;
    expect(model).toBeInstanceOf(OpenAIModel);
    expect(model.client.baseURL).toBe(url);
    expect(model.client.apiKey).toBe('k-1');
    expect(model.client.maxRetries).toBe(0);
  });

  it('reads the second key variable, and an explicit api_key_env over both', () => {
    expect(resolveApiKey({ provider: 'google', model: 'g' }, { GEMINI_API_KEY: 'gem' })).toBe('gem');
    expect(resolveApiKey({ provider: 'google', model: 'g' }, { GOOGLE_API_KEY: 'goo', GEMINI_API_KEY: 'gem' })).toBe('goo');
    expect(resolveApiKey({ provider: 'groq', model: 'g', apiKeyEnv: 'TEAM_GROQ' }, { TEAM_GROQ: 't', GROQ_API_KEY: 'no' })).toBe('t');
    expect(resolveApiKey({ provider: 'ollama', model: 'llama3' }, {})).toBe(NO_KEY_PLACEHOLDER);
  });

  it.each(['mistral', 'google', 'huggingface', 'groq', 'cohere', 'azure'] as const)('%s without its key fails naming the variable', async (provider) => {
    const f = await failureOf(async () => createModel({ provider, model: 'm' }, { env: {} }));
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(PROVIDER_PRESETS[provider].keyVariables[0]);
  });

  it('base_url overrides the preset URL', () => {
    expect(providerBaseUrl({ provider: 'ollama', model: 'm', baseUrl: 'http://gpu:11434/v1' })).toBe('http://gpu:11434/v1');
  });

  it('NOMOS client kwargs configure the client (base_url, timeout in seconds, organization), not the request', () => {
    const llm: LlmConfig = { provider: 'ollama', model: 'm', kwargs: { base_url: 'http://gpu:11434/v1', timeout: 30, organization: 'org-1', top_p: 0.4 } };
    const model = createModel(llm, { env: {} }) as OpenAIModel;
    expect(model.client.baseURL).toBe('http://gpu:11434/v1');
    expect(model.client.timeout).toBe(30_000);
    expect(model.client.organization).toBe('org-1');
    const body = toOpenAIRequest(sampleDecideRequest(llm)) as unknown as Record<string, unknown>;
    expect(body.top_p).toBe(0.4);
    for (const key of ['base_url', 'timeout', 'organization']) expect(body).not.toHaveProperty(key);
  });

  it('azure without an endpoint is a non-retryable config error', async () => {
    const f = await failureOf(async () => createModel({ provider: 'azure', model: 'dep' }, { env: { AZURE_OPENAI_API_KEY: 'k' } }));
    expect(f.type).toBe('INVALID_CONFIG');
    expect(f.message).toContain('AZURE_OPENAI_ENDPOINT');
  });
});

describe('presets against the fake model server (base URL overridden)', () => {
  let server: FakeModelServer;
  beforeAll(async () => {
    server = await startFakeModelServer();
  });
  afterAll(async () => server.close());
  beforeEach(() => {
    server.requests.length = 0;
  });

  it.each(PRESETS)('%s: decide sends its key, the step schema, kwargs and max_tokens', async (provider, _url, vars) => {
    const llm: LlmConfig = {
      provider,
      model: `${provider}-model`,
      baseUrl: server.openaiBaseUrl,
      maxTokens: 321,
      kwargs: { top_p: 0.5, seed: 7, temperature: 0.1 },
    };
    server.enqueue(DECISION);
    const model = createModel(llm, { env: { [vars[0]!]: `key-${provider}` } });
    const result = await model.decide(sampleDecideRequest(llm));
    expect(result.decision).toEqual(DECISION);
    const req = server.requests.at(-1)!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer key-${provider}`);
    expect(req.body).toMatchObject({ model: `${provider}-model`, max_tokens: 321, top_p: 0.5, seed: 7, temperature: 0.1 });
    expect(req.body.response_format.type).toBe('json_schema');
  });

  it('openai: kwargs reach summaries too, token limit as max_completion_tokens', async () => {
    const llm: LlmConfig = { provider: 'openai', model: 'gpt-x', baseUrl: server.openaiBaseUrl, maxTokens: 99, kwargs: { top_p: 0.3 } };
    server.enqueue({ text: 'a summary' });
    const { summary: text } = await createModel(llm, { env: { OPENAI_API_KEY: 'k' } }).summarize(sampleSummarizeRequest(llm));
    expect(text).toBe('a summary');
    expect(server.requests.at(-1)!.body).toMatchObject({ model: 'gpt-x', max_completion_tokens: 99, top_p: 0.3 });
  });

  it('azure: AzureOpenAI client, deployment path, api-version query and api-key header', async () => {
    const llm: LlmConfig = { provider: 'azure', model: 'my-deployment' };
    server.enqueue(DECISION);
    const env = { AZURE_OPENAI_API_KEY: 'az-key', AZURE_OPENAI_ENDPOINT: server.url };
    const result = await createModel(llm, { env }).decide(sampleDecideRequest(llm));
    expect(result.decision).toEqual(DECISION);
    const req = server.requests.at(-1)!;
    expect(req.path).toBe('/openai/deployments/my-deployment/chat/completions');
    expect(req.headers['api-key']).toBe('az-key');
    expect(req.headers.authorization).toBeUndefined();
    server.enqueue(DECISION);
    await createModel(llm, { env: { ...env, OPENAI_API_VERSION: '2025-01-01-preview' } }).decide(sampleDecideRequest(llm));
    expect(server.requests.length).toBe(2);
    expect(DEFAULT_AZURE_API_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('anthropic: kwargs merged into the Messages request', async () => {
    const llm: LlmConfig = { provider: 'anthropic', model: 'claude-x', baseUrl: server.anthropicBaseUrl, kwargs: { temperature: 0.2, top_k: 5 } };
    server.enqueue(DECISION);
    await createModel(llm, { env: { ANTHROPIC_API_KEY: 'a' } }).decide(sampleDecideRequest(llm));
    expect(server.requests.at(-1)!.body).toMatchObject({ model: 'claude-x', temperature: 0.2, top_k: 5 });
  });
});
