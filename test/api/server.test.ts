import { closedPort } from '../support/net.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ApiConfig, DEFAULT_BODY_LIMIT_BYTES, loadApiConfig } from '../../api/config.js';
import { DEFAULT_FILE_LIMITS } from '../../api/files/limits.js';
import { type RunningServer, startServer } from '../../api/server.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { StepwiseError } from '../../src/errors.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

describe('loadApiConfig', () => {
  it('has defaults for everything', () => {
    expect(loadApiConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      temporal: { address: 'localhost:7233', namespace: 'default', taskQueue: 'stepwise', tls: false, connectTimeoutMs: 5_000 },
      bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
      requestTimeoutMs: 120_000,
      eventsIdlePollMs: 1_000,
      temporalRetryMs: 5_000,
      logLevel: 'info',
      codecCorsOrigins: ['http://localhost:8233'],
      authOff: false,
      guards: { requestsPerMinute: 600, sessionMessagesPerMinute: 60, corsOrigins: [] },
      metrics: false,
      trustProxy: false,
      temporalUiUrl: 'http://localhost:8233',
      files: DEFAULT_FILE_LIMITS,
    });
  });

  it('reads STEPWISE_EVENTS_IDLE_POLL_MS, and refuses what is not a positive whole number', () => {
    expect(loadApiConfig({ STEPWISE_EVENTS_IDLE_POLL_MS: '2000' }).eventsIdlePollMs).toBe(2_000);
    expect(() => loadApiConfig({ STEPWISE_EVENTS_IDLE_POLL_MS: '0' })).toThrow(/STEPWISE_EVENTS_IDLE_POLL_MS/);
  });

  it('reads the codec keys, codec CORS origins and the API key TLS choice', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadApiConfig({ STEPWISE_CODEC_KEYS: `k2:${key},k1:${key}`, STEPWISE_CODEC_CORS_ORIGINS: 'https://ui.example, http://localhost:8233' });
    expect(c.codecKeys?.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(c.codecCorsOrigins).toEqual(['https://ui.example', 'http://localhost:8233']);
    expect(() => loadApiConfig({ STEPWISE_CODEC_KEYS: 'k1:short' })).toThrow(/STEPWISE_CODEC_KEYS key k1: expected 32 bytes/);
    // An API key turns TLS on, unless TEMPORAL_TLS=false says the server is local/plain.
    expect(loadApiConfig({ TEMPORAL_API_KEY: 'secret' }).temporal).toMatchObject({ apiKey: 'secret', tls: true });
    expect(loadApiConfig({ TEMPORAL_API_KEY: 'secret', TEMPORAL_TLS: 'false' }).temporal).toMatchObject({ apiKey: 'secret', tls: false });
  });

  it('reads the documented variables (empty counts as unset)', () => {
    const c = loadApiConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_TLS: 'true',
      STEPWISE_TASK_QUEUE: 'agents',
      STEPWISE_AGENTS: 'examples/',
      LOG_LEVEL: '',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      temporal: { address: 'temporal:7233', namespace: 'prod', taskQueue: 'agents', tls: true },
      agentPaths: 'examples/',
      logLevel: 'info',
    });
  });

  it('rejects malformed values with INVALID_CONFIG naming each variable', () => {
    let err: unknown;
    try {
      loadApiConfig({ PORT: 'eighty', STEPWISE_REQUEST_TIMEOUT_MS: '-5' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StepwiseError);
    expect((err as StepwiseError).code).toBe('INVALID_CONFIG');
    expect((err as StepwiseError).message).toMatch(/PORT: .*STEPWISE_REQUEST_TIMEOUT_MS: /);
  });
});

async function testConfig(): Promise<ApiConfig> {
  const base = loadApiConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', STEPWISE_TEMPORAL_RETRY_MS: '50' });
  return { ...base, temporal: { ...base.temporal, address: `127.0.0.1:${await closedPort()}`, connectTimeoutMs: 200 } };
}

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startServer', () => {
  it('starts and serves HTTP while Temporal is unreachable (degraded health, 503 on sessions)', async () => {
    const agents = new Map([[testAgent().name, testAgent()]]);
    server = await startServer({ agents, config: await testConfig(), handleSignals: false });
    expect(server.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${server.address}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'degraded', temporal: 'unavailable', agents: 1 });
    const create = await fetch(`${server.address}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: 'test-agent' }),
    });
    expect(create.status).toBe(503);
    expect(((await create.json()) as { error: { code: string } }).error.code).toBe('TEMPORAL_UNAVAILABLE');
  });

  it('uses a given backend and closes it (and the listener) on SIGTERM', async () => {
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'hi' }]);
    const backend = new LocalSessions({ executors: () => exec, now: exec.now });
    const closeBackend = vi.spyOn(backend, 'close');
    const config = await testConfig();
    const listenersBefore = process.listenerCount('SIGTERM');
    const running = await startServer({ agents: new Map([['test-agent', testAgent()]]), config, backend });
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore + 1);
    const health = await (await fetch(`${running.address}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', temporal: 'not_used' });
    process.emit('SIGTERM', 'SIGTERM');
    await vi.waitFor(() => expect(closeBackend).toHaveBeenCalledOnce());
    await vi.waitFor(() => expect(running.app.server.listening).toBe(false));
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore);
    await running.close(); // idempotent
    expect(closeBackend).toHaveBeenCalledOnce();
  });
});
