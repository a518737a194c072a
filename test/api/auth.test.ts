import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { hashApiKey } from '../../api/auth/keys.js';
import { loadApiConfig } from '../../api/config.js';
import type { AuthOptions } from '../../api/plugins/auth.js';
import { runApiFromEnv } from '../../cli/api.js';
import { build, expectError, type Harness } from '../support/api.js';
import { type JwksServer, startJwksServer } from '../support/jwks-server.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

/** `inject` with an optional bearer credential; parses the JSON body when there is one. */
async function as(app: FastifyInstance, credential: string | undefined, method: InjectOptions['method'], url: string, payload?: object) {
  const res = await app.inject({
    method,
    url,
    ...(credential === undefined ? {} : { headers: { authorization: `Bearer ${credential}` } }),
    ...(payload ? { payload } : {}),
  });
  let body: any;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  return { res, body };
}

function keysFile(entries: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-keys-'));
  const path = join(dir, 'keys.yaml');
  writeFileSync(path, JSON.stringify(entries));
  return path;
}

/** Auth from a keys file: a reader, a writer, an admin. */
function fileAuth(): AuthOptions {
  const path = keysFile([
    { id: 'reader', hash: hashApiKey('read-key'), scopes: ['sessions:read'] },
    { id: 'writer', hash: hashApiKey('write-key'), scopes: ['sessions:read', 'sessions:write'] },
    { id: 'ops', hash: hashApiKey('admin-key'), scopes: ['admin'] },
  ]);
  return loadApiConfig({ STEPWISE_API_KEYS_FILE: path }).auth!;
}

/** Builds the app with `auth` and one extra route declaring the `admin` scope (as the codec routes do). */
async function buildWithAuth(auth: AuthOptions): Promise<Harness> {
  const harness = await build({ app: { auth } });
  harness.app.get('/test/admin-only', { config: { scope: 'admin' } }, async () => ({ ok: true }));
  return harness;
}

describe('API keys (STEPWISE_API_KEYS)', () => {
  it('401 UNAUTHORIZED without a credential or with a wrong one; 200 with a configured key', async () => {
    h = await buildWithAuth(loadApiConfig({ STEPWISE_API_KEYS: 'k-one, k-two' }).auth!);
    const missing = await as(h.app, undefined, 'GET', '/agents');
    expect(expectError(missing, 401, 'UNAUTHORIZED').message).toMatch(/missing authorization header/);
    expect(missing.res.headers['www-authenticate']).toBe('Bearer');
    expectError(await as(h.app, 'k-three', 'GET', '/agents'), 401, 'UNAUTHORIZED');
    expectError(await as(h.app, 'K-ONE', 'POST', '/sessions', { agentId: 'test-agent' }), 401, 'UNAUTHORIZED');
    const basic = await h.app.inject({ method: 'GET', url: '/agents', headers: { authorization: 'Basic azpv' } });
    expectError({ res: basic, body: basic.json() }, 401, 'UNAUTHORIZED');
    expect((await as(h.app, 'k-one', 'GET', '/agents')).res.statusCode).toBe(200);
    // Plain keys have every scope.
    expect((await as(h.app, 'k-two', 'POST', '/sessions', { agentId: 'test-agent' })).res.statusCode).toBe(201);
    expect((await as(h.app, 'k-two', 'GET', '/test/admin-only')).res.statusCode).toBe(200);
  });

  it('keeps /health and /docs open, and unknown routes closed', async () => {
    h = await buildWithAuth(loadApiConfig({ STEPWISE_API_KEYS: 'k-one' }).auth!);
    expect((await as(h.app, undefined, 'GET', '/health')).res.statusCode).toBe(200);
    expect((await as(h.app, undefined, 'GET', '/health?probe=1')).res.statusCode).toBe(200);
    const docs = await as(h.app, undefined, 'GET', '/docs/json');
    expect(docs.res.statusCode).toBe(200);
    expect(docs.body.openapi).toBe('3.1.0');
    const ui = await h.app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBeLessThan(400);
    expect((await h.app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })).statusCode).toBe(200);
    expectError(await as(h.app, undefined, 'GET', '/nothing-here'), 401, 'UNAUTHORIZED');
    expectError(await as(h.app, 'k-one', 'GET', '/nothing-here'), 404, 'NOT_FOUND');
  });
});

