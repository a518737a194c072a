/**
 * Property-based fuzzing of every route in the app's own OpenAPI document (`app.swagger()`): random and malformed
 * path params, query strings, headers and bodies (deep and huge JSON, broken JSON, wrong content types), sent with
 * `inject()` to the real app over the in-process backend. Every answer must be one of the route's documented
 * statuses (or a generic 4xx: 413/414/415 for oversized or mistyped input), never 5xx, never hang, and every 4xx
 * must have the standard error body `{error: {code, message, details?}}`.
 *
 * Reproduce a failure with `FUZZ_SEED=<seed printed below> npx vitest run test/api/fuzz.test.ts`.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { loadApiConfig } from '../../api/config.js';
import { ERROR_CODES } from '../../src/errors.js';
import { build, type Harness } from '../support/api.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 100);
const REQUEST_TIMEOUT_MS = 10_000;
const BODY_LIMIT_BYTES = 64 * 1024;
/** Statuses any route may answer to malformed transport-level input (documented in docs/rest-api.md's error table). */
const GENERIC_STATUSES = [400, 404, 413, 414, 415];

interface Operation {
  method: string;
  path: string;
  statuses: number[];
  pathParams: string[];
  queryNames: string[];
  bodyNames: string[];
}

/** Operations of the OpenAPI document, with their documented statuses and parameter names. */
function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const params: any[] = op.parameters ?? [];
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        statuses: Object.keys(op.responses ?? {}).map(Number),
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryNames: params.filter((p) => p.in === 'query').map((p) => p.name),
        bodyNames: Object.keys(bodySchema?.properties ?? {}),
      });
    }
  }
  return ops;
}

/** Strings worth trying anywhere: ids that exist, edge cases, bad encodings, unicode, long ones. */
const oddString = fc.oneof(
  fc.constantFrom('s-live', 's-ended', 'test-agent', ':first', 'm-1', '', ' ', '..', '.', 'null', 'true', '-1', '0', '1e309', 'NaN',
    '%', '%zz', '%00', '%2F', '\u0000', '\uD800', '🙂', 'a/b', '?x=1', '#frag', '<script>', "'; drop table x; --"),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 100, maxLength: 400 }),
);

/** JSON values: random, deep, or huge. */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 2_000 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n))) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: BODY_LIMIT_BYTES * 2 }).map((n) => 'x'.repeat(n)) },
);

