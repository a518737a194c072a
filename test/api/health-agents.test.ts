import { afterEach, describe, expect, it } from 'vitest';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, type Harness } from '../support/api.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

describe('GET /health', () => {
  it('is ok with the in-process backend and counts agents', async () => {
    h = await build({ agents: [testAgent(), testAgent({ name: 'second' })] });
    const { res, body } = await call(h.app, 'GET', '/health');
    expect(res.statusCode).toBe(200);
    expect(body).toEqual({ status: 'ok', temporal: 'not_used', detail: 'in-process sessions (not durable)', agents: 2, timestamp: expect.any(String) });
    // NOMOS's health field: an ISO 8601 UTC time.
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
  });
});

describe('GET /agents', () => {
  it('lists summaries', async () => {
    h = await build();
    const { res, body } = await call(h.app, 'GET', '/agents');
    expect(res.statusCode).toBe(200);
    expect(body).toEqual({
      agents: [
        {
          name: 'test-agent',
          displayName: 'test-agent',
          configHash: h.agents.get('test-agent')!.configHash,
          startStepId: 'greet',
          steps: ['greet', 'order', 'checkout', 'done'],
          flows: ['ordering'],
          tools: ['add_item', 'get_cart', 'pay'],
        },
      ],
    });
  });

  it('shows a NOMOS display name beside the URL-safe id derived from it', async () => {
    h = await build({ agents: [testAgent({ name: 'nomos-github-bot', displayName: 'Nomos Github Bot' })] });
    const { body } = await call(h.app, 'GET', '/agents');
    expect((body as { agents: { name: string; displayName: string }[] }).agents[0]).toMatchObject({
      name: 'nomos-github-bot',
      displayName: 'Nomos Github Bot',
    });
    expect((await call(h.app, 'GET', '/agents/nomos-github-bot')).body).toMatchObject({ displayName: 'Nomos Github Bot' });
  });

  it('returns the full snapshot of one agent', async () => {
    h = await build({ agents: [testAgent({ llms: { global: { provider: 'openai', model: 'gpt-4o-mini', apiKeyEnv: 'OPENAI_API_KEY' } } })] });
    const { res, body } = await call(h.app, 'GET', '/agents/test-agent');
    expect(res.statusCode).toBe(200);
    expect(body).toEqual(h.agents.get('test-agent'));
    expect(body.llms.global).toEqual({ provider: 'openai', model: 'gpt-4o-mini', apiKeyEnv: 'OPENAI_API_KEY' });
  });

  it('redacts llm header values and secret-looking values (the pinned snapshot keeps them)', async () => {
    const llm = { provider: 'openai' as const, model: 'gpt-4o-mini', headers: { 'X-Team': 'blue', Authorization: 'Bearer t0k' }, kwargs: { session_token: 'abc', top_p: 0.5 } };
    h = await build({ agents: [testAgent({ llms: { global: llm } })] });
    const { res, body } = await call(h.app, 'GET', '/agents/test-agent');
    expect(res.statusCode).toBe(200);
    expect(body.llms.global).toEqual({ ...llm, headers: { 'X-Team': '[redacted]', Authorization: '[redacted]' }, kwargs: { session_token: '[redacted]', top_p: 0.5 } });
    expect(JSON.stringify(body)).not.toMatch(/blue|t0k|"abc"/);
    expect(h.agents.get('test-agent')!.llms.global).toEqual(llm);
  });

  it('404 AGENT_NOT_FOUND for an unknown agent', async () => {
    h = await build();
    const err = expectError(await call(h.app, 'GET', '/agents/nobody'), 404, 'AGENT_NOT_FOUND');
    expect(err.message).toContain('nobody');
  });
});

describe('unknown routes', () => {
  it('404 NOT_FOUND with the error body', async () => {
    h = await build();
    const err = expectError(await call(h.app, 'GET', '/nope?x=1'), 404, 'NOT_FOUND');
    expect(err.message).toBe('route GET /nope not found');
    expectError(await call(h.app, 'PUT', '/sessions'), 404, 'NOT_FOUND');
  });
});

describe('OpenAPI at /docs', () => {
  it('serves an OpenAPI 3 document listing every route with its schemas', async () => {
    h = await build();
    const { res, body } = await call(h.app, 'GET', '/docs/json');
    expect(res.statusCode).toBe(200);
    expect(body.openapi).toMatch(/^3\./);
    expect(body.info.title).toBe('Stepwise API');
    const paths = body.paths as Record<string, Record<string, any>>;
    // Stepwise's own routes (the NOMOS- and AgentOS-compatible ones are checked in test/api/compat-openapi.test.ts).
    const routes = Object.entries(paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => !op.tags?.some((t: string) => t === 'nomos' || t === 'agentos'))
        .map(([m]) => `${m.toUpperCase()} ${p}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /health',
        'GET /agents',
        'GET /agents/{agentId}',
        'GET /agents/{agentId}/graph',
        'POST /agents/validate',
        'POST /ai-sdk/chat',
        'GET /ai-sdk/chat/{id}/stream',
        'POST /sessions',
        'POST /sessions/{sessionId}/messages',
        'GET /sessions/{sessionId}/messages/{messageId}',
        'GET /sessions/{sessionId}/files/{fileId}',
        'GET /sessions/{sessionId}',
        'GET /sessions/{sessionId}/history',
        'GET /sessions/{sessionId}/events',
        'GET /sessions',
        'DELETE /sessions/{sessionId}',
        'PATCH /sessions/{sessionId}',
        'POST /sessions/{sessionId}/approvals/{callId}',
        'POST /sessions/{sessionId}/fork',
        'POST /sessions/{sessionId}/rewind',
        'POST /sessions/{sessionId}/regenerate',
        'POST /sessions/{sessionId}/messages/{messageId}/edit',
        'GET /sessions/{sessionId}/branches',
        'GET /sessions/{sessionId}/branches/{branch}',
      ].sort(),
    );
    // Request schemas come from zod: body fields, required list, limits and the strict-object rule.
    const create = paths['/sessions'].post;
    const bodySchema = create.requestBody.content['application/json'].schema;
    expect(bodySchema.required).toEqual(['agentId']);
    expect(Object.keys(bodySchema.properties).sort()).toEqual(['agentId', 'files', 'initiate', 'message', 'metadata', 'name', 'sessionId', 'userId']);
    expect(bodySchema.additionalProperties).toBe(false);
    expect(bodySchema.properties.message.maxLength).toBe(32_000);
    const send = paths['/sessions/{sessionId}/messages'].post;
    expect(Object.keys(send.responses).sort()).toEqual(['200', '202', '400', '404', '409', '413', '415', '500', '503']);
    expect(send.parameters.map((p: any) => `${p.in}:${p.name}`).sort()).toEqual(['path:sessionId', 'query:wait']);
    // Error replies are documented with the shared error body.
    const errSchema = send.responses['409'].content['application/json'].schema;
    expect(errSchema.properties.error.properties.code.enum).toContain('SESSION_ENDED');
  });

  it('serves the Swagger UI at /docs', async () => {
    h = await build();
    const res = await h.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(res.statusCode);
    const page = res.statusCode === 302 ? await h.app.inject({ method: 'GET', url: res.headers.location as string }) : res;
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger');
  });
});
