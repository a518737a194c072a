/**
 * Files in messages on the real Temporal dev server with a real PostgreSQL archive, through the official OpenAI and
 * Anthropic SDKs on the fake model server: an image uploaded as `multipart/form-data` (and one given by URL) reaches
 * each provider's request body in its own shape, the transcript shows the references, `GET /sessions/:id/files/:id`
 * serves the stored bytes, and the session workflow's history, fetched raw from the server, holds the references
 * and never the bytes.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { migrateArchive } from '../../archive/migrate.js';
import { createPgArchive, type PgArchiveStore } from '../../archive/pg-store.js';
import { sessionWorkflowId } from '../../workflows/shared.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { writeAgent } from '../support/int-agent.js';
import { serveOnTemporal } from '../support/int-api.js';
import { mediaParts, multipartBody, uniquePng } from '../support/model-attachments.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { recordHistory } from '../support/histories.js';
import { historyText, rawHistory } from '../support/raw-history.js';
import { connectTemporal } from '../support/temporal.js';

const KEYS = { STEPWISE_FAKE_KEY: 'sk-test-files-0123456789' };
const IMAGE_URL = 'https://images.example.com/menu.jpg';

describe('files in messages on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let models: FakeModelServer;
  let pg: TestPostgres;
  let databaseUrl: string;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    [env, models, pg] = await Promise.all([connectTemporal(), startFakeModelServer(), startTestPostgres()]);
    databaseUrl = await pg.createDatabase();
    await migrateArchive(databaseUrl);
  });
  afterAll(async () => {
    await models?.close();
    await pg?.stop();
    await env?.teardown();
  });

  const llmOf = (provider: 'openai' | 'anthropic') =>
    provider === 'openai'
      ? { provider, model: 'gpt-test', base_url: models.openaiBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY' }
      : { provider, model: 'claude-test', base_url: models.anthropicBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY' };

  it.each(['openai', 'anthropic'] as const)('%s: an uploaded image and an image URL reach the provider; history holds only references', async (provider) => {
    const agent = await writeAgent(`files-${provider}-${run}`, [], {}, { llm: llmOf(provider) });
    // One archive (a pool) per app, shared with its worker: the app closes it when it closes.
    const archive: PgArchiveStore = createPgArchive(databaseUrl);
    const served = await serveOnTemporal(env, { agents: [agent], taskQueue: `stepwise-int-files-${process.pid}-${provider}`, archive, models: new ModelCache({ env: KEYS }) });
    const app: FastifyInstance = served.app;
    const id = `files-${provider}-${run}`;
    const png = uniquePng(`${provider}-${run}`);
    const b64 = png.toString('base64');
    try {
      expect((await app.inject({ method: 'POST', url: '/sessions', payload: { agentId: agent.snapshot.name, sessionId: id } })).statusCode).toBe(201);
      models.requests.length = 0;
      models.enqueue({ action: 'RESPOND', response: 'A cat.' });
      const sent = await app.inject({ method: 'POST', url: `/sessions/${id}/messages`, ...(await multipartBody({ text: 'What is this?', messageId: 'm1' }, [{ name: 'cat.png', type: 'image/png', bytes: png }])) });
      expect(sent.statusCode, sent.body).toBe(200);
      expect(sent.json().reply).toBe('A cat.');
      const ref = sent.json().events.find((e: any) => e.type === 'user_message').files[0];
      expect(ref).toEqual({ fileId: expect.stringMatching(/^f-[0-9a-f]{32}$/), mediaType: 'image/png', name: 'cat.png', size: png.length });

      models.enqueue({ action: 'RESPOND', response: 'A menu.' });
      const second = await app.inject({ method: 'POST', url: `/sessions/${id}/messages`, payload: { text: 'And this?', messageId: 'm2', files: [{ mediaType: 'image/jpeg', url: IMAGE_URL }] } });
      expect(second.statusCode, second.body).toBe(200);

      // What the SDKs sent: the stored image inline (base64), the URL as given; the second call still shows the first image.
      const [first, next] = models.requests;
      const stored = provider === 'openai' ? { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } } : { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64 } };
      const byUrl = provider === 'openai' ? { type: 'image_url', image_url: { url: IMAGE_URL } } : { type: 'image', source: { type: 'url', url: IMAGE_URL } };
      expect(first!.path).toBe(provider === 'openai' ? '/v1/chat/completions' : '/v1/messages');
      expect(mediaParts(first!)).toEqual([stored]);
      expect(mediaParts(next!)).toEqual([stored, byUrl]);

      // The stored bytes come back from the API; the archive's transcript shows the references.
      const file = await app.inject({ method: 'GET', url: `/sessions/${id}/files/${ref.fileId}` });
      expect(file.headers['content-type']).toBe('image/png');
      expect(Buffer.compare(file.rawPayload, png)).toBe(0);
      const history = (await app.inject({ method: 'GET', url: `/sessions/${id}/history` })).json();
      expect(history.source).toBe('archive');
      const userEvents = history.turns.flatMap((t: any) => t.events.filter((e: any) => e.type === 'user_message'));
      expect(userEvents.map((e: any) => e.files)).toEqual([[ref], [expect.objectContaining({ mediaType: 'image/jpeg', url: IMAGE_URL })]]);

      // The workflow's history as the server stores it: references yes, bytes no (neither base64 nor raw).
      const text = historyText(await rawHistory(env.client, sessionWorkflowId(id)));
      expect(text).toContain('What is this?'); // payloads read as plain JSON here, so bytes would show
      expect(text).toContain(ref.fileId);
      expect(text).toContain(IMAGE_URL);
      expect(text).not.toContain(b64.slice(0, 60));
      expect(text).not.toContain(b64.slice(-60));
      expect(text).not.toContain(`stepwise-test-${provider}-${run}`);
      if (provider === 'openai') await recordHistory('files', env.client.workflow.getHandle(sessionWorkflowId(id))); // `npm run record:histories`
    } finally {
      await served.stop();
    }
  });
});
