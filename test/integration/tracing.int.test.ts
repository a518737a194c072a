/**
 * Tracing on the real dev server: one REST turn (`POST /sessions/:id/messages`, a tool call then a reply) yields one
 * connected trace — the HTTP request span (@fastify/otel) -> the client's update span -> the workflow's update span
 * -> the activity spans (decide, runTool) — all with the same trace id, carrying Stepwise's attributes; the API's log
 * lines inside the request carry that trace id.
 */
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { ATTR, startTracing, type Tracing } from '../../runtime/tracing.js';
import { createSessionWorker } from '../../workers/worker.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

describe('OpenTelemetry traces (real dev server)', () => {
  const exporter = new InMemorySpanExporter();
  /** What was exported so far, for timeout messages. */
  const dump = () =>
    exporter
      .getFinishedSpans()
      .map((s) => `${s.name} [${s.instrumentationLibrary.name}] trace=${s.spanContext().traceId.slice(0, 6)} ${JSON.stringify(s.attributes)}`)
      .join('\n');
  const logs: Array<Record<string, unknown>> = [];
  let tracing: Tracing;
  let env: TestWorkflowEnvironment;
  let fake: FakeModelServer;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  const run = Date.now().toString(36);
  const agentName = `traced-${run}`;
  const sessionId = `traced-${run}`;
  const taskQueue = `stepwise-int-tracing-${process.pid}`;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'stepwise-test', spanProcessor: new SimpleSpanProcessor(exporter) });
    env = await connectTemporal();
    fake = await startFakeModelServer();
    const agent = await writeAgent(agentName, [], {}, { llm: { provider: 'openai', model: 'gpt-test', base_url: fake.openaiBaseUrl } });
    const worker = await createSessionWorker({
      connection: env.nativeConnection,
      taskQueue,
      agents: [agent],
      models: new ModelCache({ env: { OPENAI_API_KEY: 'test-key' } }),
      tracing,
      log: () => {},
    });
    const running = worker.run();
    const client = new Client({ connection: env.client.connection, namespace: env.namespace ?? 'default', interceptors: tracing.clientInterceptors });
    app = await buildApp({
      backend: new TemporalSessions({ client, taskQueue }),
      agents: new Map([[agent.snapshot.name, agent.snapshot]]),
      tracing: true,
      logger: { level: 'info', stream: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } },
    });
    stop = async () => {
      await app.close();
      worker.shutdown();
      await running;
      await fake.close();
      await tracing.shutdown();
    };
  });
  afterAll(async () => {
    await stop?.();
    await env?.teardown();
  });

  it('links the HTTP request, the update, the workflow and each activity in one trace with Stepwise attributes', async () => {
    // One REST turn that also starts the session (update-with-start): the workflow run belongs to this request's trace.
    fake.enqueue({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'ping' } }] });
    fake.enqueue({ action: 'RESPOND', response: 'pong' });
    const res = await app.inject({ method: 'POST', url: '/sessions', payload: { agentId: agentName, sessionId, message: 'hi' } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ reply: 'pong', turn: 1 });
    // End the session so the workflow's own span (RunWorkflow) ends and is exported.
    expect((await app.inject({ method: 'DELETE', url: `/sessions/${sessionId}` })).statusCode).toBe(200);

    const isHttp = (s: ReadableSpan, route: string, method: string) =>
      s.instrumentationLibrary.name === '@fastify/otel' && s.attributes['http.route'] === route && s.attributes['http.request.method'] === method;
    const http = await eventually(() => exporter.getFinishedSpans().find((s) => isHttp(s, '/sessions', 'POST')), 15_000, dump);
    const traceId = http.spanContext().traceId;
    // Workflow spans arrive through the worker's sink after each workflow task; wait for the workflow's own span.
    const spans = await eventually(() => {
      const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      return inTrace.some((s) => s.name === 'RunWorkflow:sessionWorkflow') ? inTrace : undefined;
    }, 15_000, dump);
    const named = (name: string) => spans.filter((s) => s.name === name);
    expect(http.attributes).toMatchObject({ [ATTR.sessionId]: sessionId, [ATTR.agent]: agentName, [ATTR.turn]: 1, [ATTR.step]: 'chat' });
    const client = spans.find((s) => s.instrumentationLibrary.name === '@temporalio/interceptor-client')!;
    const workflow = named('RunWorkflow:sessionWorkflow')[0]!;
    const update = named('HandleUpdate:sendMessage')[0]!;
    const [tool] = named('RunActivity:runTool');
    const decides = named('RunActivity:decide');
    for (const span of [client, workflow, update, tool]) expect(span, 'span in the trace').toBeDefined();
    expect(decides).toHaveLength(2);
    // Parent links: HTTP -> client update-with-start -> workflow (and its update handler) -> activities.
    expect(ancestors(client, spans)).toContain(http);
    expect(ancestors(workflow, spans)).toContain(client);
    expect(ancestors(update, spans)).toContain(client);
    for (const activity of [tool!, ...decides]) expect(ancestors(activity, spans)).toContain(workflow);
    expect(tool!.attributes).toMatchObject({ [ATTR.sessionId]: sessionId, [ATTR.tool]: 'echo', [ATTR.step]: 'chat', [ATTR.callId]: 't1.1' });
    for (const decide of decides) {
      expect(decide.attributes).toMatchObject({ [ATTR.sessionId]: sessionId, [ATTR.step]: 'chat', [ATTR.model]: 'gpt-test', [ATTR.inputTokens]: 11, [ATTR.outputTokens]: 7 });
      // The OpenTelemetry GenAI semantic-convention names too.
      expect(decide.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 7, 'gen_ai.request.model': 'gpt-test', 'gen_ai.response.model': 'gpt-test' });
    }
    // No conversation text in span attributes.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toMatch(/ping|pong|"hi"/);
    // Structured logs: lines inside the traced request carry its trace id.
    expect(logs.some((l) => l.trace_id === traceId && typeof l.span_id === 'string')).toBe(true);
  });
});

/** The chain of parents of `span` among `spans` (nearest first). */
function ancestors(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  let current: ReadableSpan | undefined = span;
  while (current?.parentSpanId) {
    current = spans.find((s) => s.spanContext().spanId === current!.parentSpanId);
    if (current) chain.push(current);
  }
  return chain;
}

async function eventually<T>(probe: () => T | undefined, timeoutMs = 15_000, seen: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for spans; have ${seen()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
