/**
 * Files in messages over HTTP (docs/rest-api.md "Files and images"), on the real app with the in-process backend and
 * the in-memory archive: JSON `files` (base64 data, URLs), `multipart/form-data`, AI SDK `file` parts through AI SDK's
 * own client, the limits (413 FILE_TOO_LARGE, 415 UNSUPPORTED_FILE_TYPE, 400), a model that takes no files (400
 * FILES_NOT_SUPPORTED), no archive (503 FILE_STORAGE_UNAVAILABLE), and `GET /sessions/:id/files/:fileId`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { DEFAULT_FILE_LIMITS, type FileLimits, fileLimitsFromEnv } from '../../api/files/limits.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { testAgent } from '../support/agents.js';
import { chatTransport, listen, TestChat } from '../support/ai-chat.js';
import { boundAuth } from '../support/bound-auth.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { multipartBody, PDF_MINIMAL, PNG_1X1 } from '../support/model-attachments.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

/** An agent on a provider that takes files (the scripted executors stand in for the model). */
const visionAgent = (): AgentSnapshot => testAgent({ llms: { global: { provider: 'openai', model: 'gpt-4o' } } });
const PNG_B64 = PNG_1X1.toString('base64');
const REPLY = { action: 'RESPOND', response: 'I see it.' };

async function serve(options: { agent?: AgentSnapshot; archive?: boolean; files?: FileLimits; auth?: boolean } = {}) {
  h = await build({
    agents: [options.agent ?? visionAgent()],
    script: Array.from({ length: 10 }, () => REPLY),
    app: {
      ...(options.archive === false ? {} : { archive: new InMemoryArchiveStore() }),
      ...(options.files ? { files: options.files } : {}),
      ...(options.auth ? { auth: boundAuth() } : {}),
    },
  });
}

async function startSession(id = 's1', credential?: string) {
  const started = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: id }, credential);
  expect(started.res.statusCode).toBe(201);
}

/** The prompt's last user message of the newest decide request. */
const lastUserMessage = () => h.executors.decideRequests.at(-1)!.messages.filter((m) => m.role === 'user').at(-1)!;

async function postMultipart(app: FastifyInstance, url: string, body: Awaited<ReturnType<typeof multipartBody>>): Promise<{ res: LightMyRequestResponse; body: any }> {
  const res = await app.inject({ method: 'POST', url, ...body });
  return { res, body: res.json() };
}

