/**
 * OpenTelemetry tracing for the API, the worker and `stepwise dev`: one trace from the HTTP request (`@fastify/otel`)
 * through the Temporal client's update (`@temporalio/interceptors-opentelemetry` client interceptor), the workflow
 * (its official workflow interceptors, the only tracing code on the deterministic path: spans leave the sandbox
 * through a sink) and each activity (activity interceptor), with Stepwise attributes (`stepwise.session_id`,
 * `stepwise.step`, `stepwise.tool`, `stepwise.model`, token usage...) added by {@link stepwiseActivityInterceptor} and
 * the API's request hook. Trace context crosses Temporal in headers (W3C `traceparent`), never in payloads.
 *
 * On when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (OTLP over HTTP/protobuf-JSON,
 * the exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables itself: headers, timeout...), off otherwise, and
 * off when `OTEL_SDK_DISABLED=true`. Tests pass their own span processor (e.g. an `InMemorySpanExporter`).
 *
 * SDK line: OpenTelemetry JS 1.x (sdk-trace-base 1.30), the one `@temporalio/interceptors-opentelemetry@1.24` is
 * built on: its workflow spans are rebuilt outside the sandbox in the 1.x `ReadableSpan` shape (`parentSpanId`), which
 * a 2.x exporter would read without their parents. Node only.
 */
import { createRequire } from 'node:module';
import { context, isSpanContextValid, propagation, type Span, trace } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInboundCallsInterceptor, WorkerOptions } from '@temporalio/worker';

/** Attribute names Stepwise puts on spans (and nothing else: never message text, arguments or results). */
export const ATTR = {
  sessionId: 'stepwise.session_id',
  agent: 'stepwise.agent',
  turn: 'stepwise.turn',
  step: 'stepwise.step',
  tool: 'stepwise.tool',
  callId: 'stepwise.call_id',
  model: 'stepwise.model',
  decisionIndex: 'stepwise.decision_index',
  inputTokens: 'stepwise.usage.input_tokens',
  outputTokens: 'stepwise.usage.output_tokens',
  /** OpenTelemetry GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/). */
  genAiInputTokens: 'gen_ai.usage.input_tokens',
  genAiOutputTokens: 'gen_ai.usage.output_tokens',
  genAiRequestModel: 'gen_ai.request.model',
  genAiResponseModel: 'gen_ai.response.model',
} as const;

const require = createRequire(import.meta.url);
/** The official workflow interceptor module, bundled into the workflow code when tracing is on. */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Tracing for one process: a registered global provider plus what the Temporal client, worker and Fastify need. */
export interface Tracing {
  provider: NodeTracerProvider;
  /** Client interceptors (API, `stepwise dev`): the update/start spans and header propagation. */
  clientInterceptors: ClientInterceptors;
  /** Worker options to merge: activity interceptors, the workflow interceptor module, the workflow span sink. */
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Flushes and stops the provider (call at process end). */
  shutdown(): Promise<void>;
}

/** Whether the environment asks for tracing (an OTLP endpoint is set and the SDK is not disabled). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? '')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Tracing from the environment: an OTLP/HTTP exporter behind a batch processor when {@link tracingRequested}, else
 * `undefined` (no provider registered, no interceptors: zero cost). Service name: `OTEL_SERVICE_NAME` or `serviceName`.
 */
export async function tracingFromEnv(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return startTracing({ serviceName: env.OTEL_SERVICE_NAME || serviceName, spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter()) });
}

/**
 * Registers a global tracer provider (with Node's AsyncLocalStorage context manager and the W3C trace-context
 * propagator) that sends every span to `spanProcessor`. Call once per process, before the Fastify app is built.
 */
export function startTracing(opts: { serviceName: string; spanProcessor: SpanProcessor }): Tracing {
  const resource = new Resource({ 'service.name': opts.serviceName });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [opts.spanProcessor] });
  provider.register();
  return {
    provider,
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    workerOptions: {
      interceptors: {
        workflowModules: [WORKFLOW_TRACING_MODULE],
        activity: [
          (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
          () => ({ inbound: stepwiseActivityInterceptor }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(opts.spanProcessor, resource) },
    },
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** Reads a string field of an unknown activity argument. */
function field(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Puts Stepwise attributes on the activity span the OpenTelemetry interceptor opened (it runs inside it): session,
 * agent, step, tool and call id from the input; model and token usage from a `decide`, `summarize`, `rank` or
 * `generateTitle` result, also as the GenAI conventions' `gen_ai.usage.input_tokens` / `output_tokens` and
 * `gen_ai.request.model` / `gen_ai.response.model`. Reads only ids and numbers, never text.
 */
export const stepwiseActivityInterceptor: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    const span = trace.getActiveSpan();
    const req = input.args[0];
    if (span) {
      setIf(span, ATTR.sessionId, field(req, 'sessionId'));
      setIf(span, ATTR.agent, field(req, 'agentName'));
      setIf(span, ATTR.step, field(req, 'stepId'));
      setIf(span, ATTR.tool, field(req, 'tool'));
      setIf(span, ATTR.callId, field(req, 'callId'));
      setIf(span, ATTR.decisionIndex, field(req, 'decisionIndex'));
      setIf(span, ATTR.model, field(field(req, 'llm'), 'model'));
      setIf(span, ATTR.genAiRequestModel, field(field(req, 'llm'), 'model'));
    }
    const result = await next(input);
    if (span) {
      setIf(span, ATTR.model, field(result, 'model'));
      setIf(span, ATTR.genAiResponseModel, field(result, 'model'));
      const usage = field(result, 'usage');
      setIf(span, ATTR.inputTokens, field(usage, 'inputTokens'));
      setIf(span, ATTR.outputTokens, field(usage, 'outputTokens'));
      setIf(span, ATTR.genAiInputTokens, field(usage, 'inputTokens'));
      setIf(span, ATTR.genAiOutputTokens, field(usage, 'outputTokens'));
    }
    return result;
  },
};

function setIf(span: Span, key: string, value: unknown): void {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') span.setAttribute(key, value);
}

/**
 * Pino `mixin` for structured logs: the active span's `trace_id` and `span_id` on every line logged inside a traced
 * request (nothing when tracing is off or no span is active).
 */
export function traceLogFields(): Record<string, string> {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}
