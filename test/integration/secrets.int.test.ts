/**
 * Secrets never enter workflow history or logs, on the real dev server: a whole session (REST create + a tool turn +
 * end) with a provider key in the worker's environment (OpenAI SDK against the fake model server), a Temporal API key
 * on the API's and the worker's connections (`TEMPORAL_API_KEY`, with `TEMPORAL_TLS=false` because the dev server
 * speaks plain gRPC), and an `Authorization` header on every API request. The raw history (no codec, no converter),
 * the worker's logs (Temporal Runtime logger and console) and the API's logs (pino at trace level) hold none of them.
 */
import { randomBytes } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { loadApiConfig } from '../../api/config.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { temporalConnectionOptions } from '../../runtime/env.js';
import { createSessionWorker } from '../../workers/worker.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { writeAgent } from '../support/int-agent.js';
import { historyText, rawHistory } from '../support/raw-history.js';
import { temporalServer } from '../support/temporal.js';

const secret = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;
const SECRETS = {
  OPENAI_API_KEY: secret('sk-test-provider'),
  TEMPORAL_API_KEY: secret('temporal-api-key'),
  authorization: secret('bearer-token'),
};

describe('secrets stay out of history and logs (real dev server)', () => {
  const logs: string[] = [];
  let fake: FakeModelServer;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let backend: TemporalSessions;
  const run = Date.now().toString(36);
  const agentName = `secrets-${run}`;
  const sessionId = `secrets-${run}`;

  beforeAll(async () => {
    // Before any connection exists: the worker side's Temporal logs (SDK + core) go to `logs`.
    Runtime.install({ logger: new DefaultLogger('TRACE', (e) => logs.push(`${e.level} ${e.message} ${JSON.stringify(e.meta ?? {})}`)) });
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
    }
    fake = await startFakeModelServer();
    const agent = await writeAgent(agentName, [], {}, { llm: { provider: 'openai', model: 'gpt-test', base_url: fake.openaiBaseUrl } });
    const { address, namespace } = temporalServer();
    const env = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_API_KEY: SECRETS.TEMPORAL_API_KEY,
      TEMPORAL_TLS: 'false',
      STEPWISE_TASK_QUEUE: `stepwise-int-secrets-${process.pid}`,
      OPENAI_API_KEY: SECRETS.OPENAI_API_KEY,
      LOG_LEVEL: 'trace',
    };
    const workerConnection = await NativeConnection.connect(temporalConnectionOptions(env));
    const worker = await createSessionWorker({
      connection: workerConnection,
      namespace,
      taskQueue: env.STEPWISE_TASK_QUEUE,
      agents: [agent],
      models: new ModelCache({ env }),
      log: (line) => logs.push(line),
    });
    const running = worker.run();
    const config = loadApiConfig(env);
    expect(config.temporal).toMatchObject({ apiKey: SECRETS.TEMPORAL_API_KEY, tls: false });
    backend = await TemporalSessions.connect(config.temporal);
    app = await buildApp({
      backend,
      agents: new Map([[agent.snapshot.name, agent.snapshot]]),
      logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } },
    });
    stop = async () => {
      await app.close();
      worker.shutdown();
      await running;
      await workerConnection.close();
      await fake.close();
    };
  });
  afterAll(async () => {
    await stop?.();
    vi.restoreAllMocks();
  });

  it('finds no provider key, Temporal API key or Authorization header in the history or the logs', async () => {
    fake.enqueue({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'ping' } }] });
    fake.enqueue({ action: 'RESPOND', response: 'pong' });
    fake.enqueue({ action: 'END', response: 'bye' });
    const headers = { authorization: `Bearer ${SECRETS.authorization}` };
    const created = await app.inject({ method: 'POST', url: '/sessions', headers, payload: { agentId: agentName, sessionId, message: 'hi' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ reply: 'pong' });
    const ended = await app.inject({ method: 'POST', url: `/sessions/${sessionId}/messages`, headers, payload: { text: 'bye' } });
    expect(ended.json()).toMatchObject({ reply: 'bye', ended: true });
    // The provider key was really in use: the fake OpenAI server received it on every model call.
    expect(fake.requests.length).toBe(3);
    expect(fake.requests.every((r) => r.headers.authorization === `Bearer ${SECRETS.OPENAI_API_KEY}`)).toBe(true);

    const { client } = backend as unknown as { client: import('@temporalio/client').Client };
    const history = historyText(await rawHistory(client, `session-${sessionId}`));
    expect(history.includes(String.raw`\"response\":\"pong\"`), 'the scan reads payload contents (no codec here)').toBe(true);
    const logText = logs.join('\n');
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).toContain(`/sessions/${sessionId}/messages`); // the API logged the requests at trace level
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(history.includes(value), `${name} in the workflow history`).toBe(false);
      expect(logText.includes(value), `${name} in the worker/API logs`).toBe(false);
    }
  });
});