describe('POST /sessions/:id/messages with files', () => {
  it('JSON base64 data: stored in the archive, the turn and the prompt carry a reference, GET serves the bytes', async () => {
    await serve();
    await startSession();
    const sent = await call(h.app, 'POST', '/sessions/s1/messages', { text: 'what is this?', messageId: 'm1', files: [{ mediaType: 'image/png', name: 'cat.png', data: PNG_B64 }] });
    expect(sent.res.statusCode).toBe(200);
    const [ref] = lastUserMessage().files!;
    expect(ref).toEqual({ fileId: expect.stringMatching(/^f-[0-9a-f]{32}$/), mediaType: 'image/png', name: 'cat.png', size: PNG_1X1.length });
    expect(sent.body.events.find((e: any) => e.type === 'user_message').files).toEqual([ref]);
    expect(sent.res.body).not.toContain(PNG_B64.slice(0, 40));

    const got = await h.app.inject({ method: 'GET', url: `/sessions/s1/files/${ref!.fileId}` });
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, PNG_1X1)).toBe(0);
    expect(got.headers).toMatchObject({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-disposition': `inline; filename="cat.png"; filename*=UTF-8''cat.png`,
    });
    expect(got.headers['content-security-policy']).toContain('sandbox');
    // Another session has no such file.
    await startSession('s2');
    expectError(await call(h.app, 'GET', `/sessions/s2/files/${ref!.fileId}`), 404, 'NOT_FOUND');
  });

  it('the same bytes again (a retried message, multipart this time) are the same file: stored once', async () => {
    await serve();
    await startSession();
    await call(h.app, 'POST', '/sessions/s1/messages', { text: 'one', messageId: 'm1', files: [{ mediaType: 'image/png', data: PNG_B64 }] });
    const first = lastUserMessage().files![0]!;
    const form = await multipartBody({ text: 'two', messageId: 'm2' }, [{ name: 'cat.png', type: 'image/png', bytes: PNG_1X1 }, { name: 'menu.pdf', type: 'application/pdf', bytes: PDF_MINIMAL }]);
    const sent = await postMultipart(h.app, '/sessions/s1/messages', form);
    expect(sent.res.statusCode).toBe(200);
    expect(sent.body.reply).toBe('I see it.');
    const files = lastUserMessage().files!;
    expect(lastUserMessage().content).toBe('two');
    expect(files.map((f) => [f.fileId, f.mediaType, f.name])).toEqual([
      [first.fileId, 'image/png', 'cat.png'],
      [expect.stringMatching(/^f-/), 'application/pdf', 'menu.pdf'],
    ]);
    const pdf = await h.app.inject({ method: 'GET', url: `/sessions/s1/files/${files[1]!.fileId}` });
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.headers['content-disposition']).toBe(`inline; filename="menu.pdf"; filename*=UTF-8''menu.pdf`);
    expect(pdf.headers['content-security-policy']).not.toContain('sandbox'); // PDF viewers do not run sandboxed
    expect(pdf.headers['x-content-type-options']).toBe('nosniff');
    expect(Buffer.compare(pdf.rawPayload, PDF_MINIMAL)).toBe(0);
  });

  it('a URL is passed as given (no archive needed) with a stable id; POST /sessions takes files with its first message', async () => {
    await serve({ archive: false });
    const url = 'https://images.example.com/cat.png';
    const started = await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's1', message: 'look', files: [{ mediaType: 'image/png', url }] });
    expect(started.res.statusCode).toBe(201);
    const ref = lastUserMessage().files![0]!;
    expect(ref).toEqual({ fileId: expect.stringMatching(/^u-[0-9a-f]{32}$/), mediaType: 'image/png', url });
    await call(h.app, 'POST', '/sessions/s1/messages', { text: 'again', files: [{ mediaType: 'image/png', url }] });
    expect(lastUserMessage().files![0]!.fileId).toBe(ref.fileId);
    // Inline bytes need the archive: 503, with a hint to send a URL.
    const inline = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 'x', files: [{ mediaType: 'image/png', data: PNG_B64 }] }), 503, 'FILE_STORAGE_UNAVAILABLE');
    expect(inline.message).toMatch(/send files by URL/);
    expectError(await call(h.app, 'GET', `/sessions/s1/files/${ref.fileId}`), 503, 'FILE_STORAGE_UNAVAILABLE');
    expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', files: [{ mediaType: 'image/png', url }] }), 400, 'INVALID_REQUEST');
  });
});

describe('time travel keeps a message\'s files', () => {
  it('regenerate sends the same files again; an edit changes the text and keeps them', async () => {
    await serve();
    await startSession();
    const url = 'https://images.example.com/cat.png';
    await call(h.app, 'POST', '/sessions/s1/messages', { text: 'what is this?', messageId: 'm1', files: [{ mediaType: 'image/png', url }, { mediaType: 'image/png', data: PNG_B64 }] });
    const sent = lastUserMessage().files!;
    expect(sent).toHaveLength(2);
    const again = await call(h.app, 'POST', '/sessions/s1/regenerate');
    expect(again.res.statusCode, again.res.body).toBe(200);
    expect(lastUserMessage()).toEqual({ role: 'user', content: 'what is this?', files: sent });
    const edited = await call(h.app, 'POST', '/sessions/s1/messages/m1/edit', { text: 'and now?', newMessageId: 'm1b' });
    expect(edited.res.statusCode, edited.res.body).toBe(200);
    expect(lastUserMessage()).toEqual({ role: 'user', content: 'and now?', files: sent });
  });
});

