/**
 * Auth on the compatibility surfaces: credentials bound to a user are isolated on NOMOS's and AgentOS's routes as on
 * `/sessions` (another user's session is 404, a taken id 409, created sessions carry the caller's user id), and the
 * HS256 tokens of NOMOS's `POST /auth/token` are accepted by the API, bound to their `sub`.
 */
import { decodeJwt, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { nomosOptionsFromEnv } from '../../api/routes/nomos.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { build, call, expectError, expectNomosError, type Harness } from '../support/api.js';
import { boundAuth } from '../support/bound-auth.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const SCRIPT = Array.from({ length: 8 }, (_, i) => ({ action: 'RESPOND' as const, response: `reply ${i}` }));
const SECRET = 'a-test-secret-of-at-least-32-characters!';

async function serve(archive?: InMemoryArchiveStore) {
  return build({
    script: SCRIPT,
    app: { auth: boundAuth(), nomos: nomosOptionsFromEnv({ STEPWISE_NOMOS_TOKEN_SECRET: SECRET }), ...(archive ? { archive } : {}) },
  });
}

/** The user id of session `id`, as an unbound admin sees it. */
async function ownerOf(id: string): Promise<string | undefined> {
  return (await call(h!.app, 'GET', `/sessions/${id}`, undefined, 'admin-key')).body.userId;
}

/** Expects AgentOS's error body `{error, message, code}`. */
function expectAgentOsError(result: { res: { statusCode: number }; body: any }, status: number, code: string) {
  expect(result.res.statusCode).toBe(status);
  expect(Object.keys(result.body).sort()).toEqual(['code', 'error', 'message']);
  expect(result.body.code).toBe(code);
}

describe('user binding on the NOMOS routes', () => {
  it("tags sessions a bound key creates with its user, and hides them from other users' keys", async () => {
    h = await serve();
    const plain = await call(h.app, 'POST', '/session', undefined, 'alice-key');
    const opened = await call(h.app, 'POST', '/session?initiate=true', undefined, 'alice-key');
    const chat = await call(h.app, 'POST', '/chat', { user_input: 'Hi' }, 'alice-key');
    const opening = await call(h.app, 'POST', '/chat', {}, 'alice-key');
    const ids = [plain.body.session_id, opened.body.session_id, chat.body.session_data.session_id, opening.body.session_data.session_id];
    for (const id of ids) expect(await ownerOf(id)).toBe('alice');
    expect(await ownerOf((await call(h.app, 'POST', '/session', undefined, 'admin-key')).body.session_id)).toBeUndefined();

    const decisions = h.executors.decideRequests.length;
    const id = chat.body.session_data.session_id;
    for (const [method, url, payload] of [
      ['POST', `/session/${id}/message`, { content: 'let me in' }],
      ['GET', `/session/${id}/history`, undefined],
      ['DELETE', `/session/${id}`, undefined],
      ['POST', '/chat', { user_input: 'let me in', session_data: { session_id: id } }],
    ] as const) {
      const res = await call(h.app, method, url, payload, 'bob-key');
      expect(expectNomosError(res, 404, 'SESSION_NOT_FOUND').message, `${method} ${url}`).toBe(`session ${id} not found`);
    }
    expect(h.executors.decideRequests).toHaveLength(decisions);
    expect((await call(h.app, 'GET', `/sessions/${id}`, undefined, 'admin-key')).body.status).toBe('active');
    // The owner still drives it, through either surface.
    expect((await call(h.app, 'POST', `/session/${id}/message`, { content: 'again' }, 'alice-key')).res.statusCode).toBe(200);
    const more = await call(h.app, 'POST', '/chat', { user_input: 'more', session_data: { session_id: id } }, 'alice-key');
    expect(more.res.statusCode).toBe(200);
  });
});

describe('user binding on the AgentOS routes', () => {
  it('forces user_id, hides other users’ sessions (404), refuses their ids (409) and filters the list', async () => {
    const archive = new InMemoryArchiveStore();
    h = await serve(archive);
    const created = await call(h.app, 'POST', '/api/v1/sessions', { agent_id: 'test-agent', session_id: 'ag-a', user_id: 'mallory' }, 'alice-key');
    expect(created.res.statusCode).toBe(201);
    expect(created.body.user_id).toBe('alice');
    const run = await call(h.app, 'POST', '/api/v1/agents/test-agent/run', { input: 'hi' }, 'alice-key');
    expect(await ownerOf(run.body.session_id)).toBe('alice');
    const streamed = await h.app.inject({ method: 'POST', url: '/api/v1/agents/test-agent/run/stream', payload: { input: 'hi' }, headers: { authorization: 'Bearer alice-key' } });
    const streamedId = /"session_id":"([^"]+)"/.exec(streamed.body)![1]!;
    expect(await ownerOf(streamedId)).toBe('alice');

    const decisions = h.executors.decideRequests.length;
    for (const [method, url, payload] of [
      ['GET', '/api/v1/sessions/ag-a', undefined],
      ['PUT', '/api/v1/sessions/ag-a', { name: 'mine now' }],
      ['DELETE', '/api/v1/sessions/ag-a', undefined],
      ['POST', '/api/v1/agents/test-agent/run', { input: 'let me in', session_id: 'ag-a' }],
      ['POST', '/api/v1/agents/test-agent/run', { input: 'let me in', session_id: 'ag-a', stream: true }],
      ['POST', '/api/v1/agents/test-agent/run/stream', { input: 'let me in', session_id: 'ag-a' }],
    ] as const) {
      expectAgentOsError(await call(h.app, method, url, payload, 'bob-key'), 404, 'SESSION_NOT_FOUND');
    }
    expectAgentOsError(await call(h.app, 'POST', '/api/v1/sessions', { agent_id: 'test-agent', session_id: 'ag-a' }, 'bob-key'), 409, 'SESSION_EXISTS');
    expect(h.executors.decideRequests).toHaveLength(decisions);
    // Untouched: not renamed, not ended.
    const own = await call(h.app, 'GET', '/api/v1/sessions/ag-a', undefined, 'alice-key');
    expect(own.body).toMatchObject({ session_id: 'ag-a', user_id: 'alice', state: { status: 'active' } });
    expect(own.body.name).toBeUndefined();

    const at = new Date().toISOString();
    await archive.recordSessionStart({ sessionId: 'l-a', agentName: 'test-agent', configHash: 'h', createdAt: at, userId: 'alice' });
    await archive.recordSessionStart({ sessionId: 'l-b', agentName: 'test-agent', configHash: 'h', createdAt: at, userId: 'bob' });
    const listed = await call(h.app, 'GET', '/api/v1/sessions?user_id=alice', undefined, 'bob-key');
    expect(listed.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual(['l-b']);
  });
});

