/** Redaction of agent snapshots for HTTP reads (src/config/redact.ts). */
import { describe, expect, it } from 'vitest';
import { isSecretKey, isSecretValue, REDACTED, redactSecrets, redactSnapshot } from '../../src/config/redact.js';
import { testAgent } from '../support/agents.js';

describe('redactSnapshot', () => {
  it('hides every llm header value, secret-named and secret-shaped strings, and keeps the rest', () => {
    const agent = testAgent({
      llms: {
        global: {
          provider: 'openai',
          model: 'gpt-4o-mini',
          apiKeyEnv: 'OPENAI_API_KEY',
          maxTokens: 500,
          headers: { 'X-Team': 'blue', Authorization: 'Bearer abc.def' },
          kwargs: { api_token: 'plain-text', user: 'sk-abcdefghijklmnop', top_p: 0.9, extra: { password: 'hunter2', n: 1 } },
        },
        fast: { provider: 'anthropic', model: 'claude', headers: { 'anthropic-beta': 'x' } },
      },
      embeddingModel: { provider: 'openai', model: 'text-embedding-3-small', headers: { 'X-Gateway-Key': 'g' } },
    });
    const before = structuredClone(agent);
    const shown = redactSnapshot(agent);
    expect(agent).toEqual(before);
    expect(shown.llms.global).toEqual({
      provider: 'openai',
      model: 'gpt-4o-mini',
      apiKeyEnv: 'OPENAI_API_KEY',
      maxTokens: 500,
      headers: { 'X-Team': REDACTED, Authorization: REDACTED },
      kwargs: { api_token: REDACTED, user: REDACTED, top_p: 0.9, extra: { password: REDACTED, n: 1 } },
    });
    expect(shown.llms.fast?.headers).toEqual({ 'anthropic-beta': REDACTED });
    expect(shown.embeddingModel?.headers).toEqual({ 'X-Gateway-Key': REDACTED });
    expect({ ...shown, llms: agent.llms, embeddingModel: agent.embeddingModel }).toEqual(agent);
  });

  it('leaves a snapshot without secrets equal to itself', () => {
    const agent = testAgent();
    expect(redactSnapshot(agent)).toEqual(agent);
  });
});

describe('secret detection', () => {
  it('names secrets by key, but not variable names or non-strings', () => {
    for (const k of ['Authorization', 'X-Api-Key', 'api_key', 'apikey', 'x-auth-token', 'client_secret', 'password', 'Cookie', 'Set-Cookie', 'credentials', 'private_key']) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ['apiKeyEnv', 'api_key_env', 'model', 'anthropic-beta', 'X-Team', 'description']) expect(isSecretKey(k), k).toBe(false);
    expect(redactSecrets({ maxTokens: 10, token: { type: 'string' } })).toEqual({ maxTokens: 10, token: { type: 'string' } });
  });

  it('recognises credential-shaped values', () => {
    for (const v of ['Bearer x', 'basic dXNlcjpw', 'sk-ant-api03-abcdefgh', 'sk_live_abcdefghij', 'ghp_abcdefghijklmnopqrst', 'xoxb-12345678-abc', 'eyJhbGciOi.eyJzdWIiOi.sig']) {
      expect(isSecretValue(v), v).toBe(true);
    }
    for (const v of ['blue', 'gpt-4o-mini', 'sk-short', 'Bearer', 'Prices in $USD', 'https://api.example/v1']) expect(isSecretValue(v), v).toBe(false);
  });
});
