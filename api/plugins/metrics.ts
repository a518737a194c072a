/**
 * `GET /metrics`: the API's Prometheus metrics (prom-client, text exposition format 0.0.4), on when
 * `STEPWISE_API_METRICS=true` (`buildApp({ metrics: true })`). An open route like `/health` (Prometheus scrapes
 * without credentials): it names routes and status codes, never session ids, users or message text; keep it off a
 * public ingress. Not rate limited (registered before the limiter, which hooks only the routes added after it), so a
 * scraper never gets a 429. Not encapsulated: its hooks see every route. Each app has its own registry (tests build several).
 *
 * Series (all prefixed `stepwise_api_`):
 * - `http_requests_total{method,route,status_code}` (counter): finished requests; `route` is the route pattern
 *   (`/sessions/:sessionId/messages`), `unmatched` for unknown paths. Event streams count when they end.
 * - `http_request_duration_seconds{method,route,status_code}` (histogram): time to the end of the response; event
 *   streams are left out (they last as long as the client listens).
 * - `sse_streams_open` (gauge): event streams open right now (`/sessions/:id/events` and AgentOS
 *   `run/stream`, the streams `../live/sse.ts` opens; the AI SDK chat route writes its own stream and is timed as a
 *   request instead).
 * - `rate_limited_total{route}` (counter): requests refused with 429 RATE_LIMITED.
 * - `live_queries_total{kind}` (counter): `getEvents` queries the shared event polls sent (`round`: one per session
 *   per interval; `catch_up`: a subscriber resuming below the shared buffer). See `../live/event-hub.ts`.
 * - the process metrics of prom-client's `collectDefaultMetrics` (CPU, memory, event-loop lag, ...).
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LiveQueryKind } from '../live/event-hub.js';
import { isSseResponse, openSseStreams } from '../live/sse.js';

/** Prefix of every series. */
export const API_METRICS_PREFIX = 'stepwise_api_';

/** Latency buckets in seconds: 5 ms (a cached read) to 60 s (a long multi-tool turn). */
export const REQUEST_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The API's metrics; `buildApp` creates one when metrics are on and hands `liveQuery` to the event routes. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: `${API_METRICS_PREFIX}http_requests_total`,
    help: 'Finished HTTP requests',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: `${API_METRICS_PREFIX}http_request_duration_seconds`,
    help: 'Time from request to the end of its response, in seconds (event streams excluded)',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: REQUEST_DURATION_BUCKETS_S,
    registers: [this.registry],
  });
  readonly #rateLimited = new Counter({
    name: `${API_METRICS_PREFIX}rate_limited_total`,
    help: 'Requests refused with 429 RATE_LIMITED',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly #liveQueries = new Counter({
    name: `${API_METRICS_PREFIX}live_queries_total`,
    help: 'getEvents queries sent by the shared event polls (round: one per session per interval; catch_up: a late subscriber)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: API_METRICS_PREFIX });
  }

  /** Counts one `getEvents` query of the event hub. */
  liveQuery = (kind: LiveQueryKind): void => {
    this.#liveQueries.inc({ kind });
  };

  /** Records a finished request (`durationS` undefined: an event stream, counted but not timed). */
  request(request: FastifyRequest, statusCode: number, durationS: number | undefined): void {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(statusCode) };
    this.#requests.inc(labels);
    if (durationS !== undefined) this.#duration.observe(labels, durationS);
    if (statusCode === 429) this.#rateLimited.inc({ route: labels.route });
  }

  /** Adds the open-stream gauge of `server` (the app's HTTP server). */
  watchStreams(server: object): void {
    new Gauge({
      name: `${API_METRICS_PREFIX}sse_streams_open`,
      help: 'Event streams open now',
      registers: [this.registry],
      collect() {
        this.set(openSseStreams(server));
      },
    });
  }
}

const metricsPlugin: FastifyPluginAsyncZod<{ metrics: ApiMetrics }> = async (app, { metrics }) => {
  metrics.watchStreams(app.server);
  // On the raw response, so hijacked replies (event streams) are seen too; `onResponse` skips them.
  app.addHook('onRequest', async (request, reply) => {
    const started = process.hrtime.bigint();
    reply.raw.once('close', () => {
      const durationS = isSseResponse(reply.raw) ? undefined : Number(process.hrtime.bigint() - started) / 1e9;
      metrics.request(request, reply.raw.statusCode, durationS);
    });
  });
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text exposition format 0.0.4); only with STEPWISE_API_METRICS=true',
        response: { 200: { description: 'Prometheus text format; not JSON.', content: { 'text/plain': { schema: z.string() } } } },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};

(metricsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default metricsPlugin;
