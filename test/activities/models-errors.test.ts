import * as AnthropicSdk from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import * as OpenAISdk from 'openai';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, redact, retryAfterMs, toActivityFailure } from '../../activities/models/errors.js';

const openaiError = (status: number, message: string, headers: Record<string, string> = {}) =>
  OpenAISdk.APIError.generate(status, { error: { message, type: 'x' } }, undefined, new Headers(headers));
const anthropicError = (status: number, message: string, headers: Record<string, string> = {}) =>
  AnthropicSdk.APIError.generate(status, { type: 'error', error: { type: 'x', message } }, undefined, new Headers(headers));

describe('toActivityFailure', () => {
  it.each([408, 409, 429, 500, 502, 503, 529])('HTTP %i → retryable MODEL_REQUEST_FAILED', (status) => {
    for (const err of [openaiError(status, 'temporary'), anthropicError(status, 'temporary')]) {
      const f = toActivityFailure(err, 'p');
      expect(f).toBeInstanceOf(ApplicationFailure);
      expect(f.type).toBe('MODEL_REQUEST_FAILED');
      expect(f.nonRetryable).toBe(false);
      expect(f.message).toContain(String(status));
      expect(f.message).toContain('temporary');
    }
  });

  it.each([400, 401, 403, 404, 422])('HTTP %i → non-retryable with the provider message and status', (status) => {
    for (const [err, provider] of [
      [openaiError(status, 'you did it wrong'), 'openai'],
      [anthropicError(status, 'you did it wrong'), 'anthropic'],
    ] as const) {
      const f = toActivityFailure(err, provider);
      expect(f.type).toBe('MODEL_REQUEST_FAILED');
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toBe(`${provider} request failed with HTTP ${status}: you did it wrong`);
      expect(f.details).toEqual([{ provider, status }]);
    }
  });

  it('honours retry-after seconds, HTTP dates and retry-after-ms', () => {
    expect(toActivityFailure(openaiError(429, 'slow', { 'retry-after': '12' }), 'openai').nextRetryDelay).toBe(12_000);
    expect(toActivityFailure(anthropicError(503, 'busy', { 'retry-after-ms': '250' }), 'anthropic').nextRetryDelay).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    const f = toActivityFailure(openaiError(429, 'slow', { 'retry-after': 'Thu, 01 Jan 2026 00:00:45 GMT' }), 'openai', { nowMs: now });
    expect(f.nextRetryDelay).toBe(45_000);
    expect(toActivityFailure(openaiError(500, 'x'), 'openai').nextRetryDelay).toBeUndefined();
    // A non-retryable status never carries a delay.
    expect(toActivityFailure(openaiError(400, 'x', { 'retry-after': '3' }), 'openai').nextRetryDelay).toBeUndefined();
  });

  it('retryAfterMs: caps, ignores garbage, prefers retry-after-ms', () => {
    expect(retryAfterMs({ 'retry-after': '100000' })).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs({ 'Retry-After': 'soon' })).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '1.5' })).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': '9', 'retry-after-ms': '40' }))).toBe(40);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 1970 00:00:00 GMT' })).toBe(0);
  });

  it('connection errors and timeouts (no status) → retryable', () => {
    const conn = toActivityFailure(new OpenAISdk.APIConnectionError({ message: 'Connection error.' }), 'openai');
    expect(conn.nonRetryable).toBe(false);
    expect(conn.message).toContain('failed to connect');
    const timeout = toActivityFailure(new AnthropicSdk.APIConnectionTimeoutError(), 'anthropic');
    expect(timeout.nonRetryable).toBe(false);
    expect(timeout.message).toContain('timed out');
    const plain = toActivityFailure(new TypeError('fetch failed'), 'openai');
    expect(plain.type).toBe('MODEL_REQUEST_FAILED');
    expect(plain.nonRetryable).toBe(false);
  });

  it('passes an ApplicationFailure through unchanged', () => {
    const original = ApplicationFailure.nonRetryable('bad output', 'MODEL_OUTPUT_INVALID');
    expect(toActivityFailure(original, 'openai')).toBe(original);
  });

  it('redacts the key in use and key-shaped strings; never copies headers', () => {
    const key = 'my-custom-gateway-key-123456';
    const err = openaiError(401, `bad key ${key} and sk-proj-abcdefghijklmnop`, { authorization: `Bearer ${key}` });
    const f = toActivityFailure(err, 'openai', { secrets: [key] });
    expect(f.message).not.toContain(key);
    expect(f.message).not.toContain('sk-proj-abcdefghijklmnop');
    expect(f.message).toContain('[redacted]');
    expect(JSON.stringify(f.details)).not.toContain(key);
    expect(redact('token sk-ant-api03-XYZXYZXYZ end', [])).toBe('token [redacted] end');
  });
});
