import type Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_ANTHROPIC_MAX_TOKENS,
  fromAnthropicResponse,
  toAnthropicInputSchema,
  toAnthropicMessages,
  toAnthropicRequest,
} from '../../activities/models/anthropic.js';
import { createModel } from '../../activities/models/model.js';
import type { LlmConfig } from '../../src/config/agent.js';
import { decisionSchemaFor } from '../../src/engine/decision.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { failureOf } from '../support/failures.js';
import { sampleAgent, sampleDecideRequest, sampleSummarizeRequest } from '../support/model-requests.js';

const KEY = 'sk-ant-test-SECRET-0123456789abcdef';

function message(content: unknown[], stop_reason: Anthropic.StopReason = 'tool_use'): Anthropic.Message {
  return {
    id: 'm',
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content: content as Anthropic.ContentBlock[],
    container: null,
    diagnostics: null,
    stop_details: null,
    stop_reason,
    stop_sequence: null,
    usage: { input_tokens: 9, output_tokens: 4 } as Anthropic.Usage,
  };
}

const toolUse = (input: unknown, name = 'decision') => ({ type: 'tool_use', id: 't', name, input, caller: { type: 'direct' } });

describe('Anthropic converters (pure)', () => {
  const llm: LlmConfig = { provider: 'anthropic', model: 'claude-test' };

  it('flattens a oneOf decision schema into one object schema', () => {
    const req = sampleDecideRequest(llm);
    const flat = toAnthropicInputSchema(req.schema);
    expect(flat.type).toBe('object');
    expect(flat.required).toEqual(['action']);
    expect(flat.oneOf).toBeUndefined();
    const props = flat.properties as Record<string, any>;
    expect(props.action.enum).toEqual(['RESPOND', 'TOOL_CALL', 'MOVE', 'END']);
    expect(Object.keys(props).sort()).toEqual(['action', 'reasoning', 'response', 'step_id', 'tool_calls']);
    expect(props.step_id).toEqual({ type: 'string', enum: ['checkout'] });
    expect(props.tool_calls.items.properties.tool.enum).toEqual(['lookup']);
    // RESPOND's response has minLength 1, END's does not: both forms are kept.
    expect(props.response.anyOf).toHaveLength(2);
    // `reasoning` is identical in every variant: kept once.
    expect(props.reasoning).toEqual({ type: 'array', items: { type: 'string' } });
  });

  it('keeps an object-root schema (a step with only RESPOND) and root $defs', () => {
    const req = sampleDecideRequest(llm, { forceRespond: true });
    expect(toAnthropicInputSchema(req.schema)).toEqual(req.schema);
    const withDefs = toAnthropicInputSchema({ oneOf: [{ type: 'object', properties: { action: { const: 'END' } } }], $defs: { A: {} } });
    expect(withDefs.$defs).toEqual({ A: {} });
    expect((withDefs.properties as any).action.enum).toEqual(['END']);
  });

  it('accepts every decision the step schema accepts, and needs `action`', () => {
    const agent = sampleAgent(llm);
    const step = agent.steps[0]!;
    const validate = new Ajv2020({ strict: false }).compile(toAnthropicInputSchema(sampleDecideRequest(llm).schema));
    const decisions = [
      { action: 'RESPOND', response: 'Hi' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'lookup', arguments: { q: 'tea' } }], reasoning: ['why'] },
      { action: 'MOVE', step_id: 'checkout' },
      { action: 'END' },
    ];
    for (const d of decisions) {
      expect(decisionSchemaFor(agent, step).safeParse(d).success).toBe(true);
      expect(validate(d)).toBe(true);
    }
    expect(validate({ response: 'no action' })).toBe(false);
    expect(validate({ action: 'DANCE' })).toBe(false);
  });

  it('moves system messages to `system`, merges same-role runs, starts with a user message', () => {
    const out = toAnthropicMessages([
      { role: 'system', content: 'A' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
      { role: 'system', content: 'B' },
      { role: 'assistant', content: '' },
    ]);
    expect(out.system).toBe('A\n\nB');
    expect(out.messages).toEqual([
      { role: 'user', content: '(conversation start)' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'one\n\ntwo' },
      { role: 'assistant', content: '(empty)' },
    ]);
  });

  it('builds a forced-tool request with max_tokens', () => {
    const req = sampleDecideRequest(llm);
    const body = toAnthropicRequest(req);
    expect(body.model).toBe('claude-test');
    expect(body.max_tokens).toBe(DEFAULT_ANTHROPIC_MAX_TOKENS);
    expect(body.system).toBe(req.messages[0]!.content);
    expect(body.messages).toEqual([{ role: 'user', content: 'Do you sell tea?' }]);
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'decision' });
    expect(body.tools).toHaveLength(1);
    const tool = body.tools![0] as Anthropic.Tool;
    expect(tool.name).toBe('decision');
    expect(tool.description).toBeTruthy();
    expect(tool.input_schema.type).toBe('object');
    expect(toAnthropicRequest({ ...req, llm: { ...llm, maxTokens: 77 } }).max_tokens).toBe(77);
  });

  it('takes the decision from the tool_use block', () => {
    const res = fromAnthropicResponse(message([{ type: 'text', text: 'Thinking', citations: null }, toolUse({ action: 'END' })]));
    expect(res).toEqual({ decision: { action: 'END' }, model: 'claude-test', usage: { inputTokens: 9, outputTokens: 4 } });
  });

  it.each([
    ['no tool_use block', message([{ type: 'text', text: 'Plain prose answer', citations: null }], 'end_turn'), 'Plain prose answer'],
    ['a refusal', message([{ type: 'text', text: 'I cannot', citations: null }], 'refusal'), 'refused'],
    ['output cut at max_tokens', message([toolUse({ action: 'RESP' })], 'max_tokens'), 'max_tokens'],
    ['a non-object input', message([toolUse('RESPOND')]), 'not an object'],
  ])('%s → non-retryable MODEL_OUTPUT_INVALID', (_name, res, text) => {
    try {
      fromAnthropicResponse(res);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).type).toBe('MODEL_OUTPUT_INVALID');
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      expect((err as Error).message).toContain(text);
    }
  });
});

