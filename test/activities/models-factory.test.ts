import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AnthropicModel } from '../../activities/models/anthropic.js';
import { createModel, ModelCache, NO_KEY_PLACEHOLDER, resolveApiKey } from '../../activities/models/model.js';
import { OpenAIModel } from '../../activities/models/openai.js';
import { ScriptedModel } from '../../activities/models/scripted.js';
import type { LlmConfig } from '../../src/config/agent.js';

function failureOf(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

describe('resolveApiKey', () => {
  it('reads apiKeyEnv, else the provider default variable', () => {
    expect(resolveApiKey({ provider: 'openai', model: 'm' }, { OPENAI_API_KEY: 'k1' })).toBe('k1');
    expect(resolveApiKey({ provider: 'anthropic', model: 'm' }, { ANTHROPIC_API_KEY: 'k2', OPENAI_API_KEY: 'no' })).toBe('k2');
    expect(resolveApiKey({ provider: 'openai', model: 'm', apiKeyEnv: 'MY_KEY' }, { MY_KEY: 'k3', OPENAI_API_KEY: 'no' })).toBe('k3');
    expect(resolveApiKey({ provider: 'openai-compatible', model: 'm', baseUrl: 'http://x' }, { OPENAI_API_KEY: 'k4' })).toBe('k4');
    expect(resolveApiKey({ provider: 'scripted', script: '/s.yaml' }, {})).toBeUndefined();
  });

  it('openai-compatible without a key gets a placeholder', () => {
    expect(resolveApiKey({ provider: 'openai-compatible', model: 'm', baseUrl: 'http://x' }, {})).toBe(NO_KEY_PLACEHOLDER);
  });

  it.each<[LlmConfig, string]>([
    [{ provider: 'openai', model: 'm' }, 'OPENAI_API_KEY'],
    [{ provider: 'anthropic', model: 'm' }, 'ANTHROPIC_API_KEY'],
    [{ provider: 'anthropic', model: 'm', apiKeyEnv: 'TEAM_CLAUDE_KEY' }, 'TEAM_CLAUDE_KEY'],
    [{ provider: 'openai-compatible', model: 'm', baseUrl: 'http://x', apiKeyEnv: 'VLLM_KEY' }, 'VLLM_KEY'],
  ])('missing key for %j → non-retryable naming %s', (llm, variable) => {
    const f = failureOf(() => createModel(llm, { env: { UNRELATED: 'sk-should-not-leak-123456' } }));
    expect(f.type).toBe('MODEL_REQUEST_FAILED');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(variable);
    expect(f.message).not.toContain('sk-should-not-leak');
  });
});

describe('createModel', () => {
  const env = { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k' };

  it('chooses the adapter by provider', () => {
    expect(createModel({ provider: 'openai', model: 'm' }, { env })).toBeInstanceOf(OpenAIModel);
    expect(createModel({ provider: 'openai-compatible', model: 'm', baseUrl: 'http://localhost:11434/v1' }, { env })).toBeInstanceOf(OpenAIModel);
    expect(createModel({ provider: 'anthropic', model: 'm' }, { env })).toBeInstanceOf(AnthropicModel);
    expect(createModel({ provider: 'scripted', script: '/tmp/x.yaml' }, { env })).toBeInstanceOf(ScriptedModel);
  });

  it('configures the SDK client: base URL, no SDK retries', () => {
    const m = createModel({ provider: 'openai-compatible', model: 'm', baseUrl: 'http://localhost:11434/v1' }, { env }) as OpenAIModel;
    expect(m.client.baseURL).toBe('http://localhost:11434/v1');
    expect(m.client.maxRetries).toBe(0);
    const a = createModel({ provider: 'anthropic', model: 'm', baseUrl: 'http://127.0.0.1:9' }, { env }) as AnthropicModel;
    expect(a.client.baseURL).toBe('http://127.0.0.1:9');
    expect(a.client.maxRetries).toBe(0);
  });

  it('rejects configs without model / script / base_url as INVALID_CONFIG', () => {
    for (const llm of [
      { provider: 'openai' },
      { provider: 'scripted' },
      { provider: 'openai-compatible', model: 'm' },
    ] as LlmConfig[]) {
      const f = failureOf(() => createModel(llm, { env }));
      expect(f.type).toBe('INVALID_CONFIG');
      expect(f.nonRetryable).toBe(true);
    }
  });
});

describe('ModelCache', () => {
  it('reuses one adapter per config, whatever the key order', () => {
    const cache = new ModelCache({ env: { OPENAI_API_KEY: 'k' } });
    const a = cache.get({ provider: 'openai', model: 'm', temperature: 0 });
    expect(cache.get({ temperature: 0, model: 'm', provider: 'openai' })).toBe(a);
    expect(cache.get({ provider: 'openai', model: 'other' })).not.toBe(a);
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.get({ provider: 'openai', model: 'm', temperature: 0 })).not.toBe(a);
  });

  it('does not cache a failure: setting the variable later works', () => {
    const env: NodeJS.ProcessEnv = {};
    const cache = new ModelCache({ env });
    const llm: LlmConfig = { provider: 'anthropic', model: 'm' };
    expect(() => cache.get(llm)).toThrow(/ANTHROPIC_API_KEY/);
    env.ANTHROPIC_API_KEY = 'now-set';
    expect(cache.get(llm)).toBeInstanceOf(AnthropicModel);
  });
});
