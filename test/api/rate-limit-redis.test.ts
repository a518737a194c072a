/**
 * Rate limits shared between API instances through a real Redis (`STEPWISE_RATE_LIMIT_REDIS_URL`): two apps count
 * in the same keys, and Redis going away lets requests through uncounted (fail open, logged), then counting resumes
 * once it is back. Per-process limits: ./guards.test.ts.
 */
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { build, expectError, type Harness } from '../support/api.js';
import { scriptedExecutors } from '../support/scripted-executors.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const apps: Harness[] = [];
let callers = 0;
afterEach(async () => {
  for (const h of apps.splice(0)) await h.app.close();
});

/** Log lines (pino JSON) of an app. */
function logSink(): { stream: Writable; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

async function twoApps(guards: { requestsPerMinute?: number; sessionMessagesPerMinute?: number }, redisUrl = redis.url) {
  const exec = scriptedExecutors([{ action: 'RESPOND', response: 'hi' }]);
  // One backend behind both, as one Temporal cluster is behind every instance.
  const backend = new LocalSessions({ executors: () => exec, now: exec.now });
  const logs = logSink();
  for (let i = 0; i < 2; i++) {
    apps.push(
      await build({
        backend,
        app: { guards: { ...guards, redisUrl }, logger: { level: 'info', stream: logs.stream } as never },
      }),
    );
  }
  // A caller of its own per test: fresh counters in the shared Redis.
  return { a: apps[0]!, b: apps[1]!, logs, ip: `10.0.0.${++callers}` };
}

const get = (h: Harness, ip: string) => h.app.inject({ method: 'GET', url: '/agents', remoteAddress: ip });

describe('rate limits shared through Redis', () => {
  it('two instances share one budget per caller: the 5th request is refused whichever instance gets it', async () => {
    const { a, b, ip } = await twoApps({ requestsPerMinute: 4 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(i % 2 === 0 ? a : b, ip)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const remaining = (await get(a, '10.255.255.1')).headers['x-ratelimit-remaining'];
    expect(remaining).toBe('3'); // another caller: its own budget
    const limitedA = await get(a, ip);
    const limitedB = await get(b, ip);
    for (const res of [limitedA, limitedB]) {
      const err = expectError({ res, body: JSON.parse(res.body) }, 429, 'RATE_LIMITED');
      expect(err.message).toMatch(/at most 4 requests per minute/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // The counter is in Redis, under Stepwise's prefix.
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    try {
      expect(await client.get(`stepwise:rl:ip:${ip}`)).toBe('6');
    } finally {
      client.disconnect();
    }
  });

  it('shares the per-session message budget across instances', async () => {
    const { a, b } = await twoApps({ requestsPerMinute: 0, sessionMessagesPerMinute: 3 });
    const sessionId = `shared-${Math.random().toString(36).slice(2)}`;
    expect((await a.app.inject({ method: 'POST', url: '/sessions', payload: { agentId: 'test-agent', sessionId } })).statusCode).toBe(201);
    const send = (h: Harness) => h.app.inject({ method: 'POST', url: `/sessions/${sessionId}/messages?wait=false`, payload: { text: 'hi' } });
    expect([(await send(a)).statusCode, (await send(b)).statusCode, (await send(a)).statusCode]).toEqual([202, 202, 202]);
    const limited = await send(b);
    expect(limited.statusCode).toBe(429);
    expect(JSON.parse(limited.body).error.message).toMatch(/at most 3 messages to one session per minute/);
  });

  it('fails open while Redis is away (served uncounted, a warning logged, never a 5xx), and counts again once it is back', async () => {
    const own = await startTestRedis();
    const port = own.port;
    let server: TestRedis | undefined = own;
    try {
      const { a, b, logs, ip } = await twoApps({ requestsPerMinute: 2 }, own.url);
      expect((await get(a, ip)).statusCode).toBe(200);
      await server.stop();
      server = undefined;
      const started = Date.now();
      const during = [];
      for (let i = 0; i < 6; i++) during.push((await get(i % 2 ? a : b, ip)).statusCode);
      expect(during).toEqual([200, 200, 200, 200, 200, 200]); // over the limit of 2, but nothing counts them
      expect(Date.now() - started).toBeLessThan(5_000); // no command waits for a server that is not there
      await expect.poll(() => logs.lines.some((l) => l.level === 40 && /Redis unreachable; requests are served UNCOUNTED/.test(l.msg))).toBe(true);

      server = await startTestRedis({ port });
      await expect.poll(() => logs.lines.some((l) => /Redis is back/.test(l.msg)), { timeout: 10_000 }).toBe(true);
      const after = [];
      for (let i = 0; i < 3; i++) after.push((await get(i % 2 ? a : b, ip)).statusCode);
      expect(after).toEqual([200, 200, 429]); // a fresh Redis: a fresh budget of 2, shared again
    } finally {
      await server?.stop();
    }
  });

  it('STEPWISE_RATE_LIMIT_REDIS_URL: a redis:// or rediss:// URL, anything else is INVALID_CONFIG', () => {
    expect(loadApiConfig({ STEPWISE_RATE_LIMIT_REDIS_URL: 'redis://:pw@cache:6379/2' }).guards.redisUrl).toBe('redis://:pw@cache:6379/2');
    expect(loadApiConfig({}).guards.redisUrl).toBeUndefined();
    expect(() => loadApiConfig({ STEPWISE_RATE_LIMIT_REDIS_URL: 'http://cache:6379' })).toThrow(/STEPWISE_RATE_LIMIT_REDIS_URL/);
  });
});