describe('limits and refusals (nothing reaches the session)', () => {
  const small: FileLimits = { ...DEFAULT_FILE_LIMITS, maxFileBytes: 64, maxFilesPerMessage: 2 };

  it('413 FILE_TOO_LARGE for JSON and multipart, with the limit in details', async () => {
    await serve({ files: small });
    await startSession();
    const json = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 'x', files: [{ mediaType: 'image/png', data: PNG_B64 }] }), 413, 'FILE_TOO_LARGE');
    expect(json.details).toEqual({ maxFileBytes: 64 });
    const form = await multipartBody({ text: 'x' }, [{ name: 'cat.png', type: 'image/png', bytes: PNG_1X1 }]);
    expect(expectError(await postMultipart(h.app, '/sessions/s1/messages', form), 413, 'FILE_TOO_LARGE').details).toEqual({ maxFileBytes: 64 });
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('415 UNSUPPORTED_FILE_TYPE for a type outside STEPWISE_ALLOWED_FILE_TYPES, JSON and multipart', async () => {
    await serve();
    await startSession();
    const json = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 'x', files: [{ mediaType: 'text/html', data: 'PGI+' }] }), 415, 'UNSUPPORTED_FILE_TYPE');
    expect(json.details).toEqual({ mediaType: 'text/html', allowed: DEFAULT_FILE_LIMITS.allowedTypes });
    const form = await multipartBody({ text: 'x' }, [{ name: 'page.html', type: 'text/html', bytes: Buffer.from('<b>') }]);
    expectError(await postMultipart(h.app, '/sessions/s1/messages', form), 415, 'UNSUPPORTED_FILE_TYPE');
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('400 INVALID_REQUEST: bad base64, url and data together, a non-http URL, too many files, unknown multipart fields', async () => {
    await serve({ files: small });
    await startSession();
    const send = (files: unknown[]) => call(h.app, 'POST', '/sessions/s1/messages', { text: 'x', files });
    expectError(await send([{ mediaType: 'image/png', data: 'not base64!' }]), 400, 'INVALID_REQUEST');
    expectError(await send([{ mediaType: 'image/png', data: 'AA==', url: 'https://a.example/x.png' }]), 400, 'INVALID_REQUEST');
    expectError(await send([{ mediaType: 'image/png', url: 'ftp://a.example/x.png' }]), 400, 'INVALID_REQUEST');
    expectError(await send([{ mediaType: 'image/png', data: 'AA==', bytes: 'x' }]), 400, 'INVALID_REQUEST');
    const many = Array.from({ length: 3 }, () => ({ mediaType: 'image/png', url: 'https://a.example/x.png' }));
    expect(expectError(await send(many), 400, 'INVALID_REQUEST').details).toEqual({ maxFilesPerMessage: 2 });
    const tooMany = await multipartBody({ text: 'x' }, Array.from({ length: 3 }, (_, i) => ({ name: `${i}.png`, type: 'image/png', bytes: Buffer.from([i]) })));
    expectError(await postMultipart(h.app, '/sessions/s1/messages', tooMany), 400, 'INVALID_REQUEST');
    // Other routes refuse multipart as any non-JSON body: 415.
    expect(expectError(await postMultipart(h.app, '/sessions', await multipartBody({ agentId: 'test-agent' }, [])), 415, 'UNSUPPORTED_MEDIA_TYPE').details).toMatchObject({ supported: ['application/json'] });
    const unknown = await multipartBody({ text: 'x', colour: 'red' }, []);
    expect(expectError(await postMultipart(h.app, '/sessions/s1/messages', unknown), 400, 'INVALID_REQUEST').message).toMatch(/colour/);
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('400 FILES_NOT_SUPPORTED when the agent\'s model takes no files (scripted); text-only messages still work', async () => {
    await serve({ agent: testAgent() });
    await startSession();
    const err = expectError(await call(h.app, 'POST', '/sessions/s1/messages', { text: 'x', files: [{ mediaType: 'image/png', url: 'https://a.example/x.png' }] }), 400, 'FILES_NOT_SUPPORTED');
    expect(err.details).toEqual({ provider: 'scripted' });
    expect((await call(h.app, 'POST', '/sessions/s1/messages', { text: 'hi' })).res.statusCode).toBe(200);
  });

  it('a user-bound credential reads only its own sessions\' files (404 SESSION_NOT_FOUND for another user\'s)', async () => {
    await serve({ auth: true });
    await startSession('alice-1', 'alice-key');
    await call(h.app, 'POST', '/sessions/alice-1/messages', { text: 'mine', files: [{ mediaType: 'image/png', data: PNG_B64 }] }, 'alice-key');
    const { fileId } = lastUserMessage().files![0]!;
    expect((await h.app.inject({ method: 'GET', url: `/sessions/alice-1/files/${fileId}`, headers: { authorization: 'Bearer alice-key' } })).statusCode).toBe(200);
    expectError(await call(h.app, 'GET', `/sessions/alice-1/files/${fileId}`, undefined, 'bob-key'), 404, 'SESSION_NOT_FOUND');
    expectError(await call(h.app, 'GET', `/sessions/alice-1/files/${fileId}`), 401, 'UNAUTHORIZED');
  });

  it('limits come from the environment, with clear errors for bad values', () => {
    expect(fileLimitsFromEnv({})).toEqual(DEFAULT_FILE_LIMITS);
    expect(fileLimitsFromEnv({ STEPWISE_MAX_FILE_BYTES: '1024', STEPWISE_MAX_FILES_PER_MESSAGE: '2', STEPWISE_ALLOWED_FILE_TYPES: 'image/png, Image/JPEG' })).toEqual({
      maxFileBytes: 1024,
      maxFilesPerMessage: 2,
      allowedTypes: ['image/png', 'image/jpeg'],
    });
    expect(() => fileLimitsFromEnv({ STEPWISE_MAX_FILES_PER_MESSAGE: '9' })).toThrow(/STEPWISE_MAX_FILES_PER_MESSAGE/);
    expect(() => fileLimitsFromEnv({ STEPWISE_MAX_FILE_BYTES: '-1' })).toThrow(/STEPWISE_MAX_FILE_BYTES/);
    expect(() => fileLimitsFromEnv({ STEPWISE_ALLOWED_FILE_TYPES: 'image/png;q=1' })).toThrow(/STEPWISE_ALLOWED_FILE_TYPES/);
  });
});