describe('Anthropic model against the fake server', () => {
  let server: FakeModelServer;
  let llm: LlmConfig;
  const env = { ANTHROPIC_API_KEY: KEY };

  beforeAll(async () => {
    server = await startFakeModelServer();
    llm = { provider: 'anthropic', model: 'claude-test', baseUrl: server.anthropicBaseUrl, maxTokens: 512, headers: { 'x-team': 'red' } };
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    expect(server.pending()).toBe(0);
  });

  it('sends one Messages request with the forced tool, system prompt and key, and returns the tool input', async () => {
    const model = createModel(llm, { env });
    const req = sampleDecideRequest(llm);
    server.enqueue({ action: 'RESPOND', response: 'Yes, we sell tea.' });
    const res = await model.decide(req);
    expect(res.decision).toEqual({ action: 'RESPOND', response: 'Yes, we sell tea.' });
    expect(res.model).toBe('claude-test');
    expect(res.usage).toEqual({ inputTokens: 13, outputTokens: 5 });

    expect(server.requests).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    const auth = `${sent.headers['x-api-key'] ?? ''} ${sent.headers.authorization ?? ''}`;
    expect(auth).toContain(KEY);
    expect(sent.headers['x-team']).toBe('red');
    expect(sent.body.max_tokens).toBe(512);
    expect(sent.body.system).toBe(req.messages[0]!.content);
    expect(sent.body.messages).toEqual([{ role: 'user', content: 'Do you sell tea?' }]);
    expect(sent.body.tool_choice).toEqual({ type: 'tool', name: 'decision' });
    expect(sent.body.tools).toHaveLength(1);
    expect(sent.body.tools[0].name).toBe('decision');
    expect(sent.body.tools[0].input_schema.type).toBe('object');
    expect(sent.body.tools[0].input_schema.properties.action.enum).toEqual(['RESPOND', 'TOOL_CALL', 'MOVE', 'END']);
  });

  it('529 overloaded → one request, retryable', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 529, error: 'Overloaded' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests).toHaveLength(1);
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('Overloaded');
  });

  it('429 with an HTTP-date retry-after → retryable with nextRetryDelay', async () => {
    const model = createModel(llm, { env });
    const at = new Date(Date.now() + 30_000).toUTCString();
    server.enqueue({ status: 429, error: 'Number of requests has exceeded your rate limit', headers: { 'retry-after': at } });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests).toHaveLength(1);
    expect(f.nonRetryable).toBe(false);
    expect(typeof f.nextRetryDelay).toBe('number');
    expect(f.nextRetryDelay as number).toBeGreaterThan(25_000);
    expect(f.nextRetryDelay as number).toBeLessThanOrEqual(30_000);
  });

  it('400 → non-retryable with the provider message', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 400, error: 'tools.0.input_schema: type must be object' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(server.requests).toHaveLength(1);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('400');
    expect(f.message).toContain('tools.0.input_schema: type must be object');
  });

  it('401 → non-retryable, and the key appears in no error', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ status: 401, error: `invalid x-api-key ${KEY}` });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('invalid x-api-key');
    expect(f.message).not.toContain('SECRET');
    expect(JSON.stringify(f.details)).not.toContain('SECRET');
  });

  it('a text answer instead of the tool → MODEL_OUTPUT_INVALID', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ text: 'Happy to help!' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm)));
    expect(f.type).toBe('MODEL_OUTPUT_INVALID');
    expect(f.message).toContain('Happy to help!');
  });

  it('summarize: a plain message without tools, clipped to maxChars', async () => {
    const model = createModel(llm, { env });
    server.enqueue({ text: 'The user ordered green tea and checked out.' });
    const { summary, usage } = await model.summarize(sampleSummarizeRequest(llm, { purpose: 'flow_enter', maxChars: 20 }));
    expect(usage).toEqual({ inputTokens: 13, outputTokens: 5 });
    expect(summary.length).toBeLessThanOrEqual(20);
    expect(summary.startsWith('The user ordered')).toBe(true);
    const sent = server.requests[0]!.body;
    expect(sent.tools).toBeUndefined();
    expect(sent.tool_choice).toBeUndefined();
    expect(sent.system).toContain('entering the flow "ordering"');
    expect(sent.messages[0].content).toContain('assistant: Added green tea to your cart.');
  });

  it('streams: forwards deltas to onToken and returns the same decision', async () => {
    const model = createModel(llm, { env });
    const decision = { action: 'TOOL_CALL', tool_calls: [{ tool: 'lookup', arguments: { q: 'green tea' } }] };
    server.enqueue(decision);
    const tokens: string[] = [];
    const res = await model.decide(sampleDecideRequest(llm), { onToken: (t) => tokens.push(t) });
    expect(res.decision).toEqual(decision);
    expect(res.model).toBe('claude-test');
    expect(res.usage?.outputTokens).toBe(5);
    expect(tokens.length).toBeGreaterThan(1);
    expect(JSON.parse(tokens.join(''))).toEqual(decision);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body.stream).toBe(true);
    expect(server.requests[0]!.body.tool_choice).toEqual({ type: 'tool', name: 'decision' });
  });

  it('streams: text instead of the tool → MODEL_OUTPUT_INVALID; HTTP errors map as usual', async () => {
    const model = createModel(llm, { env });
    const tokens: string[] = [];
    server.enqueue({ text: 'No tool for you' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: (t) => tokens.push(t) }));
    expect(f.type).toBe('MODEL_OUTPUT_INVALID');
    expect(tokens.join('')).toBe('No tool for you');
    server.enqueue({ status: 500, error: 'boom' });
    const g = await failureOf(() => model.decide(sampleDecideRequest(llm), { onToken: () => {} }));
    expect(g.type).toBe('MODEL_REQUEST_FAILED');
    expect(g.nonRetryable).toBe(false);
  });
});
