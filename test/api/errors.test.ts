import { afterEach, describe, expect, it } from 'vitest';
import { toHttpError } from '../../api/errors.js';
import type { SessionBackend } from '../../api/sessions.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { CallerError, ERROR_CODES, HTTP_STATUS, StepwiseError, SystemError } from '../../src/errors.js';
import { MAX_MESSAGE_CHARS } from '../../workflows/shared.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

async function withSession(): Promise<void> {
  h = await build();
  expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's1' })).res.statusCode).toBe(201);
}

describe('request validation: 400 INVALID_REQUEST with details', () => {
  it('empty and whitespace-only text', async () => {
    await withSession();
    for (const text of ['', '   ']) {
      const err = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text }), 400, 'INVALID_REQUEST');
      expect(err.details.issues).toEqual([{ path: 'body.text', message: 'text must not be empty' }]);
    }
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('text over MAX_MESSAGE_CHARS', async () => {
    await withSession();
    const err = expectError(
      await call(h.app, 'POST', '/sessions/s1/messages', { text: 'x'.repeat(MAX_MESSAGE_CHARS + 1) }),
      400,
      'INVALID_REQUEST',
    );
    expect(err.details.issues[0]).toEqual({ path: 'body.text', message: `text must be at most ${MAX_MESSAGE_CHARS} characters` });
    const ok = await call(h.app, 'POST', '/sessions/s1/messages', { text: 'x'.repeat(MAX_MESSAGE_CHARS) });
    expect(ok.res.statusCode).toBe(200);
  });

  it('unknown body fields', async () => {
    await withSession();
    const err = expectError(
      await call(h.app, 'POST', '/sessions/s1/messages', { text: 'hi', sender: 'me' }),
      400,
      'INVALID_REQUEST',
    );
    expect(err.details.issues).toHaveLength(1);
    expect(err.details.issues[0].path).toBe('body');
    expect(err.details.issues[0].message).toContain('sender');
    const create = expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', agent: 'x' }), 400, 'INVALID_REQUEST');
    expect(create.details.issues[0].message).toContain('agent');
  });

  it('wrong types, missing fields, bad ids and bad query values', async () => {
    await withSession();
    const missing = expectError(await call(h.app, 'POST', '/sessions', {}), 400, 'INVALID_REQUEST');
    expect(missing.details.issues.map((i: { path: string }) => i.path)).toEqual(['body.agentId']);
    const badId = expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 'has space' }), 400, 'INVALID_REQUEST');
    expect(badId.details.issues[0].path).toBe('body.sessionId');
    const badMsgId = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 'hi', messageId: 'a/b' }), 400, 'INVALID_REQUEST');
    expect(badMsgId.details.issues[0].path).toBe('body.messageId');
    const badType = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 42 }), 400, 'INVALID_REQUEST');
    expect(badType.details.issues[0].path).toBe('body.text');
    const longest = 'L'.repeat(128); // the longest valid id is longer than Fastify's default param limit (100)
    expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: longest })).res.statusCode).toBe(201);
    expect((await call(h.app, 'GET', `/sessions/${longest}`)).body.sessionId).toBe(longest);
    const badParam = expectError(await call(h.app, 'GET', `/sessions/${'x'.repeat(129)}`), 400, 'INVALID_REQUEST');
    expect(badParam.details.issues[0].path).toBe('params.sessionId');
    const badQuery = expectError(await call(h.app, 'POST', '/sessions/s1/messages?wait=maybe', { text: 'hi' }), 400, 'INVALID_REQUEST');
    expect(badQuery.details.issues[0].path).toBe('querystring.wait');
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('malformed JSON and an empty JSON body', async () => {
    await withSession();
    const bad = await h.app.inject({
      method: 'POST',
      url: '/sessions/s1/messages',
      headers: { 'content-type': 'application/json' },
      payload: '{"text": "hi",',
    });
    const err = expectError({ res: bad, body: bad.json() }, 400, 'INVALID_REQUEST');
    expect(err.message).toBe('request body is not valid JSON');
    const empty = await h.app.inject({
      method: 'POST',
      url: '/sessions/s1/messages',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expectError({ res: empty, body: empty.json() }, 400, 'INVALID_REQUEST');
  });
});

