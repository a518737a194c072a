/**
 * The OpenAI adapter with `api_type: responses`: pure converters, then the official `openai` SDK's
 * `client.responses.create` against the fake model server's `POST /v1/responses` (JSON and SSE).
 */
import type OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LlmConfig } from '../../src/config/agent.js';
import { createModel } from '../../activities/models/model.js';
import { OpenAIModel, toOpenAISchema } from '../../activities/models/openai.js';
import { fromResponsesResponse, toResponsesInput, toResponsesRequest } from '../../activities/models/openai-responses.js';
import { DEFAULT_AZURE_RESPONSES_API_VERSION, resolveApiType } from '../../activities/models/providers.js';
import { useFakeModelServer } from '../support/fake-model-suite.js';
import { failureOf } from '../support/failures.js';
import { sampleDecideRequest, sampleSummarizeRequest } from '../support/model-requests.js';

const KEY = 'sk-test-SECRET-0123456789abcdef';

function response(content: OpenAI.Responses.ResponseOutputMessage['content'], extra: Partial<OpenAI.Responses.Response> = {}) {
  return {
    id: 'r1',
    object: 'response',
    created_at: 0,
    status: 'completed',
    model: 'gpt-test',
    output: [{ type: 'message', id: 'm1', status: 'completed', role: 'assistant', content }],
    incomplete_details: null,
    error: null,
    usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8, input_tokens_details: { cached_tokens: 1 }, output_tokens_details: { reasoning_tokens: 0 } },
    ...extra,
  } as unknown as OpenAI.Responses.Response;
}
const text = (t: string) => [{ type: 'output_text' as const, text: t, annotations: [] }];