/** A request body as sent: a JSON text (often shaped like the route's body), broken JSON, or nothing. */
function bodyFor(op: Operation): fc.Arbitrary<string | undefined> {
  const names = op.bodyNames.length > 0 ? fc.constantFrom(...op.bodyNames) : fc.string({ maxLength: 10 });
  const shaped = fc.dictionary(fc.oneof({ weight: 4, arbitrary: names }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }), jsonish, {
    maxKeys: 5,
  });
  // Mostly-valid bodies built from the route's own field names, so requests get past validation into the handlers.
  const plausibleValue: Record<string, fc.Arbitrary<unknown>> = {
    agentId: fc.constantFrom('test-agent', 'test-agent', 'nope'),
    text: fc.string({ minLength: 1, maxLength: 50 }),
    message: fc.string({ minLength: 1, maxLength: 50 }),
    sessionId: fc.oneof(fc.uuid(), fc.constantFrom('s-live', 's-ended')),
    messageId: fc.oneof(fc.uuid(), fc.constantFrom(':first', 'm-1')),
    initiate: fc.boolean(),
    userId: fc.string({ minLength: 1, maxLength: 20 }),
    name: fc.string({ maxLength: 20 }),
    metadata: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
    // NOMOS's and AgentOS's field names.
    agent_id: fc.constantFrom('test-agent', 'test-agent', 'nope'),
    user_id: fc.string({ minLength: 1, maxLength: 20 }),
    session_id: fc.oneof(fc.uuid(), fc.constantFrom('s-live', 's-ended')),
    input: fc.string({ minLength: 1, maxLength: 50 }),
    content: fc.string({ minLength: 1, maxLength: 50 }),
    user_input: fc.string({ minLength: 1, maxLength: 50 }),
    // POST /agents/validate: agent YAML, near-agent YAML, broken YAML, anything.
    yaml: fc.oneof(
      fc.constantFrom('name: test-agent\npersona: p\nstart_step_id: a\nsteps:\n  - id: a\n    desc: d\n', 'name: [', 'a: &a [*a]', '- - - x', '', 'steps: {}'),
      fc.jsonValue({ maxDepth: 3 }).map((v) => `name: test-agent\nsteps: ${JSON.stringify(v)}\n`),
      fc.string({ maxLength: 200 }),
    ),
  };
  const plausible = fc.record(
    Object.fromEntries(op.bodyNames.map((n) => [n, fc.oneof({ weight: 5, arbitrary: plausibleValue[n] ?? jsonish }, { weight: 1, arbitrary: jsonish })])),
    { requiredKeys: op.bodyNames.filter((n) => n === 'agentId' || n === 'text') },
  );
  return fc.oneof(
    { weight: 4, arbitrary: shaped.map((b) => JSON.stringify(b)) },
    { weight: 5, arbitrary: plausible.map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: jsonish.map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 10, max: 100_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
      'application/json; charset=latin1', 'application/xml', '', 'application/*', ';;;'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

/** Extra headers: SSE resume ids, accept, bogus credentials, random names. */
const extraHeaders = fc.dictionary(
  fc.oneof(fc.constantFrom('last-event-id', 'accept', 'authorization', 'accept-encoding', 'x-request-id'), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)),
  fc.oneof(oddString.filter((v) => /^[\x20-\x7e]*$/.test(v)), fc.constantFrom('41', '-1', 'text/event-stream', 'Bearer x', 'gzip')),
  { maxKeys: 3 },
);

function queryFor(op: Operation): fc.Arbitrary<string> {
  const names = op.queryNames.length > 0 ? fc.oneof(fc.constantFrom(...op.queryNames), fc.string({ maxLength: 8 })) : fc.string({ maxLength: 8 });
  return fc
    .array(fc.tuple(names, fc.oneof(oddString, fc.constantFrom('true', 'false', '1', '20'))), { maxLength: 3 })
    .map((pairs) => {
      const q = new URLSearchParams();
      for (const [k, v] of pairs) q.append(k, v);
      return q.toString();
    });
}

/** A path for `op` with each `{param}` replaced: encoded (usually) or raw (bad encodings, slashes). */
function pathFor(op: Operation): fc.Arbitrary<string> {
  const param = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('s-live', 's-ended', 'test-agent', ':first', 'm-1') }, { weight: 3, arbitrary: oddString });
  return fc.array(fc.tuple(param, fc.boolean()), { minLength: op.pathParams.length, maxLength: op.pathParams.length }).map((values) => {
    let path = op.path;
    op.pathParams.forEach((name, i) => {
      const [value, raw] = values[i]!;
      // Lone surrogates cannot be percent-encoded as UTF-8 (encodeURIComponent throws): replace them with U+FFFD.
      const encodable = value.replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
      path = path.replace(`{${name}}`, raw ? value.replace(/[^\x21-\x7e]/g, '') : encodeURIComponent(encodable));
    });
    return path;
  });
}

