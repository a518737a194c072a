/** The NOMOS- and AgentOS-compatible routes are documented in OpenAPI under their own tags. */
import { afterEach, describe, expect, it } from 'vitest';
import { build, call, type Harness } from '../support/api.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

describe('OpenAPI of the compatible APIs', () => {
  it('lists the NOMOS routes under `nomos` and the AgentOS routes under `agentos`', async () => {
    h = await build();
    const { body } = await call(h.app, 'GET', '/docs/json');
    const tagged = (tag: string) =>
      Object.entries(body.paths as Record<string, Record<string, { tags?: string[] }>>)
        .flatMap(([p, ops]) => Object.entries(ops).filter(([, op]) => op.tags?.includes(tag)).map(([m]) => `${m.toUpperCase()} ${p}`))
        .sort();
    expect(tagged('nomos')).toEqual(
      ['POST /session', 'POST /session/{id}/message', 'GET /session/{id}/history', 'DELETE /session/{id}', 'POST /chat', 'POST /auth/token'].sort(),
    );
    expect(tagged('agentos')).toEqual(
      [
        'GET /api/v1/agents',
        'POST /api/v1/sessions',
        'GET /api/v1/sessions',
        'GET /api/v1/sessions/{id}',
        'PUT /api/v1/sessions/{id}',
        'DELETE /api/v1/sessions/{id}',
        'POST /api/v1/agents/{id}/run',
        'POST /api/v1/agents/{id}/run/stream',
      ].sort(),
    );
    const chat = body.paths['/chat'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(chat.properties).sort()).toEqual(['session_data', 'user_input']);
    const run = body.paths['/api/v1/agents/{id}/run'].post;
    expect(Object.keys(run.responses['200'].content['application/json'].schema.properties).sort()).toEqual(['content', 'metadata', 'run_id', 'session_id', 'status']);
    expect(Object.keys(run.responses['404'].content['application/json'].schema.properties).sort()).toEqual(['code', 'error', 'message']);
  });
});
