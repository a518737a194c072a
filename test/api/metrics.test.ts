/**
 * `GET /metrics` (prom-client) over a real listening app: the named series are there and move with what happens
 * (requests by route, latency histogram, open event streams, 429s, the shared event polls' queries).
 * The worker's Core SDK metrics are scraped in test/integration/multi-instance.int.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { build, call, type Harness } from '../support/api.js';
import { SseReader } from '../support/sse.js';

let h: Harness | undefined;
afterEach(async () => {
  h?.app.server.closeAllConnections();
  await h?.app.close();
  h = undefined;
});

/** The value of one sample line `name{labels} value` (labels given as a substring), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (labels && !rest.includes(labels)) continue;
    return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('serves the request, latency, stream, 429 and live-query series in Prometheus format, without credentials', async () => {
    h = await build({
      script: Array.from({ length: 5 }, () => ({ action: 'RESPOND', response: 'ok' })) as never,
      app: {
        metrics: true,
        auth: loadApiConfig({ STEPWISE_API_KEYS: 'k1' }).auth!,
        guards: { requestsPerMinute: 4 },
        events: { pollIntervalMs: 10, heartbeatMs: 0 },
      },
    });
    const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const auth = { authorization: 'Bearer k1' };
    expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'm-1', message: 'hi' }, 'k1')).res.statusCode).toBe(201);
    const stream = new SseReader(await fetch(`${base}/sessions/m-1/events`, { headers: auth }));
    await stream.until((m) => m.event === 'reply');

    const scrape = await fetch(`${base}/metrics`); // no credential: an open route
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scrape.headers.get('x-ratelimit-limit')).toBeNull(); // scrapes are not rate limited
    const text = await scrape.text();
    expect(text).toContain('# TYPE stepwise_api_http_requests_total counter');
    expect(sample(text, 'stepwise_api_http_requests_total', 'route="/sessions",status_code="201"')).toBe(1);
    expect(text).toContain('# TYPE stepwise_api_http_request_duration_seconds histogram');
    expect(sample(text, 'stepwise_api_http_request_duration_seconds_count', 'route="/sessions"')).toBe(1);
    expect(sample(text, 'stepwise_api_sse_streams_open')).toBe(1);
    expect(sample(text, 'stepwise_api_live_queries_total', 'kind="catch_up"')).toBe(1);
    // The shared loop's rounds follow (every 10 ms here).
    await expect.poll(async () => sample(await (await fetch(`${base}/metrics`)).text(), 'stepwise_api_live_queries_total', 'kind="round"') ?? 0).toBeGreaterThan(0);
    expect(sample(text, 'stepwise_api_process_cpu_seconds_total')).toBeGreaterThan(0);

    // 429s: the limit of 4 per credential (POST /sessions, the stream, and these) is crossed.
    for (let i = 0; i < 3; i++) await call(h.app, 'GET', '/agents', undefined, 'k1');
    await stream.cancel();
    await expect
      .poll(async () => {
        const t = await (await fetch(`${base}/metrics`)).text();
        return [sample(t, 'stepwise_api_rate_limited_total', 'route="/agents"'), sample(t, 'stepwise_api_sse_streams_open')];
      })
      .toEqual([1, 0]);
    // The stream is counted once it ended, with its status, but not timed.
    const after = await (await fetch(`${base}/metrics`)).text();
    expect(sample(after, 'stepwise_api_http_requests_total', 'route="/sessions/:sessionId/events",status_code="200"')).toBe(1);
    expect(sample(after, 'stepwise_api_http_request_duration_seconds_count', 'route="/sessions/:sessionId/events"')).toBeUndefined();
  });

  it('is off unless asked for (STEPWISE_API_METRICS)', async () => {
    h = await build();
    expect((await h.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    expect(loadApiConfig({}).metrics).toBe(false);
    expect(loadApiConfig({ STEPWISE_API_METRICS: 'true' }).metrics).toBe(true);
    expect(() => loadApiConfig({ STEPWISE_API_METRICS: 'yes' })).toThrow(/STEPWISE_API_METRICS/);
  });
});