describe('NOMOS tokens (POST /auth/token) on the API', () => {
  it('accepts tokens it issued, bound to their sub; a bound caller only gets its own user', async () => {
    h = await serve();
    const issued = await call(h.app, 'POST', '/auth/token', { sub: 'alice' }, 'admin-key');
    expect(issued.res.statusCode).toBe(200);
    const alice = issued.body.access_token as string;
    expect((await call(h.app, 'GET', '/agents', undefined, alice)).res.statusCode).toBe(200);
    const created = await call(h.app, 'POST', '/session', undefined, alice);
    expect(await ownerOf(created.body.session_id)).toBe('alice');
    const bobs = await call(h.app, 'POST', '/session', undefined, 'bob-key');
    expectNomosError(await call(h.app, 'GET', `/session/${bobs.body.session_id}/history`, undefined, alice), 404, 'SESSION_NOT_FOUND');

    // Bound callers cannot mint tokens for someone else; scopes never exceed the caller's.
    const fromBob = await call(h.app, 'POST', '/auth/token', { sub: 'alice' }, 'bob-key');
    expect(decodeJwt(fromBob.body.access_token)).toMatchObject({ sub: 'bob', scope: 'sessions:read sessions:write' });
    const fromWriter = await call(h.app, 'POST', '/auth/token', {}, 'write-key');
    expect(decodeJwt(fromWriter.body.access_token).scope).toBe('sessions:write');
    expectError(await call(h.app, 'GET', '/agents', undefined, fromWriter.body.access_token), 403, 'FORBIDDEN');
    // Without a credential there is no token; a token signed with another secret is refused.
    expectNomosError(await call(h.app, 'POST', '/auth/token', { sub: 'alice' }), 401, 'UNAUTHORIZED');
    const forged = await new SignJWT({ scope: 'sessions:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-of-at-least-32-characters'));
    expectError(await call(h.app, 'GET', '/agents', undefined, forged), 401, 'UNAUTHORIZED');
  });
});
