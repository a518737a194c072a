/**
 * `POST /codec/decode` and `/codec/encode` (Temporal's remote codec JSON format) and their CORS, which applies to
 * these routes only.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EncryptionCodec, parseCodecKeys } from '../../runtime/payload-codec.js';
import { build, call, expectError, type Harness } from '../support/api.js';

const keys = `new:${randomBytes(32).toString('base64')},old:${randomBytes(32).toString('base64')}`;
const json = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

describe('codec routes', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.app.close();
    h = undefined;
  });
  const codec = new EncryptionCodec(parseCodecKeys(keys)!);

  it('encode then decode round-trips payloads; unknown key id is a 400 naming it', async () => {
    h = await build({ app: { codec: { codec } } });
    const plain = json(defaultPayloadConverter.toPayload('hello codec'));
    const encoded = await call(h.app, 'POST', '/codec/encode', { payloads: [plain] });
    expect(encoded.res.statusCode).toBe(200);
    expect(Buffer.from(encoded.body.payloads[0].metadata['encryption-key-id'], 'base64').toString()).toBe('new');
    const decoded = await call(h.app, 'POST', '/codec/decode', encoded.body);
    expect(decoded.res.statusCode).toBe(200);
    expect(decoded.body.payloads).toEqual([plain]);

    const foreign = await new EncryptionCodec([{ id: 'gone', key: randomBytes(32) }]).encode([defaultPayloadConverter.toPayload('x')]);
    const err = expectError(await call(h.app, 'POST', '/codec/decode', { payloads: [json(foreign[0]!)] }), 400, 'CODEC_KEY_UNKNOWN');
    expect(err.message).toMatch(/key id "gone".*STEPWISE_CODEC_KEYS/);
    expect(err.details).toEqual({ keyId: 'gone', knownKeyIds: ['new', 'old'] });
    expectError(await call(h.app, 'POST', '/codec/decode', { payloads: [{ data: '%%%' }] }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/codec/decode', {}), 400, 'INVALID_REQUEST');
  });

  it('answers the Temporal UI preflight for its origin only, and only on /codec', async () => {
    h = await build({ app: { codec: { codec, corsOrigins: ['http://localhost:8233'] } } });
    const preflight = (origin: string, url = '/codec/decode') =>
      h!.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
      });
    const ok = await preflight('http://localhost:8233');
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:8233');
    expect(String(ok.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/)).toEqual(['content-type', 'x-namespace', 'authorization']);
    expect((await preflight('http://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    const post = await h.app.inject({ method: 'POST', url: '/codec/decode', headers: { origin: 'http://localhost:8233', 'x-namespace': 'default' }, payload: { payloads: [] } });
    expect(post.statusCode).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe('http://localhost:8233');
    // Other routes get no CORS headers and no preflight route.
    const agents = await h.app.inject({ method: 'GET', url: '/agents', headers: { origin: 'http://localhost:8233' } });
    expect(agents.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight('http://localhost:8233', '/sessions')).statusCode).toBe(404);
  });

  it('is absent without a codec', async () => {
    h = await build();
    expectError(await call(h.app, 'POST', '/codec/decode', { payloads: [] }), 404, 'NOT_FOUND');
  });
});
