/**
 * Encrypted payloads on the real dev server: a session's user messages, model replies and tool results are
 * ciphertext in Temporal's raw history (read without any codec); the API's codec endpoint gives them back; a worker
 * and API with a rotated key list continue the session and still read the old key's payloads; a payload whose key id
 * is not configured is a clear 400.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { codecDataConverter, EncryptionCodec, parseCodecKeys } from '../../runtime/payload-codec.js';
import { createSessionWorker } from '../../workers/worker.js';
import { PATCH_IDS } from '../../workflows/shared.js';
import { call, expectError } from '../support/api.js';
import { writeAgent } from '../support/int-agent.js';
import { historyPayloads, historyText, rawHistory } from '../support/raw-history.js';
import { connectTemporal } from '../support/temporal.js';

const key = () => randomBytes(32).toString('base64');
const K1 = `k1:${key()}`;
const K2 = `k2:${key()}`;
const PLAINTEXT = {
  user1: 'user-plaintext-7f3a91',
  user2: 'user-plaintext-second-55e0',
  toolText: 'tool-plaintext-91bc04',
  reply1: 'reply-plaintext-c2d4e8',
  reply2: 'reply-plaintext-second-aa17',
};

describe('encrypted payloads (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let agent: LoadedAgent;
  const taskQueue = `stepwise-int-codec-${process.pid}`;
  const run = Date.now().toString(36);
  const sessionId = `codec-${run}`;
  const running: Array<{ worker: Worker; done: Promise<void>; app: FastifyInstance }> = [];

  /** A worker and an API (client + codec routes) using `keys` (STEPWISE_CODEC_KEYS format). */
  async function stack(keys: string) {
    const codec = new EncryptionCodec(parseCodecKeys(keys)!);
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], codec, log: () => {} });
    const done = worker.run();
    const client = new Client({ connection: env.client.connection, namespace: env.namespace ?? 'default', ...codecDataConverter(codec) });
    const app = await buildApp({
      backend: new TemporalSessions({ client, taskQueue }),
      agents: new Map([[agent.snapshot.name, agent.snapshot]]),
      codec: { codec },
    });
    const s = { worker, done, app };
    running.push(s);
    return s;
  }
  async function stop(s: { worker: Worker; done: Promise<void>; app: FastifyInstance }) {
    await s.app.close();
    if (s.worker.getState() === 'RUNNING') s.worker.shutdown();
    await s.done;
  }

  beforeAll(async () => {
    env = await connectTemporal();
    agent = await writeAgent(`codec-${run}`, [
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: PLAINTEXT.toolText } }] },
      { action: 'RESPOND', response: PLAINTEXT.reply1 },
      { action: 'RESPOND', response: PLAINTEXT.reply2 },
    ]);
  });
  afterAll(async () => {
    for (const s of running) await stop(s).catch(() => {});
    await env?.teardown();
  });

  it('keeps conversation text out of the raw history, decodes it through /codec/decode, and survives key rotation', async () => {
    // Turn 1 with key k1 only.
    const first = await stack(K1);
    const created = await call(first.app, 'POST', '/sessions', { agentId: agent.snapshot.name, sessionId, message: PLAINTEXT.user1 });
    expect(created.res.statusCode).toBe(201);
    expect(created.body.reply).toBe(PLAINTEXT.reply1);
    await stop(first);

    // Rotation: new current key k2, k1 kept for reading. A fresh worker replays the k1 history and runs turn 2.
    const rotated = await stack(`${K2},${K1}`);
    const sent = await call(rotated.app, 'POST', `/sessions/${sessionId}/messages`, { text: PLAINTEXT.user2 });
    expect(sent.res.statusCode).toBe(200);
    expect(sent.body.reply).toBe(PLAINTEXT.reply2);
    const state = await call(rotated.app, 'GET', `/sessions/${sessionId}`);
    expect(state.body).toMatchObject({ turns: 2 });

    const events = await rawHistory(env.client, `session-${sessionId}`);
    const text = historyText(events);
    for (const [what, plain] of Object.entries(PLAINTEXT)) expect(text.includes(plain), `${what} in clear text in history`).toBe(false);
    const payloads = historyPayloads(events);
    const keyIds = new Set(payloads.map((p) => Buffer.from(p.metadata['encryption-key-id'] ?? '', 'base64').toString()));
    const text8 = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
    const encrypted = payloads.filter((p) => text8(p.metadata.encoding) === 'binary/encrypted');
    expect(new Set(encrypted.map((p) => text8(p.metadata['encryption-key-id'])))).toEqual(new Set(['k1', 'k2']));
    // What stays clear: search attributes (agent, step, status; Temporal indexes them, codecs never see them) and the
    // SDK's own marker fields (patch ids, a local activity's type/seq/timestamps; its result is encrypted).
    const clear = payloads.filter((p) => !encrypted.includes(p)).map((p) => JSON.parse(text8(p.data)) as unknown);
    expect(clear.length).toBeGreaterThan(0);
    for (const value of clear) {
      const known =
        [agent.snapshot.name, 'chat', 'active'].includes(value as string) ||
        (Array.isArray(value) && value.every((v) => (Object.values(PATCH_IDS) as string[]).includes(v))) ||
        (typeof value === 'object' && value !== null && ('activity_type' in value || ('id' in value && 'deprecated' in value)));
      expect(known, `unexpected clear payload ${JSON.stringify(value)}`).toBe(true);
    }

    // The codec endpoint (what the Temporal UI calls) gives every payload back.
    const decoded = await call(rotated.app, 'POST', '/codec/decode', { payloads: encrypted });
    expect(decoded.res.statusCode).toBe(200);
    const plain = decoded.body.payloads.map((p: { data: string }) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
    for (const [what, value] of Object.entries(PLAINTEXT)) expect(plain.includes(value), `${what} after decoding`).toBe(true);

    // A process that no longer has k1 (or k2) cannot read these payloads, and says which key is missing.
    const other = await buildApp({
      backend: new TemporalSessions({ client: env.client, taskQueue }),
      agents: new Map(),
      codec: { codec: new EncryptionCodec(parseCodecKeys(`k3:${key()}`)!) },
    });
    try {
      const err = expectError(await call(other, 'POST', '/codec/decode', { payloads: encrypted }), 400, 'CODEC_KEY_UNKNOWN');
      expect(err.message).toMatch(/key id "k[12]", which is not in STEPWISE_CODEC_KEYS \(known ids: k3\)/);
    } finally {
      await other.close();
    }
  });
});
