import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { build, call, expectError, type Harness } from '../support/api.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const keys = () => loadApiConfig({ STEPWISE_API_KEYS: 'key-a,key-b' }).auth!;

async function get(url: string, opts: { key?: string; ip?: string } = {}) {
  const res = await h!.app.inject({
    method: 'GET',
    url,
    ...(opts.ip ? { remoteAddress: opts.ip } : {}),
    ...(opts.key ? { headers: { authorization: `Bearer ${opts.key}` } } : {}),
  });
  return { res, body: res.body ? JSON.parse(res.body) : undefined };
}

describe('rate limits', () => {
  it('limits requests per credential: 429 RATE_LIMITED with Retry-After; other keys unaffected', async () => {
    h = await build({ app: { auth: keys(), guards: { requestsPerMinute: 3 } } });
    for (let i = 0; i < 3; i++) {
      const ok = await get('/agents', { key: 'key-a' });
      expect(ok.res.statusCode).toBe(200);
      expect(ok.res.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = await get('/agents', { key: 'key-a' });
    const err = expectError(limited, 429, 'RATE_LIMITED');
    expect(err.message).toMatch(/at most 3 requests per minute/);
    const retryAfter = Number(limited.res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(err.details).toEqual({ limit: 3, retryAfterSeconds: retryAfter });
    // Same IP, other credential: its own budget.
    expect((await get('/agents', { key: 'key-b' })).res.statusCode).toBe(200);
  });

  it('limits per client IP when auth is off', async () => {
    h = await build({ app: { guards: { requestsPerMinute: 2 } } });
    expect((await get('/agents', { ip: '10.0.0.1' })).res.statusCode).toBe(200);
    expect((await get('/agents', { ip: '10.0.0.1' })).res.statusCode).toBe(200);
    expectError(await get('/agents', { ip: '10.0.0.1' }), 429, 'RATE_LIMITED');
    expect((await get('/agents', { ip: '10.0.0.2' })).res.statusCode).toBe(200);
  });

  it('limits messages per session on POST /sessions/:sessionId/messages, whoever sends them', async () => {
    h = await build({ app: { guards: { sessionMessagesPerMinute: 2 } } });
    for (const id of ['s-a', 's-b']) expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: id })).res.statusCode).toBe(201);
    const send = (sessionId: string, ip: string) =>
      h!.app.inject({ method: 'POST', url: `/sessions/${sessionId}/messages?wait=false`, remoteAddress: ip, payload: { text: 'hi' } });
    expect((await send('s-a', '10.0.0.1')).statusCode).toBe(202);
    expect((await send('s-a', '10.0.0.2')).statusCode).toBe(202);
    const limited = await send('s-a', '10.0.0.3');
    expectError({ res: limited, body: limited.json() }, 429, 'RATE_LIMITED');
    expect(limited.json().error.message).toMatch(/at most 2 messages to one session per minute/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await send('s-b', '10.0.0.1')).statusCode).toBe(202);
    // Reads of the limited session still work.
    expect((await call(h.app, 'GET', '/sessions/s-a')).res.statusCode).toBe(200);
  });

  it('0 turns a limit off', async () => {
    h = await build({ app: { guards: { requestsPerMinute: 0, sessionMessagesPerMinute: 0 } } });
    for (let i = 0; i < 5; i++) expect((await get('/agents')).res.statusCode).toBe(200);
    expect((await get('/agents')).res.headers['x-ratelimit-limit']).toBeUndefined();
  });
});

describe('CORS', () => {
  it('answers preflights and tags replies only for configured origins, before auth', async () => {
    h = await build({ app: { auth: keys(), guards: { corsOrigins: ['https://app.example'] } } });
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: '/sessions',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
    // A 401 carries CORS headers too, so the browser app can read it.
    const denied = await h.app.inject({ method: 'GET', url: '/agents', headers: { origin: 'https://app.example' } });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('https://app.example');
    const other = await h.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS headers by default', async () => {
    h = await build();
    const res = await h.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('reads STEPWISE_CORS_ORIGINS, STEPWISE_RATE_LIMIT_PER_MINUTE and STEPWISE_SESSION_MESSAGES_PER_MINUTE', () => {
    expect(
      loadApiConfig({
        STEPWISE_CORS_ORIGINS: 'https://a.example, https://b.example',
        STEPWISE_RATE_LIMIT_PER_MINUTE: '100',
        STEPWISE_SESSION_MESSAGES_PER_MINUTE: '0',
      }).guards,
    ).toEqual({ corsOrigins: ['https://a.example', 'https://b.example'], requestsPerMinute: 100, sessionMessagesPerMinute: 0 });
    expect(() => loadApiConfig({ STEPWISE_RATE_LIMIT_PER_MINUTE: '-1' })).toThrow(/STEPWISE_RATE_LIMIT_PER_MINUTE/);
  });
});

describe('security headers', () => {
  it('sets helmet headers on API replies and errors', async () => {
    h = await build();
    for (const url of ['/health', '/nothing']) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
    }
  });

  const chromium = '/usr/bin/chromium';
  it.runIf(existsSync(chromium))('Swagger UI at /docs still renders in a real browser under the CSP', async () => {
    h = await build();
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { stdout } = await promisify(execFile)(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=8000', '--dump-dom', `${address}/docs/static/index.html`],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    );
    // Rendered by swagger-ui's scripts from the OpenAPI document (not in the static HTML).
    expect(stdout).toContain('Stepwise API');
    expect(stdout).toMatch(/opblock-summary-path[^>]*>[\s\S]*?\/sessions/);
  }, 240_000);
});