describe('AI SDK file parts (AI SDK\'s own client)', () => {
  it('a data: URL file part is stored and referenced; an http URL passes as given; a file-only message gets its name as text', async () => {
    await serve();
    const baseUrl = await listen(h.app);
    const chat = new TestChat({ id: 'chat-1', transport: chatTransport(baseUrl, 'test-agent') });
    await chat.sendMessage({ text: 'what is this?', files: [{ type: 'file', mediaType: 'image/png', filename: 'cat.png', url: `data:image/png;base64,${PNG_B64}` }] });
    await chat.settled();
    expect(chat.error?.message).toBeUndefined();
    const ref = lastUserMessage().files![0]!;
    expect(ref).toEqual({ fileId: expect.stringMatching(/^f-/), mediaType: 'image/png', name: 'cat.png', size: PNG_1X1.length });
    const got = await h.app.inject({ method: 'GET', url: `/sessions/chat-1/files/${ref.fileId}` });
    expect(Buffer.compare(got.rawPayload, PNG_1X1)).toBe(0);

    await chat.sendMessage({ files: [{ type: 'file', mediaType: 'application/pdf', filename: 'menu.pdf', url: 'https://example.com/menu.pdf' }] });
    await chat.settled();
    expect(chat.error?.message).toBeUndefined();
    expect(lastUserMessage()).toEqual({ role: 'user', content: '[menu.pdf]', files: [{ fileId: expect.stringMatching(/^u-/), mediaType: 'application/pdf', name: 'menu.pdf', url: 'https://example.com/menu.pdf' }] });
  });

  it('an oversized or disallowed file part is refused before the stream opens (the transport throws the error)', async () => {
    await serve({ files: { ...DEFAULT_FILE_LIMITS, maxFileBytes: 16 } });
    const chat = new TestChat({ id: 'chat-2', transport: chatTransport(await listen(h.app), 'test-agent') });
    await chat.sendMessage({ text: 'big', files: [{ type: 'file', mediaType: 'image/png', url: `data:image/png;base64,${PNG_B64}` }] });
    await chat.settled();
    expect(chat.error?.message).toContain('FILE_TOO_LARGE');
    await chat.sendMessage({ text: 'svg', files: [{ type: 'file', mediaType: 'image/svg+xml', url: 'data:image/svg+xml;base64,PHN2Zy8+' }] });
    await chat.settled();
    expect(chat.error?.message).toContain('UNSUPPORTED_FILE_TYPE');
    expect(h.executors.decideRequests).toHaveLength(0);
  });
});
