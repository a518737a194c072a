/**
 * Engine/config layer of token usage, model strings, summary overrides and generated titles: the pure accumulator and
 * price table (src/engine/usage.ts), title cleaning (src/engine/title.ts), `llm.summary` (src/config/summary-llm.ts),
 * provider inference from model strings (src/config/model-inference.ts, through `loadAgent` / `validateAgentFile` for
 * file and line), and `session_title` / `pricing` in the snapshot (src/config/titles-and-pricing.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgent, validateAgentFile } from '../../runtime/agents/load.js';
import { DEFAULT_MODEL_PROVIDER_MAP, inferProvider, modelProviderMap } from '../../src/config/model-inference.js';
import { summaryLlm } from '../../src/config/summary-llm.js';
import { cleanTitle, scriptedTitle, TitleRequest, TitleResult } from '../../src/engine/title.js';
import { SummarizeResult } from '../../src/engine/types.js';
import { addUsage, callUsage, priceOf, TokenUsage, UsageMeter, ZERO_USAGE } from '../../src/engine/usage.js';

function agentFile(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-usage-'));
  writeFileSync(join(dir, 'script.yaml'), '- {action: RESPOND, response: hi}\n');
  const file = join(dir, 'a.agent.yaml');
  writeFileSync(file, `name: a\nstart_step_id: s\nsteps:\n  - id: s\n    description: Say hi.\n${body}`);
  return file;
}

describe('token usage accumulator', () => {
  const prices = { 'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6, cachedInputPerMillion: 0.1 } };

  it('one call: whole counts, total, cached/reasoning kept, missing fields zero, calls 1', () => {
    expect(callUsage({ inputTokens: 11, outputTokens: 7 })).toEqual({ inputTokens: 11, outputTokens: 7, totalTokens: 18, calls: 1 });
    expect(callUsage(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 1 });
    expect(callUsage({ inputTokens: 17, outputTokens: 9, cachedInputTokens: 4, reasoningTokens: 2 })).toEqual({
      inputTokens: 17,
      outputTokens: 9,
      totalTokens: 26,
      cachedInputTokens: 4,
      reasoningTokens: 2,
      calls: 1,
    });
    // Garbage from a provider never makes a negative or fractional count.
    expect(callUsage({ inputTokens: -3, outputTokens: Number.NaN })).toMatchObject({ inputTokens: 0, outputTokens: 0 });
  });

  it('prices a call by configured model, then reported model, then longest prefix; cached input at its own price', () => {
    // (1,000,000 - 200,000) × 0.4 + 200,000 × 0.1 + 500,000 × 1.6 = 0.32 + 0.02 + 0.8 dollars
    const u = callUsage({ inputTokens: 1_000_000, outputTokens: 500_000, cachedInputTokens: 200_000 }, { prices, model: 'gpt-4.1-mini' });
    expect(u.costUsd).toBeCloseTo(1.14, 9);
    expect(priceOf(prices, 'unknown', 'gpt-4.1-mini')).toBe(prices['gpt-4.1-mini']);
    expect(priceOf(prices, 'gpt-4.1-mini-2025-04-14')).toBe(prices['gpt-4.1-mini']);
    expect(priceOf(prices, 'claude-3')).toBeUndefined();
    expect(callUsage({ inputTokens: 5 }, { prices, model: 'claude-3' })).toMatchObject({ unpricedCalls: 1 });
    expect(callUsage({ inputTokens: 5 }, { model: 'gpt-4.1-mini' }).costUsd).toBeUndefined();
  });

  it('sums: cost only while every call had a price', () => {
    const priced = callUsage({ inputTokens: 1000, outputTokens: 100 }, { prices, model: 'gpt-4.1-mini' });
    const two = addUsage(priced, priced);
    expect(two).toMatchObject({ inputTokens: 2000, outputTokens: 200, totalTokens: 2200, calls: 2 });
    expect(two.costUsd).toBeCloseTo(2 * (1000 * 0.4 + 100 * 1.6) / 1e6, 12);
    const mixed = addUsage(two, callUsage({ inputTokens: 1 }, { prices, model: 'other' }));
    expect(mixed.costUsd).toBeUndefined();
    expect(mixed.unpricedCalls).toBe(1);
    expect(addUsage(ZERO_USAGE, priced)).toEqual(priced);
  });

  it('meter: turn sums restart, session sums carry, and survive JSON (continue-as-new)', () => {
    const meter = new UsageMeter();
    meter.add(callUsage({ inputTokens: 10, outputTokens: 2 }));
    meter.add(callUsage({ inputTokens: 5, outputTokens: 1 }));
    expect(meter.turn).toMatchObject({ inputTokens: 15, outputTokens: 3, calls: 2 });
    meter.startTurn();
    meter.add(callUsage({ inputTokens: 1, outputTokens: 1 }));
    meter.add(callUsage({ inputTokens: 4, outputTokens: 4 }), false); // a title: the session's, no turn's
    expect(meter.turn).toMatchObject({ inputTokens: 1, outputTokens: 1, calls: 1 });
    const carried = TokenUsage.parse(JSON.parse(JSON.stringify(meter.session)));
    expect(carried).toEqual({ inputTokens: 20, outputTokens: 8, totalTokens: 28, calls: 4 });
    expect(new UsageMeter(carried).session).toEqual(carried);
  });
});

describe('titles', () => {
  it('cleans a model answer: first line, no prefix, quotes or period, cut at a word', () => {
    expect(cleanTitle('  "Title: Reset my VPN password."\nExplanation...', 60)).toBe('Reset my VPN password');
    expect(cleanTitle('**Laptop will not boot**', 60)).toBe('Laptop will not boot');
    expect(cleanTitle('Ordering two flat whites and a croissant for pickup', 30)).toBe('Ordering two flat whites and a');
    expect(cleanTitle('Supercalifragilisticexpialidocious', 10)).toBe('Supercalif');
    expect(cleanTitle(' \n ', 60)).toBe('');
  });

  it('title and summary payloads survive JSON (they cross Temporal)', () => {
    const request: TitleRequest = { sessionId: 's', agentName: 'a', llm: { provider: 'openai', model: 'gpt-4.1-mini', temperature: 0.2 }, userText: 'hi', replyText: 'hello', maxChars: 60 };
    const result: TitleResult = { title: 'Greeting', model: 'gpt-4.1-mini', usage: { inputTokens: 11, outputTokens: 7 } };
    const summary: SummarizeResult = { summary: 'The user said hi.', usage: { inputTokens: 3, outputTokens: 2, cachedInputTokens: 1 } };
    expect(TitleRequest.parse(JSON.parse(JSON.stringify(request)))).toEqual(request);
    expect(TitleResult.parse(JSON.parse(JSON.stringify(result)))).toEqual(result);
    expect(SummarizeResult.parse(JSON.parse(JSON.stringify(summary)))).toEqual(summary);
    expect(TitleRequest.safeParse({ ...request, maxChars: 61 }).success).toBe(false);
  });

  it('the scripted title is the user message cleaned, never empty', () => {
    const req = { sessionId: 's', agentName: 'a', llm: { provider: 'scripted' as const }, replyText: 'ok', maxChars: 40 };
    expect(scriptedTitle({ ...req, userText: 'My VPN keeps disconnecting every few minutes since Monday' })).toBe('My VPN keeps disconnecting every few');
    expect(scriptedTitle({ ...req, userText: '""' })).toBe('New chat');
  });
});

describe('summary overrides', () => {
  it('replace model, temperature and max tokens, merge kwargs, and are dropped from the result', () => {
    const llm = { provider: 'openai' as const, model: 'gpt-4.1', temperature: 0.7, kwargs: { top_p: 0.9, seed: 1 }, summary: { model: 'gpt-4.1-mini', temperature: 0, maxTokens: 200, kwargs: { seed: 2 } } };
    expect(summaryLlm(llm)).toEqual({ provider: 'openai', model: 'gpt-4.1-mini', temperature: 0, maxTokens: 200, kwargs: { top_p: 0.9, seed: 2 } });
    expect(summaryLlm({ provider: 'openai' as const, model: 'x' })).toEqual({ provider: 'openai', model: 'x' });
  });

  it('load from llm.summary in YAML', async () => {
    const file = agentFile('llm:\n  provider: openai\n  model: gpt-4.1\n  temperature: 0.7\n  summary: { model: gpt-4.1-mini, temperature: 0, max_tokens: 300 }\n');
    const { snapshot } = await loadAgent(file, { env: {} });
    expect(snapshot.llms.global!.summary).toEqual({ model: 'gpt-4.1-mini', temperature: 0, maxTokens: 300 });
    const secret = await validateAgentFile(agentFile('llm:\n  model: gpt-4.1\n  summary: { kwargs: { api_token: x } }\n'), { env: {} });
    expect(secret.issues.find((i) => i.severity === 'error')).toMatchObject({ path: 'llm.summary.kwargs.api_token', line: 8 });
  });
});

describe('model strings', () => {
  it('infers by the longest prefix; the environment map adds and overrides', () => {
    expect(inferProvider('gpt-4.1-mini', DEFAULT_MODEL_PROVIDER_MAP)).toBe('openai');
    expect(inferProvider('o3-mini', DEFAULT_MODEL_PROVIDER_MAP)).toBe('openai');
    expect(inferProvider('claude-3-5-haiku-latest', DEFAULT_MODEL_PROVIDER_MAP)).toBe('anthropic');
    expect(inferProvider('llama3.1', DEFAULT_MODEL_PROVIDER_MAP)).toBeUndefined();
    const { map } = modelProviderMap({ LLM_MODEL_PROVIDER_INFERENCE_MAP: '{"llama*": "ollama", "gpt-4.1-nano": "azure"}' });
    expect(inferProvider('llama3.1', map)).toBe('ollama');
    expect(inferProvider('gpt-4.1-nano', map)).toBe('azure');
    expect(inferProvider('gpt-4.1-mini', map)).toBe('openai');
    expect(modelProviderMap({ LLM_MODEL_PROVIDER_INFERENCE_MAP: '{"x": "nobody"}' }).problem).toMatch(/"x" maps to "nobody", not a provider/);
  });

  it('loads `llm: <model>`, map entries as strings and `model` without provider', async () => {
    const one = await loadAgent(agentFile('llm: gpt-4.1-mini\n'), { env: {} });
    expect(one.snapshot.llms.global).toEqual({ provider: 'openai', model: 'gpt-4.1-mini' });
    const map = await loadAgent(agentFile('llm:\n  global: claude-3-5-haiku-latest\n  fast: { model: gpt-4.1-nano, temperature: 0 }\n'), { env: {} });
    expect(map.snapshot.llms).toEqual({
      global: { provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
      fast: { provider: 'openai', model: 'gpt-4.1-nano', temperature: 0 },
    });
    const env = { LLM_MODEL_PROVIDER_INFERENCE_MAP: '{"llama": "ollama"}' };
    expect((await loadAgent(agentFile('llm: llama3.1\n'), { env })).snapshot.llms.global).toEqual({ provider: 'ollama', model: 'llama3.1' });
  });

  it('an unknown model string is a validate error at its file and line, saying what to write', async () => {
    const file = agentFile('llm:\n  global: gpt-4.1-mini\n  local: my-finetune-7b\n');
    const { snapshot, issues } = await validateAgentFile(file, { env: {} });
    expect(snapshot).toBeUndefined();
    const errors = issues.filter((i) => i.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file, line: 8, path: 'llm.local' });
    expect(errors[0]!.message).toContain('no provider is known for model "my-finetune-7b"');
    expect(errors[0]!.message).toContain('write {provider: <provider>, model: my-finetune-7b}');
    expect(errors[0]!.message).toContain('LLM_MODEL_PROVIDER_INFERENCE_MAP');
    const object = await validateAgentFile(agentFile('llm:\n  model: mystery\n'), { env: {} });
    expect(object.issues.filter((i) => i.severity === "error")).toMatchObject([{ line: 7, path: "llm.model" }]);
  });
});

describe('session_title and pricing in the snapshot', () => {
  const scripted = 'llm: { provider: scripted, script: script.yaml }\n';

  it('titles are off unless written; `true` uses the global llm and 60 characters', async () => {
    expect((await loadAgent(agentFile(scripted), { env: { CHAT_NAME_MODEL: 'gpt-4.1-mini' } })).snapshot.sessionTitle).toBeUndefined();
    const on = await loadAgent(agentFile(`${scripted}session_title: true\n`), { env: {} });
    expect(on.snapshot.sessionTitle).toEqual({ llm: { provider: 'scripted', script: expect.stringMatching(/script\.yaml$/) }, maxChars: 60 });
    expect((await loadAgent(agentFile(`${scripted}session_title: { enabled: false }\n`), { env: {} })).snapshot.sessionTitle).toBeUndefined();
  });

  it('CHAT_NAME_* give defaults, the YAML wins over them', async () => {
    const env = { CHAT_NAME_LLM_PROVIDER: 'openai', CHAT_NAME_MODEL: 'gpt-4.1-nano', CHAT_NAME_TEMPERATURE: '0.3', CHAT_NAME_LLM_API_TYPE: 'responses' };
    const fromEnv = await loadAgent(agentFile(`${scripted}session_title: true\n`), { env });
    expect(fromEnv.snapshot.sessionTitle).toEqual({ llm: { provider: 'openai', model: 'gpt-4.1-nano', temperature: 0.3, apiType: 'responses' }, maxChars: 60 });
    const yaml = await loadAgent(agentFile(`llm: gpt-4.1\nsession_title: { model: gpt-4.1-mini, temperature: 0, max_chars: 30 }\n`), { env });
    expect(yaml.snapshot.sessionTitle).toEqual({ llm: { provider: 'openai', model: 'gpt-4.1-mini', temperature: 0, apiType: 'responses' }, maxChars: 30 });
    const bad = await validateAgentFile(agentFile(`${scripted}session_title: true\n`), { env: { CHAT_NAME_TEMPERATURE: 'warm' } });
    expect(bad.issues.find((i) => i.severity === 'error')?.message).toBe('CHAT_NAME_TEMPERATURE=warm is not a temperature between 0 and 2');
  });

  it('pricing becomes the snapshot price table', async () => {
    const { snapshot } = await loadAgent(agentFile(`llm: gpt-4.1-mini\npricing:\n  gpt-4.1-mini: { input: 0.4, output: 1.6, cached_input: 0.1 }\n`), { env: {} });
    expect(snapshot.prices).toEqual({ 'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6, cachedInputPerMillion: 0.1 } });
  });
});