/** Checks one reply against the rules in the file comment; returns a description of the problem, if any. */
function problemWith(op: Operation | undefined, res: { statusCode: number; headers: Record<string, unknown>; body: string }): string | undefined {
  const allowed = [...(op?.statuses.filter((s) => s < 500) ?? []), ...GENERIC_STATUSES];
  if (res.statusCode >= 500) return `5xx: ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (!allowed.includes(res.statusCode)) return `undocumented status ${res.statusCode} (documented: ${allowed.join(', ')}) ${res.body.slice(0, 200)}`;
  if (res.statusCode < 400) return undefined;
  let body: any;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `${res.statusCode} without a JSON body: ${res.body.slice(0, 200)}`;
  }
  const standardError = (error: any) =>
    (ERROR_CODES as readonly string[]).includes(error?.code) && typeof error.message === 'string' && Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k));
  const standard = body && typeof body === 'object' && Object.keys(body).join() === 'error' && standardError(body.error);
  // NOMOS's routes (`/session*`, `/chat`, `/auth/token`) add FastAPI's `detail` (NOMOS's client reads it) beside it.
  const nomos =
    /^\/(session|chat|auth\/token)(\/|$)/.test(op?.path ?? '') && body && typeof body === 'object' && Object.keys(body).sort().join() === 'detail,error' &&
    standardError(body.error) && body.detail === body.error.message;
  // AgentOS's routes (`/api/v1/*`) answer AgentOS's body `{error, message, code}` with Stepwise's codes; a URL that
  // matches no route (or a malformed one) gets the standard body from the router.
  const agentOs =
    op?.path.startsWith('/api/v1/') && body && typeof body === 'object' && Object.keys(body).sort().join() === 'code,error,message' &&
    (ERROR_CODES as readonly string[]).includes(body.code) && typeof body.error === 'string' && typeof body.message === 'string';
  const ok = standard || agentOs || nomos;
  return ok ? undefined : `${res.statusCode} without the standard error body: ${res.body.slice(0, 200)}`;
}

async function send(app: FastifyInstance, req: { method: string; url: string; headers: Record<string, string>; payload?: string }) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${req.method} ${req.url.slice(0, 200)}`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([app.inject({ method: req.method as any, url: req.url, headers: req.headers, payload: req.payload }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzzing every OpenAPI operation', () => {
  let h: Harness;
  let operations: Operation[];

  beforeAll(async () => {
    console.log(`fuzz seed ${SEED} (FUZZ_SEED), ${RUNS_PER_OPERATION} runs per operation (FUZZ_RUNS)`);
    h = await build({
      // Every turn answers, whatever the decision index.
      script: Array.from({ length: 2_000 }, () => ({ action: 'RESPOND', response: 'ok' })),
      bodyLimitBytes: BODY_LIMIT_BYTES,
      app: { archive: new InMemoryArchiveStore(), guards: { requestsPerMinute: 0, sessionMessagesPerMinute: 0 } },
    });
    await h.app.ready();
    operations = operationsOf(h.app.swagger());
    for (const id of ['s-live', 's-ended']) {
      expect((await h.app.inject({ method: 'POST', url: '/sessions', payload: { agentId: 'test-agent', sessionId: id, message: 'hi' } })).statusCode).toBe(201);
    }
    expect((await h.app.inject({ method: 'DELETE', url: '/sessions/s-ended' })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h?.app.close();
  });

  it('the OpenAPI document lists the session routes', () => {
    const names = operations.map((o) => `${o.method} ${o.path}`);
    expect(names).toEqual(expect.arrayContaining(['POST /sessions', 'POST /sessions/{sessionId}/messages', 'GET /sessions/{sessionId}/events']));
  });

  it('never answers 5xx, an undocumented status or a non-standard error body to random input', async () => {
    const failures: string[] = [];
    const seen = new Map<string, number>();
    for (const [index, op] of operations.entries()) {
      const request = fc.record({
        path: pathFor(op),
        query: queryFor(op),
        body: bodyFor(op),
        contentType,
        headers: extraHeaders,
      });
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          // A live session's event stream never ends by design: only the ended one is streamed here.
          const path = op.path.endsWith('/events') ? r.path.replace(/\/s-live\//, '/s-ended/') : r.path;
          const url = r.query ? `${path}?${r.query}` : path;
          const withBody = r.body !== undefined && !['GET', 'HEAD'].includes(op.method);
          const headers: Record<string, string> = { ...r.headers, ...(withBody ? { 'content-type': r.contentType } : {}) };
          if (op.path.endsWith('/events')) headers['last-event-id'] = headers['last-event-id'] ?? '0';
          const res = await send(h.app, { method: op.method, url, headers, ...(withBody ? { payload: r.body } : {}) });
          const key = `${op.method} ${op.path} ${res.statusCode}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          const problem = problemWith(op, res);
          if (problem) failures.push(`${op.method} ${url.slice(0, 160)} [${headers['content-type'] ?? ''}]: ${problem}`);
          return problem === undefined;
        }),
        { seed: SEED + index, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      ).catch((err: Error) => failures.push(`${op.method} ${op.path}: ${err.message.split('\n').slice(0, 6).join(' | ')}`));
    }
    console.log(`statuses seen:\n${[...seen].map(([k, n]) => `  ${k}: ${n}`).join('\n')}`);
    expect(failures).toEqual([]);
    // The fuzz reaches past validation: some requests succeed, and bodies are rejected for each reason.
    const statuses = new Set([...seen.keys()].map((k) => Number(k.split(' ').pop())));
    for (const s of [200, 201, 400, 404, 409, 413, 415]) expect(statuses, `status ${s} never seen`).toContain(s);
  }, 240_000);

  it('answers unknown routes, long URLs and bad encodings with the standard error body', async () => {
    const urls = [
      '/nothing',
      '/sessions/x/unknown',
      `/sessions/${'a'.repeat(300)}`,
      `/sessions/${'a'.repeat(300)}/messages`,
      `/${'x'.repeat(100_000)}`,
      '/sessions/%zz',
      '/agents/%E0%A4%A',
      '/sessions?limit=%zz',
    ];
    for (const url of urls) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await send(h.app, { method, url, headers: { 'content-type': 'application/json' }, payload: method === 'GET' ? undefined : '{}' });
        const problem = problemWith(undefined, res);
        expect(problem, `${method} ${url.slice(0, 80)}`).toBeUndefined();
      }
    }
    const long = await h.app.inject({ method: 'GET', url: `/sessions/${'a'.repeat(300)}` });
    expect(long.statusCode).toBe(414);
    expect(long.json().error.code).toBe('URI_TOO_LONG');
  });
});

describe('fuzzing credentials', () => {
  it('answers random Authorization headers with 401 (or the route result for the real key), never 5xx', async () => {
    const auth = loadApiConfig({ STEPWISE_API_KEYS: 'the-key', STEPWISE_JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json', STEPWISE_JWT_AUDIENCE: 'stepwise-api' }).auth!;
    const h = await build({ app: { auth, guards: { requestsPerMinute: 0 } } });
    try {
      const segment = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
      const credential = fc.oneof(
        fc.string({ maxLength: 80 }).filter((v) => /^[\x20-\x7e]*$/.test(v)),
        fc.tuple(segment, segment, segment).map((p) => `Bearer ${p.join('.')}`),
        fc.string({ maxLength: 80 }).filter((v) => /^[\x21-\x7e]*$/.test(v)).map((v) => `Bearer ${v}`),
        fc.constantFrom('Bearer', 'Bearer ', 'bearer the-key', 'Bearer the-key', 'Basic dGhlLWtleQ==', 'Bearer  the-key'),
      );
      await fc.assert(
        fc.asyncProperty(credential, fc.constantFrom('/agents', '/sessions/s-1', '/nothing'), async (authorization, url) => {
          const res = await send(h.app, { method: 'GET', url, headers: { authorization } });
          const problem = problemWith({ method: 'GET', path: url, statuses: [200, 401], pathParams: [], queryNames: [], bodyNames: [] }, res);
          return problem === undefined;
        }),
        { seed: SEED, numRuns: 200 },
      );
    } finally {
      await h.app.close();
    }
  }, 60_000);
});