describe('api type resolution', () => {
  it('llm.apiType, else LLM_API_TYPE for openai/azure only, else chat_completions', () => {
    expect(resolveApiType({ provider: 'openai' }, {})).toBe('chat_completions');
    expect(resolveApiType({ provider: 'openai' }, { LLM_API_TYPE: 'responses' })).toBe('responses');
    expect(resolveApiType({ provider: 'azure' }, { LLM_API_TYPE: ' responses ' })).toBe('responses');
    expect(resolveApiType({ provider: 'openai', apiType: 'chat_completions' }, { LLM_API_TYPE: 'responses' })).toBe('chat_completions');
    expect(resolveApiType({ provider: 'mistral' }, { LLM_API_TYPE: 'responses' })).toBe('chat_completions');
    expect(() => resolveApiType({ provider: 'openai' }, { LLM_API_TYPE: 'assistants' })).toThrow(/LLM_API_TYPE="assistants"/);
  });

  it('an invalid LLM_API_TYPE is a non-retryable INVALID_CONFIG from createModel', () => {
    try {
      createModel({ provider: 'openai', model: 'm' }, { env: { OPENAI_API_KEY: KEY, LLM_API_TYPE: 'nope' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ type: 'INVALID_CONFIG', nonRetryable: true });
    }
  });
});

describe('Responses converters (pure)', () => {
  const llm: LlmConfig = { provider: 'openai', model: 'gpt-test', apiType: 'responses', temperature: 0.2, maxTokens: 300 };

  it('system messages become instructions, the others input message items', () => {
    expect(
      toResponsesInput([
        { role: 'system', content: 'S1' },
        { role: 'user', content: 'U' },
        { role: 'assistant', content: 'A' },
        { role: 'system', content: 'S2' },
      ]),
    ).toEqual({
      instructions: 'S1\n\nS2',
      input: [
        { type: 'message', role: 'user', content: 'U' },
        { type: 'message', role: 'assistant', content: 'A' },
      ],
    });
  });

  it('puts the schema in text.format, max_tokens in max_output_tokens, store false; kwargs merged last', () => {
    const req = sampleDecideRequest(llm);
    const body = toResponsesRequest(req, toOpenAISchema(req.schema));
    expect(body).toEqual({
      model: 'gpt-test',
      instructions: req.messages[0]!.content,
      input: [{ type: 'message', role: 'user', content: 'Do you sell tea?' }],
      text: { format: { type: 'json_schema', name: 'decision', schema: { type: 'object', anyOf: req.schema.oneOf }, strict: false } },
      store: false,
      temperature: 0.2,
      max_output_tokens: 300,
    });
    const kw = toResponsesRequest({ ...req, llm: { ...llm, kwargs: { top_p: 0.5, timeout: 9, store: true } } }, {});
    expect(kw).toMatchObject({ top_p: 0.5, store: true });
    expect('timeout' in kw).toBe(false);
  });

  it('parses output_text JSON with usage, cached tokens included (reasoning 0 is left out)', () => {
    expect(fromResponsesResponse(response(text('{"action":"END"}')))).toEqual({
      decision: { action: 'END' },
      model: 'gpt-test',
      usage: { inputTokens: 5, outputTokens: 3, cachedInputTokens: 1 },
    });
  });

  it.each([
    ['refusal', response([{ type: 'refusal', refusal: 'I cannot help' }]), 'refused'],
    ['incomplete at max_output_tokens', response(text('{"act'), { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }), 'token limit'],
    ['incomplete by content_filter', response(text(''), { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }), 'content filter'],
    ['failed', response([], { status: 'failed', error: { code: 'server_error', message: 'boom' } }), 'response failed'],
    ['no output', response([], { output: [] }), 'empty output'],
    ['not JSON', response(text('Sure!')), 'not JSON'],
  ])('%s → non-retryable MODEL_OUTPUT_INVALID', async (_name, res, problem) => {
    const f = await failureOf(async () => fromResponsesResponse(res));
    expect(f).toMatchObject({ type: 'MODEL_OUTPUT_INVALID', nonRetryable: true });
    expect(f.message).toContain(problem);
  });
});

describe('OpenAI Responses API against the fake server', () => {
  const fake = useFakeModelServer();
  const env = { OPENAI_API_KEY: KEY };
  let llm: LlmConfig;
  beforeAll(() => {
    llm = { provider: 'openai', model: 'gpt-test', apiType: 'responses', baseUrl: fake.server.openaiBaseUrl, maxTokens: 256 };
  });

  it('plain decision: one POST /v1/responses, the body checked field by field', async () => {
    const model = createModel(llm, { env });
    expect((model as OpenAIModel).apiType).toBe('responses');
    const req = sampleDecideRequest(llm);
    fake.server.enqueue({ action: 'RESPOND', response: 'Yes, green and black.' });
    const res = await model.decide(req);
    expect(res).toEqual({ decision: { action: 'RESPOND', response: 'Yes, green and black.' }, model: 'gpt-test', usage: { inputTokens: 17, outputTokens: 9, cachedInputTokens: 4, reasoningTokens: 2 } });

    expect(fake.server.requests).toHaveLength(1);
    const sent = fake.server.requests[0]!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(Object.keys(sent.body).sort()).toEqual(['input', 'instructions', 'max_output_tokens', 'model', 'store', 'text']);
    expect(sent.body.model).toBe('gpt-test');
    expect(sent.body.instructions).toBe(req.messages[0]!.content);
    expect(sent.body.input).toEqual([{ type: 'message', role: 'user', content: 'Do you sell tea?' }]);
    expect(sent.body.text).toEqual({
      format: { type: 'json_schema', name: 'decision', schema: { type: 'object', anyOf: req.schema.oneOf }, strict: false },
    });
    expect(sent.body.max_output_tokens).toBe(256);
    expect(sent.body.store).toBe(false);
    expect(sent.body.stream).toBeUndefined();
  });

  it('streamed decision: output_text deltas reach onToken, the result equals the plain one', async () => {
    const model = createModel(llm, { env });
    const decision = { action: 'MOVE', step_id: 'checkout', reasoning: ['user wants to pay'] };
    fake.server.enqueue(decision);
    const tokens: string[] = [];
    const res = await model.decide(sampleDecideRequest(llm), { onToken: (t) => tokens.push(t) });
    expect(res).toEqual({ decision, model: 'gpt-test', usage: { inputTokens: 17, outputTokens: 9, cachedInputTokens: 4, reasoningTokens: 2 } });
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe(JSON.stringify(decision));
    expect(fake.server.requests).toHaveLength(1);
    expect(fake.server.requests[0]!.body).toMatchObject({ stream: true, store: false, text: { format: { type: 'json_schema' } } });
  });

  it('a tool-call round: TOOL_CALL, then RESPOND with the tool result sent back as input items', async () => {
    const model = createModel(llm, { env });
    const first = sampleDecideRequest(llm);
    const call = { action: 'TOOL_CALL', tool_calls: [{ tool: 'lookup', arguments: { q: 'tea' } }] };
    fake.server.enqueue(call);
    expect((await model.decide(first)).decision).toEqual(call);

    const second = {
      ...first,
      decisionIndex: 1,
      messages: [
        ...first.messages,
        { role: 'assistant' as const, content: JSON.stringify(call) },
        { role: 'user' as const, content: '[tool lookup] {"found":["green tea","black tea"]}' },
      ],
    };
    fake.server.enqueue({ action: 'RESPOND', response: 'We have green and black tea.' });
    expect((await model.decide(second)).decision).toEqual({ action: 'RESPOND', response: 'We have green and black tea.' });

    expect(fake.server.requests).toHaveLength(2);
    expect(fake.server.requests[1]!.body.input).toEqual([
      { type: 'message', role: 'user', content: 'Do you sell tea?' },
      { type: 'message', role: 'assistant', content: JSON.stringify(call) },
      { type: 'message', role: 'user', content: '[tool lookup] {"found":["green tea","black tea"]}' },
    ]);
    expect(fake.server.requests[1]!.body.store).toBe(false);
    expect(fake.server.requests[1]!.body.previous_response_id).toBeUndefined();
  });

  it('refusal (plain and streamed) → non-retryable MODEL_OUTPUT_INVALID', async () => {
    const model = createModel(llm, { env });
    fake.server.enqueue({ refusal: 'I will not do that.' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f).toMatchObject({ type: 'MODEL_OUTPUT_INVALID', nonRetryable: true });
    expect(f.message).toContain('refused');
    expect(f.message).toContain('I will not do that.');
    fake.server.enqueue({ refusal: 'No.' });
    const tokens: string[] = [];
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: (t) => tokens.push(t) }));
    expect(g.type).toBe('MODEL_OUTPUT_INVALID');
    expect(tokens).toEqual([]);
    expect(fake.server.requests.map((r) => r.path)).toEqual(['/v1/responses', '/v1/responses']);
  });

  it('incomplete at max_output_tokens (plain and streamed) → non-retryable MODEL_OUTPUT_INVALID', async () => {
    const model = createModel(llm, { env });
    fake.server.enqueue({ text: '{"action":"RESP', stopReason: 'max_output_tokens' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f).toMatchObject({ type: 'MODEL_OUTPUT_INVALID', nonRetryable: true });
    expect(f.message).toContain('token limit');
    fake.server.enqueue({ text: '{"action":"RESP', stopReason: 'max_output_tokens' });
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: () => {} }));
    expect(g.message).toContain('token limit');
  });

  it('429 with retry-after → retryable MODEL_REQUEST_FAILED, then the next attempt succeeds', async () => {
    const model = createModel(llm, { env });
    fake.server.enqueue({ status: 429, error: 'Rate limit reached', headers: { 'retry-after': '3' } });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f).toMatchObject({ type: 'MODEL_REQUEST_FAILED', nonRetryable: false, nextRetryDelay: 3000 });
    expect(f.message).toContain('Rate limit reached');
    fake.server.enqueue({ action: 'END' });
    expect((await model.decide(sampleDecideRequest(llm))).decision).toEqual({ action: 'END' });
    expect(fake.server.requests.map((r) => r.path)).toEqual(['/v1/responses', '/v1/responses']);
  });

  it('400 → non-retryable MODEL_REQUEST_FAILED with the provider message (streamed too)', async () => {
    const model = createModel(llm, { env });
    fake.server.enqueue({ status: 400, error: "Invalid schema for text.format 'decision'" });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f).toMatchObject({ type: 'MODEL_REQUEST_FAILED', nonRetryable: true });
    expect(f.message).toContain("HTTP 400: Invalid schema for text.format 'decision'");
    fake.server.enqueue({ status: 400, error: 'bad' });
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: () => {} }));
    expect(g).toMatchObject({ type: 'MODEL_REQUEST_FAILED', nonRetryable: true });
    expect(fake.server.requests.map((r) => r.path)).toEqual(['/v1/responses', '/v1/responses']);
  });

  it('summarize goes through the Responses API: instructions + one user item, no text.format', async () => {
    const model = createModel(llm, { env });
    fake.server.enqueue({ text: '  The user ordered green tea and asked to check out.  ' });
    const { summary, usage } = await model.summarize(sampleSummarizeRequest(llm, { maxChars: 200 }));
    expect(summary).toBe('The user ordered green tea and asked to check out.');
    expect(usage).toEqual({ inputTokens: 17, outputTokens: 9, cachedInputTokens: 4, reasoningTokens: 2 });
    const sent = fake.server.requests[0]!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body.instructions).toContain('leaving the flow "ordering"');
    expect(sent.body.input).toHaveLength(1);
    expect(sent.body.input[0]).toMatchObject({ type: 'message', role: 'user' });
    expect(sent.body.input[0].content).toContain('user: Checkout please.');
    expect(sent.body.text).toBeUndefined();
    expect(sent.body).toMatchObject({ store: false, max_output_tokens: 256 });
  });

  it('LLM_API_TYPE=responses switches an openai llm without api_type; chat_completions stays the default', async () => {
    const plain: LlmConfig = { provider: 'openai', model: 'gpt-test', baseUrl: fake.server.openaiBaseUrl };
    fake.server.enqueue({ action: 'END' });
    await createModel(plain, { env: { ...env, LLM_API_TYPE: 'responses' } }).decide(sampleDecideRequest(plain));
    fake.server.enqueue({ action: 'END' });
    await createModel(plain, { env }).decide(sampleDecideRequest(plain));
    expect(fake.server.requests.map((r) => r.path)).toEqual(['/v1/responses', '/v1/chat/completions']);
  });

  it('azure: POST <endpoint>/openai/responses with a Responses-capable api-version by default', async () => {
    const azure: LlmConfig = { provider: 'azure', model: 'my-deployment', apiType: 'responses', baseUrl: fake.server.url };
    const model = createModel(azure, { env: { AZURE_OPENAI_API_KEY: KEY } });
    expect(((model as OpenAIModel).client as unknown as { apiVersion: string }).apiVersion).toBe(DEFAULT_AZURE_RESPONSES_API_VERSION);
    fake.server.enqueue({ action: 'END' });
    expect((await model.decide(sampleDecideRequest(azure))).decision).toEqual({ action: 'END' });
    const sent = fake.server.requests[0]!;
    expect(sent.path).toBe('/openai/responses');
    expect(sent.headers['api-key']).toBe(KEY);
    expect(sent.body).toMatchObject({ model: 'my-deployment', store: false });
  });
});