describe('414 URI_TOO_LONG and 415 UNSUPPORTED_MEDIA_TYPE', () => {
  it('an unsupported content type (text/plain included) is 415 UNSUPPORTED_MEDIA_TYPE naming the supported one', async () => {
    await withSession();
    for (const [contentType, payload] of [['text/xml', '<text>hi</text>'], ['text/plain', 'hi'], ['text/plain; charset=utf-8', '{"text":"hi"}']]) {
      const res = await h.app.inject({ method: 'POST', url: '/sessions/s1/messages', headers: { 'content-type': contentType! }, payload });
      const err = expectError({ res, body: res.json() }, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(err.details).toEqual({ contentType, supported: ['application/json'] });
    }
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('a path parameter over 256 characters is 414 URI_TOO_LONG', async () => {
    h = await build();
    const res = await h.app.inject({ method: 'GET', url: `/sessions/${'a'.repeat(300)}` });
    const err = expectError({ res, body: res.json() }, 414, 'URI_TOO_LONG');
    expect(err.details).toEqual({ maxParamLength: 256 });
  });
});

describe('413 PAYLOAD_TOO_LARGE', () => {
  it('rejects bodies over bodyLimitBytes before parsing them', async () => {
    h = await build({ bodyLimitBytes: 1_000 });
    const { res, body } = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', message: 'y'.repeat(2_000) });
    const err = expectError({ res, body }, 413, 'PAYLOAD_TOO_LARGE');
    expect(err.details).toBeUndefined();
    expect(h.executors.decideRequests).toHaveLength(0);
  });
});

/** A backend whose every session call throws `error` (health works). */
function throwingBackend(error: unknown): SessionBackend {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return {
    health: async () => ({ temporal: 'ok' }),
    start: fail,
    startWithMessage: fail,
    startWithOpening: fail,
    updateInfo: fail,
    turnResult: fail,
    send: fail,
    post: fail,
    state: fail,
    history: fail,
    events: fail,
    end: fail,
    decideApproval: fail,
    close: async () => undefined,
  };
}

describe('backend errors', () => {
  it('an unknown error is 500 INTERNAL and its message does not leak', async () => {
    h = await build({ backend: throwingBackend(new Error('pg: password authentication failed for user admin')) });
    const { res, body } = await call(h.app, 'GET', '/sessions/s1');
    const err = expectError({ res, body }, 500, 'INTERNAL');
    expect(err.message).toBe('internal error');
    expect(res.body).not.toContain('password');
    expect(err.details).toEqual({ requestId: expect.any(String) });
  });

  it('a thrown non-Error value is 500 INTERNAL too', async () => {
    h = await build({ backend: throwingBackend('boom') });
    expectError(await call(h.app, 'DELETE', '/sessions/s1'), 500, 'INTERNAL');
  });

  it.each([
    [new StepwiseError('TURN_FAILED', 'turn failed: model down'), 500, 'TURN_FAILED'],
    [new SystemError('TEMPORAL_UNAVAILABLE', 'Temporal is unavailable'), 503, 'TEMPORAL_UNAVAILABLE'],
    [new CallerError('SESSION_ENDED', 'session s1 has ended', { at: 'x' }), 409, 'SESSION_ENDED'],
  ] as const)('%s keeps its code, status, message and details', async (error, status, code) => {
    h = await build({ backend: throwingBackend(error) });
    const err = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 'hi' }), status, code);
    expect(err.message).toBe(error.message);
    expect(err.details).toEqual(error.details);
  });

  it('a turn that fails inside the real backend is a 500 TURN_FAILED', async () => {
    const exec = scriptedExecutors([]);
    exec.decide = async () => {
      throw new Error('socket hang up');
    };
    h = await build({ backend: new LocalSessions({ executors: () => exec, now: exec.now }) });
    await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 't1' });
    const err = expectError(await call(h.app, 'POST', '/sessions/t1/messages', { text: 'hi' }), 500, 'TURN_FAILED');
    expect(err.message).toContain('socket hang up');
  });
});