describe('hashed keys file (STEPWISE_API_KEYS_FILE) and scopes', () => {
  it('403 FORBIDDEN when the key lacks the route scope (GET needs sessions:read, others sessions:write)', async () => {
    h = await buildWithAuth(fileAuth());
    expect((await as(h.app, 'read-key', 'GET', '/agents')).res.statusCode).toBe(200);
    const denied = expectError(await as(h.app, 'read-key', 'POST', '/sessions', { agentId: 'test-agent' }), 403, 'FORBIDDEN');
    expect(denied.details).toEqual({ requiredScope: 'sessions:write' });
    expect(h.executors.decideRequests).toHaveLength(0);
    expect((await as(h.app, 'write-key', 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-1' })).res.statusCode).toBe(201);
    expect((await as(h.app, 'read-key', 'GET', '/sessions/s-1')).res.statusCode).toBe(200);
    expectError(await as(h.app, 'read-key', 'DELETE', '/sessions/s-1'), 403, 'FORBIDDEN');
  });

  it('honours a scope declared by the route (admin), which admin keys satisfy along with every other scope', async () => {
    h = await buildWithAuth(fileAuth());
    expect(expectError(await as(h.app, 'write-key', 'GET', '/test/admin-only'), 403, 'FORBIDDEN').details).toEqual({
      requiredScope: 'admin',
    });
    expect((await as(h.app, 'admin-key', 'GET', '/test/admin-only')).body).toEqual({ ok: true });
    expect((await as(h.app, 'admin-key', 'POST', '/sessions', { agentId: 'test-agent' })).res.statusCode).toBe(201);
  });

  it('rejects a malformed keys file at startup with INVALID_CONFIG naming the problem', () => {
    const bad = keysFile([{ id: 'a', hash: 'md5:abc', scopes: ['sessions:read'] }]);
    expect(() => loadApiConfig({ STEPWISE_API_KEYS_FILE: bad })).toThrow(/STEPWISE_API_KEYS_FILE .*0\.hash: expected "sha256:"/);
    const badScope = keysFile([{ id: 'a', hash: hashApiKey('x'), scopes: ['root'] }]);
    expect(() => loadApiConfig({ STEPWISE_API_KEYS_FILE: badScope })).toThrow(/0\.scopes\.0/);
    expect(() => loadApiConfig({ STEPWISE_API_KEYS_FILE: '/nonexistent/keys.yaml' })).toThrow(/ENOENT/);
    expect(() => loadApiConfig({ STEPWISE_JWT_ISSUER: 'https://idp' })).toThrow(/STEPWISE_JWT_JWKS_URL is required/);
  });

  it('stepwise api refuses to start without credentials unless STEPWISE_AUTH=off', async () => {
    await expect(runApiFromEnv({ STEPWISE_AGENTS: 'examples' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/no credentials configured.*STEPWISE_AUTH=off/),
    });
  });
});

describe('JWTs verified against a JWKS (STEPWISE_JWT_*)', () => {
  let idp: JwksServer;
  beforeAll(async () => {
    idp = await startJwksServer();
  });
  afterAll(async () => {
    await idp.close();
  });

  function jwtAuth(extra: Record<string, string> = {}): AuthOptions {
    return loadApiConfig({
      STEPWISE_JWT_JWKS_URL: idp.jwksUrl,
      STEPWISE_JWT_ISSUER: idp.issuer,
      STEPWISE_JWT_AUDIENCE: 'stepwise-api',
      ...extra,
    }).auth!;
  }

  it('accepts a valid token and takes its scopes from `scope` or `scp`', async () => {
    h = await buildWithAuth(jwtAuth());
    const rw = await idp.sign({ sub: 'alice', aud: 'stepwise-api', scope: 'openid sessions:read sessions:write' });
    expect((await as(h.app, rw, 'GET', '/agents')).res.statusCode).toBe(200);
    expect((await as(h.app, rw, 'POST', '/sessions', { agentId: 'test-agent' })).res.statusCode).toBe(201);
    expectError(await as(h.app, rw, 'GET', '/test/admin-only'), 403, 'FORBIDDEN');
    const admin = await idp.sign({ sub: 'ops', aud: ['other', 'stepwise-api'], scp: ['admin'] });
    expect((await as(h.app, admin, 'GET', '/test/admin-only')).res.statusCode).toBe(200);
    const none = await idp.sign({ sub: 'bob', aud: 'stepwise-api' });
    expectError(await as(h.app, none, 'GET', '/agents'), 403, 'FORBIDDEN');
    expect(idp.fetches()).toBeGreaterThanOrEqual(1);
  });

  it('401 for expired, wrong-audience, wrong-issuer, unknown-key and garbage tokens', async () => {
    h = await buildWithAuth(jwtAuth());
    const claims = { sub: 'alice', aud: 'stepwise-api', scope: 'sessions:read' };
    const rejected = [
      await idp.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
      await idp.sign({ ...claims, aud: 'someone-else' }),
      await idp.sign(claims, { issuer: 'https://evil.example/' }),
      await idp.sign(claims, { unpublishedKey: true }),
      'aaa.bbb.ccc',
    ];
    for (const token of rejected) expectError(await as(h.app, token, 'GET', '/agents'), 401, 'UNAUTHORIZED');
    // A tampered payload fails the signature.
    const good = await idp.sign(claims);
    const [head, , sig] = good.split('.');
    const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin', iss: idp.issuer, exp: 9e9 })).toString('base64url')}.${sig}`;
    expectError(await as(h.app, forged, 'GET', '/agents'), 401, 'UNAUTHORIZED');
    expect((await as(h.app, good, 'GET', '/agents')).res.statusCode).toBe(200);
  });

  it('accepts API keys beside JWTs', async () => {
    h = await buildWithAuth({ ...jwtAuth(), keys: loadApiConfig({ STEPWISE_API_KEYS: 'k-one' }).auth!.keys });
    expect((await as(h.app, 'k-one', 'GET', '/agents')).res.statusCode).toBe(200);
    const token = await idp.sign({ sub: 'alice', aud: 'stepwise-api', scope: 'sessions:read' });
    expect((await as(h.app, token, 'GET', '/agents')).res.statusCode).toBe(200);
  });

  it('401 when the JWKS cannot be fetched (never 500)', async () => {
    h = await buildWithAuth({ keys: [], jwt: { jwksUrl: `${idp.issuer}missing-jwks.json`, audience: 'stepwise-api' } });
    const token = await idp.sign({ sub: 'alice', aud: 'stepwise-api', scope: 'sessions:read' });
    expectError(await as(h.app, token, 'GET', '/agents'), 401, 'UNAUTHORIZED');
  });
});

describe('JWT audience (STEPWISE_JWT_AUDIENCE)', () => {
  let idp: JwksServer;
  beforeAll(async () => {
    idp = await startJwksServer();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('refuses to start with a JWKS URL and no audience, naming the variable and the opt-out', () => {
    let err: unknown;
    try {
      loadApiConfig({ STEPWISE_JWT_JWKS_URL: idp.jwksUrl, STEPWISE_JWT_ISSUER: idp.issuer });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/STEPWISE_JWT_AUDIENCE is required.*STEPWISE_JWT_AUDIENCE=\*/) });
  });

  it('401 for a token issued for another audience (or none) when the audience is set', async () => {
    h = await buildWithAuth(loadApiConfig({ STEPWISE_JWT_JWKS_URL: idp.jwksUrl, STEPWISE_JWT_AUDIENCE: 'stepwise-api' }).auth!);
    for (const claims of [{ aud: 'another-api' }, { aud: ['a', 'b'] }, {}]) {
      const token = await idp.sign({ sub: 'alice', scope: 'sessions:read', ...claims });
      expectError(await as(h.app, token, 'GET', '/agents'), 401, 'UNAUTHORIZED');
    }
    const ours = await idp.sign({ sub: 'alice', scope: 'sessions:read', aud: 'stepwise-api' });
    expect((await as(h.app, ours, 'GET', '/agents')).res.statusCode).toBe(200);
  });

  it('STEPWISE_JWT_AUDIENCE=* turns the check off deliberately, with a startup warning', async () => {
    const config = loadApiConfig({ STEPWISE_JWT_JWKS_URL: idp.jwksUrl, STEPWISE_JWT_AUDIENCE: '*' });
    expect(config.warnings).toEqual([expect.stringMatching(/STEPWISE_JWT_AUDIENCE=\*.*any audience/)]);
    expect(loadApiConfig({ STEPWISE_JWT_JWKS_URL: idp.jwksUrl, STEPWISE_JWT_AUDIENCE: 'stepwise-api' }).warnings).toBeUndefined();
    h = await buildWithAuth(config.auth!);
    const token = await idp.sign({ sub: 'alice', scope: 'sessions:read', aud: 'another-api' });
    expect((await as(h.app, token, 'GET', '/agents')).res.statusCode).toBe(200);
  });
});

describe('user binding (keys file user_id)', () => {
  function boundAuth(): AuthOptions {
    const path = keysFile([
      { id: 'alice-app', hash: hashApiKey('alice-key'), scopes: ['sessions:read', 'sessions:write'], user_id: 'alice' },
      { id: 'bob-app', hash: hashApiKey('bob-key'), scopes: ['sessions:read', 'sessions:write'], user_id: 'bob' },
      { id: 'ops', hash: hashApiKey('admin-key'), scopes: ['admin'] },
    ]);
    return loadApiConfig({ STEPWISE_API_KEYS_FILE: path }).auth!;
  }

  it('forces the userId of sessions a bound key creates', async () => {
    h = await build({ app: { auth: boundAuth() } });
    const created = await as(h.app, 'alice-key', 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-a', userId: 'mallory' });
    expect(created.res.statusCode).toBe(201);
    const state = await as(h.app, 'alice-key', 'GET', '/sessions/s-a');
    expect(state.body).toMatchObject({ sessionId: 's-a', userId: 'alice' });
    // Unbound keys keep the userId they give.
    await as(h.app, 'admin-key', 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-admin', userId: 'carol' });
    expect((await as(h.app, 'admin-key', 'GET', '/sessions/s-admin')).body.userId).toBe('carol');
  });

  it("answers 404 SESSION_NOT_FOUND for another user's session on every session route", async () => {
    h = await build({ app: { auth: boundAuth() } });
    await as(h.app, 'alice-key', 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-a', message: 'hi' });
    await as(h.app, 'admin-key', 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-nobody' });
    const decisions = h.executors.decideRequests.length;
    for (const sessionId of ['s-a', 's-nobody']) {
      for (const [method, path, payload] of [
        ['GET', ''],
        ['GET', '/history'],
        ['GET', '/events'],
        ['GET', '/messages/:first'],
        ['POST', '/messages', { text: 'let me in' }],
        ['PATCH', '', { name: 'mine now' }],
        ['DELETE', ''],
      ] as const) {
        const res = await as(h.app, 'bob-key', method, `/sessions/${sessionId}${path}`, payload);
        expect(expectError(res, 404, 'SESSION_NOT_FOUND').message, `${method} ${path}`).toBe(`session ${sessionId} not found`);
      }
    }
    expect(h.executors.decideRequests).toHaveLength(decisions);
    // Starting a session under a taken id never hands back the other user's first turn.
    expectError(await as(h.app, 'bob-key', 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-a', message: 'hi' }), 409, 'SESSION_EXISTS');
    // The owner and unbound keys still reach it; the session is untouched.
    const own = await as(h.app, 'alice-key', 'GET', '/sessions/s-a');
    expect(own.body).toMatchObject({ status: 'active', turns: 1, userId: 'alice' });
    expect((await as(h.app, 'admin-key', 'GET', '/sessions/s-a')).res.statusCode).toBe(200);
    expect((await as(h.app, 'alice-key', 'POST', '/sessions/s-a/messages', { text: 'again' })).res.statusCode).toBe(200);
  });

  it('lists only the caller’s sessions', async () => {
    const archive = new InMemoryArchiveStore();
    h = await build({ app: { auth: boundAuth(), archive } });
    for (const [sessionId, userId] of [['s-a1', 'alice'], ['s-a2', 'alice'], ['s-b1', 'bob'], ['s-x', undefined]] as const) {
      await archive.recordSessionStart({ sessionId, agentName: 'test-agent', configHash: 'h', createdAt: new Date().toISOString(), ...(userId ? { userId } : {}) });
    }
    const ids = async (key: string, query = '') =>
      (await as(h!.app, key, 'GET', `/sessions${query}`)).body.sessions.map((s: { sessionId: string }) => s.sessionId).sort();
    expect(await ids('alice-key')).toEqual(['s-a1', 's-a2']);
    expect(await ids('alice-key', '?userId=bob')).toEqual(['s-a1', 's-a2']);
    expect(await ids('bob-key')).toEqual(['s-b1']);
    expect(await ids('admin-key')).toEqual(['s-a1', 's-a2', 's-b1', 's-x']);
    // An archived (workflow gone) session of another user is hidden too.
    expectError(await as(h.app, 'bob-key', 'GET', '/sessions/s-a1'), 404, 'SESSION_NOT_FOUND');
    expect((await as(h.app, 'alice-key', 'GET', '/sessions/s-a1')).body).toMatchObject({ sessionId: 's-a1', source: 'archive' });
  });
});

describe('user binding (JWT claim)', () => {
  it('binds tokens to the STEPWISE_JWT_USER_CLAIM claim', async () => {
    const idp = await startJwksServer();
    try {
      const auth = loadApiConfig({ STEPWISE_JWT_JWKS_URL: idp.jwksUrl, STEPWISE_JWT_AUDIENCE: 'stepwise-api', STEPWISE_JWT_USER_CLAIM: 'sub' }).auth!;
      h = await build({ app: { auth } });
      const alice = await idp.sign({ sub: 'alice', aud: 'stepwise-api', scope: 'sessions:read sessions:write' });
      const bob = await idp.sign({ sub: 'bob', aud: 'stepwise-api', scope: 'sessions:read sessions:write' });
      expect((await as(h.app, alice, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's-j' })).res.statusCode).toBe(201);
      expect((await as(h.app, alice, 'GET', '/sessions/s-j')).body.userId).toBe('alice');
      expectError(await as(h.app, bob, 'GET', '/sessions/s-j'), 404, 'SESSION_NOT_FOUND');
      const anonymous = await idp.sign({ aud: 'stepwise-api', scope: 'sessions:read' });
      expectError(await as(h.app, anonymous, 'GET', '/agents'), 401, 'UNAUTHORIZED');
    } finally {
      await idp.close();
    }
  });
});

describe('isOpenPath', () => {
  it('opens health, docs and the web app files only', async () => {
    const { isOpenPath } = await import('../../api/plugins/auth.js');
    for (const p of ['/health', '/docs', '/docs/json', '/docs/*', '/', '/favicon.ico', '/favicon.svg', '/assets/x.js', '/app', '/app/sessions', '/app.js', '/app*']) {
      expect(isOpenPath(p), p).toBe(true);
    }
    for (const p of ['/healthz', '/docsx', '/approvals', '/apps', '/sessions', '/agents', '/codec/encode', '//health', '/favicon.png']) {
      expect(isOpenPath(p), p).toBe(false);
    }
  });
});
