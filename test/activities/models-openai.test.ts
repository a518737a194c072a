import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LlmConfig } from '../../src/config/agent.js';
import { createModel } from '../../activities/models/model.js';
import { accumulateChunks, fromOpenAIResponse, toOpenAIRequest, toOpenAISchema } from '../../activities/models/openai.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { failureOf } from '../support/failures.js';
import { sampleDecideRequest, sampleSummarizeRequest } from '../support/model-requests.js';

const KEY = 'sk-test-SECRET-0123456789abcdef';

function completion(content: string | null, extra: Partial<OpenAI.ChatCompletion.Choice> = {}): OpenAI.ChatCompletion {
  return {
    id: 'c1',
    object: 'chat.completion',
    created: 0,
    model: 'gpt-test',
    choices: [
      { index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content, refusal: null }, ...extra },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

describe('OpenAI converters (pure)', () => {
  const llm: LlmConfig = { provider: 'openai', model: 'gpt-test', temperature: 0.2, maxTokens: 300 };

  it('puts the step schema into response_format json_schema (strict false) with an object root', () => {
    const req = sampleDecideRequest(llm);
    expect(req.schema.oneOf).toBeDefined();
    const body = toOpenAIRequest(req);
    expect(body.model).toBe('gpt-test');
    expect(body.messages).toEqual(req.messages);
    expect(body.response_format?.type).toBe('json_schema');
    const rf = body.response_format as OpenAI.ResponseFormatJSONSchema;
    expect(rf.json_schema.name).toBe('decision');
    expect(rf.json_schema.strict).toBe(false);
    expect(rf.json_schema.schema).toEqual({ type: 'object', anyOf: req.schema.oneOf });
    expect(body.temperature).toBe(0.2);
    expect(body.max_completion_tokens).toBe(300);
    expect(body.max_tokens).toBeUndefined();
  });

  it('passes an object-root schema unchanged and omits unset sampling params', () => {
    const req = sampleDecideRequest({ provider: 'openai-compatible', model: 'llama3', baseUrl: 'http://x' }, { forceRespond: true });
    expect(req.schema.type).toBe('object');
    const body = toOpenAIRequest(req);
    expect((body.response_format as OpenAI.ResponseFormatJSONSchema).json_schema.schema).toBe(req.schema);
    expect('temperature' in body).toBe(false);
    expect('max_tokens' in body).toBe(false);
    expect(toOpenAIRequest({ ...req, llm: { ...req.llm, maxTokens: 50 } }).max_tokens).toBe(50);
  });

  it('wraps a schema without type or union', () => {
    expect(toOpenAISchema({ properties: {} })).toEqual({ type: 'object', properties: {} });
  });

  it('parses content JSON into a DecideResult with model and usage', () => {
    const res = fromOpenAIResponse(completion('{"action":"RESPOND","response":"Yes"}'));
    expect(res).toEqual({ decision: { action: 'RESPOND', response: 'Yes' }, model: 'gpt-test', usage: { inputTokens: 3, outputTokens: 2 } });
    expect(fromOpenAIResponse(completion('```json\n{"action":"END"}\n```')).decision).toEqual({ action: 'END' });
  });

  it.each([
    ['refusal', completion(null, { message: { role: 'assistant', content: null, refusal: 'I cannot help with that' } }), 'refused'],
    ['empty content', completion(''), 'empty output'],
    ['non-JSON content', completion('Sure! Here is my answer'), 'not JSON'],
    ['truncated output', completion('{"action":"RESP', { finish_reason: 'length' }), 'token limit'],
    ['no choices', { ...completion(''), choices: [] }, 'no choices'],
  ])('%s → non-retryable MODEL_OUTPUT_INVALID', (_name, res, problem) => {
    let caught: unknown;
    try {
      fromOpenAIResponse(res as OpenAI.ChatCompletion);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApplicationFailure);
    const f = caught as ApplicationFailure;
    expect(f.type).toBe('MODEL_OUTPUT_INVALID');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(problem);
  });

  it('quotes a short excerpt of bad output', () => {
    const long = `not json ${'x'.repeat(1000)}`;
    try {
      fromOpenAIResponse(completion(long));
      expect.unreachable();
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('not json xxx');
      expect(msg.length).toBeLessThan(400);
    }
  });

  it('accumulates streamed chunks into a completion', () => {
    const chunk = (content: string | undefined, finish: 'stop' | null = null): OpenAI.ChatCompletionChunk => ({
      id: 'c',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'm',
      choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
    });
    const res = accumulateChunks([chunk('{"action":'), chunk('"END"}'), chunk(undefined, 'stop')]);
    expect(fromOpenAIResponse(res).decision).toEqual({ action: 'END' });
  });
});

describe('OpenAI model against the fake server', () => {
  let server: FakeModelServer;
  let llm: LlmConfig;
  const env = { OPENAI_API_KEY: KEY };

  beforeAll(async () => {
    server = await startFakeModelServer();
    llm = { provider: 'openai', model: 'gpt-test', baseUrl: server.openaiBaseUrl, headers: { 'x-team': 'blue' } };
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    expect(server.pending()).toBe(0);
  });

  it('sends one Chat Completions request with the schema, key and headers, and parses the decision', async () => {
    const model = createModel(llm, { env });
    const req = sampleDecideRequest(llm);
    server.enqueue({ action: 'TOOL_CALL', tool_calls: [{ tool: 'lookup', arguments: { q: 'tea' } }] });
    const res = await model.decide(req);
    expect(res.decision).toEqual({ action: 'TOOL_CALL', tool_calls: [{ tool: 'lookup', arguments: { q: 'tea' } }] });
    expect(res.model).toBe('gpt-test');
    expect(res.usage).toEqual({ inputTokens: 11, outputTokens: 7 });

    expect(server.requests).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.headers['x-team']).toBe('blue');
    expect(sent.body.model).toBe('gpt-test');
    expect(sent.body.messages).toEqual(req.messages);
    expect(sent.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'decision', schema: { type: 'object', anyOf: req.schema.oneOf }, strict: false },
    });
    expect(sent.body.stream).toBeUndefined();
  });

  it('500 → one request, retryable MODEL_REQUEST_FAILED', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 500, error: 'upstream exploded' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests).toHaveLength(1);
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('500');
    expect(f.message).toContain('upstream exploded');
  });

  it('429 with retry-after → retryable with nextRetryDelay, one request', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 429, error: 'Rate limit reached', headers: { 'retry-after': '7' } });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests).toHaveLength(1);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7000);

    server.enqueue({ status: 503, error: 'busy', headers: { 'retry-after-ms': '1500' } });
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(g.nextRetryDelay).toBe(1500);
    expect(server.requests).toHaveLength(2);
  });

  it('400 → non-retryable with the provider message', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 400, error: "Invalid schema for response_format 'decision'" });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests).toHaveLength(1);
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain("Invalid schema for response_format 'decision'");
    expect(f.message).toContain('400');
  });

  it('401 → non-retryable; the key is sent as a header but never appears in the error', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 401, error: `Incorrect API key provided: ${KEY}.` });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests[0]!.headers.authorization).toContain(KEY);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('Incorrect API key provided');
    expect(f.message).not.toContain(KEY);
    expect(JSON.stringify(f.details)).not.toContain(KEY);
    expect(f.message).not.toContain('SECRET');
  });

  it('garbage output → MODEL_OUTPUT_INVALID', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ text: 'I think the user wants tea.' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f.type).toBe('MODEL_OUTPUT_INVALID');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('I think the user wants tea.');
    server.enqueue({ refusal: 'I will not do that.' });
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(g.type).toBe('MODEL_OUTPUT_INVALID');
    expect(g.message).toContain('refused');
  });

  it('an unreachable server → retryable connection failure', async () => {
    const dead = await startFakeModelServer();
    await dead.close();
    const model = createModel({ ...llm, baseUrl: dead.openaiBaseUrl }, { env });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.nonRetryable).toBe(false);
  });

  it('openai-compatible needs no key: a placeholder is sent, max_tokens is used', async () => {
    const compat: LlmConfig = { provider: 'openai-compatible', model: 'llama3', baseUrl: server.openaiBaseUrl, maxTokens: 64 };
    const model = createModel(compat, { env: {} });
    server.enqueue({ action: 'RESPOND', response: 'Hi' });
    const res = await model.decide(sampleDecideRequest(compat));
    expect(res.decision).toEqual({ action: 'RESPOND', response: 'Hi' });
    expect(server.requests[0]!.headers.authorization).toBe('Bearer not-needed');
    expect(server.requests[0]!.body.max_tokens).toBe(64);
  });

  it('summarize: plain completion with a purpose-aware system prompt, clipped to maxChars', async () => {
    const model = createModel(llm, { env });
    const req = sampleSummarizeRequest(llm, { maxChars: 40 });
    server.enqueue({ text: `  The user ordered green tea and asked to check out. ${'More. '.repeat(20)}` });
    const { summary, usage } = await model.summarize(req);
    expect(summary.length).toBeLessThanOrEqual(40);
    expect(summary.startsWith('The user ordered green tea')).toBe(true);
    // The fake server's numbers for a completion (prompt 11, completion 7).
    expect(usage).toEqual({ inputTokens: 11, outputTokens: 7 });
    const sent = server.requests[0]!.body;
    expect(sent.response_format).toBeUndefined();
    expect(sent.messages[0].role).toBe('system');
    expect(sent.messages[0].content).toContain('leaving the flow "ordering"');
    expect(sent.messages[0].content).toContain('40 characters');
    expect(sent.messages[1].content).toContain('The user asked about tea.');
    expect(sent.messages[1].content).toContain('user: Checkout please.');
  });

  it('streams: forwards text deltas to onToken and returns the same result', async () => {
    const model = createModel(llm, { env });
    const decision = { action: 'MOVE', step_id: 'checkout', reasoning: ['user wants to pay'] };
    server.enqueue(decision);
    const tokens: string[] = [];
    const res = await model.decide(sampleDecideRequest(llm), { onToken: (t) => tokens.push(t) });
    expect(res.decision).toEqual(decision);
    expect(res.usage).toEqual({ inputTokens: 11, outputTokens: 7 });
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe(JSON.stringify(decision));
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body.stream).toBe(true);
    expect(server.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(server.requests[0]!.body.response_format.type).toBe('json_schema');
  });

  it('streams garbage → MODEL_OUTPUT_INVALID; streamed HTTP errors map like non-streamed ones', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ text: 'not json at all' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: () => {} }));
    expect(f.type).toBe('MODEL_OUTPUT_INVALID');
    server.enqueue({ status: 429, error: 'slow down', headers: { 'retry-after': '2' } });
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: () => {} }));
    expect(g.nonRetryable).toBe(false);
    expect(g.nextRetryDelay).toBe(2000);
  });

  it('an aborted signal cancels the request', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ decision: { action: 'END' }, delayMs: 2_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm), { signal: controller.signal }));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.message).toContain('aborted');
  });
});
