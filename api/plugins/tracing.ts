/**
 * Request spans for the API (`@fastify/otel`, Fastify's official OpenTelemetry instrumentation, registered as a
 * plugin so it needs no `require` hook and works the same under `tsx`, vitest and Node): one span per request, the
 * incoming W3C `traceparent` honoured, the Temporal client's spans as children. Adds `stepwise.session_id` and
 * `stepwise.agent` from the request, and `stepwise.turn` / `stepwise.step` from a turn result.
 *
 * Registered by `buildApp` only when tracing is on (a provider registered by `workers/tracing.ts`).
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ATTR } from '../../runtime/tracing.js';

function pick(source: unknown, key: string): unknown {
  return source && typeof source === 'object' ? (source as Record<string, unknown>)[key] : undefined;
}

function requestSpan(request: FastifyRequest) {
  const otel = (request as unknown as { opentelemetry?: () => { span?: import('@opentelemetry/api').Span } }).opentelemetry?.();
  return otel?.span;
}

const tracingPlugin: FastifyPluginAsync = async (app) => {
  const instrumentation = new FastifyOtelInstrumentation({ registerOnInitialization: false, instrumentHooks: false });
  await app.register(instrumentation.plugin());
  app.addHook('preHandler', async (request) => {
    const span = requestSpan(request);
    if (!span) return;
    const sessionId = pick(request.params, 'sessionId') ?? pick(request.body, 'sessionId');
    if (typeof sessionId === 'string') span.setAttribute(ATTR.sessionId, sessionId);
    const agentId = pick(request.body, 'agentId');
    if (typeof agentId === 'string') span.setAttribute(ATTR.agent, agentId);
  });
  app.addHook('preSerialization', async (request, _reply, payload) => {
    const span = requestSpan(request);
    if (!span) return payload;
    const turn = pick(payload, 'turn');
    const step = pick(payload, 'stepId');
    const sessionId = pick(payload, 'sessionId');
    if (typeof turn === 'number') span.setAttribute(ATTR.turn, turn);
    if (typeof step === 'string') span.setAttribute(ATTR.step, step);
    if (typeof sessionId === 'string') span.setAttribute(ATTR.sessionId, sessionId);
    return payload;
  });
};

// Not encapsulated: the hooks must see every route.
(tracingPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default tracingPlugin;