describe('logging', () => {
  /** Builds an app whose pino lines go into `lines` (parsed). */
  async function withLog(backend?: SessionBackend) {
    const lines: Array<Record<string, any>> = [];
    const stream = { write: (line: string) => void lines.push(JSON.parse(line)) };
    h = await build({ ...(backend ? { backend } : {}), app: { logger: { level: 'info', stream } } });
    return lines;
  }
  const failed = (lines: Array<Record<string, any>>) => lines.filter((l) => /request (failed|rejected)|unavailable/.test(l.msg));

  it('ARCHIVE_UNAVAILABLE (no archive) is an expected condition: one warn line with code and message, no stack', async () => {
    const lines = await withLog();
    const res = await h.app.inject({ url: '/sessions' });
    expect(res.statusCode).toBe(503);
    const logged = failed(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40, code: 'ARCHIVE_UNAVAILABLE', message: expect.stringContaining('archive is off') });
    expect(JSON.stringify(logged[0])).not.toContain('stack');
  });

  it('expected overload (429 RATE_LIMITED, e.g. a message never sent before its deadline) is one warn line, no stack', async () => {
    const lines = await withLog(throwingBackend(new StepwiseError('RATE_LIMITED', 'too many messages in flight for session s1', { retryAfterSeconds: 1 })));
    const res = await h.app.inject({ url: '/sessions/s1' });
    expect([res.statusCode, res.headers['retry-after']]).toEqual([429, '1']);
    const logged = lines.filter((l) => l.msg === 'overloaded');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40, code: 'RATE_LIMITED' });
    expect(JSON.stringify(logged[0])).not.toContain('stack');
  });

  it('a real bug (500 INTERNAL) stays at error level with its stack', async () => {
    const lines = await withLog(throwingBackend(new Error('boom')));
    expect((await h.app.inject({ url: '/sessions/s1' })).statusCode).toBe(500);
    const logged = failed(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, code: 'INTERNAL', err: { message: 'boom', stack: expect.stringContaining('Error: boom') } });
  });
});

describe('toHttpError', () => {
  it('gives every error code its HTTP status', () => {
    for (const code of ERROR_CODES) {
      const { status, body } = toHttpError(new StepwiseError(code, `m ${code}`));
      expect(status).toBe(HTTP_STATUS[code]);
      expect(body).toEqual({ error: { code, message: `m ${code}` } });
    }
  });

  it('maps framework 401/404/429 statuses to their codes', () => {
    const fw = (statusCode: number) => Object.assign(new Error('framework says no'), { statusCode });
    expect(toHttpError(fw(401)).body.error.code).toBe('UNAUTHORIZED');
    expect(toHttpError(fw(404)).body.error.code).toBe('NOT_FOUND');
    expect(toHttpError(fw(429)).body.error.code).toBe('RATE_LIMITED');
    expect(toHttpError(fw(400)).body.error.message).toBe('request rejected (HTTP 400)'); // not a Fastify error: hidden
    expect(toHttpError(Object.assign(fw(415), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), 'r1', 'text/csv').body.error).toEqual({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'unsupported media type text/csv: send application/json',
      details: { contentType: 'text/csv', supported: ['application/json'] },
    });
    expect(toHttpError(fw(414)).body.error.code).toBe('URI_TOO_LONG'); // a plugin's 414
    expect(toHttpError(new SyntaxError('Unexpected token')).status).toBe(500);
    expect(toHttpError(fw(503))).toEqual({ status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } });
  });
});
