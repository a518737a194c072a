/**
 * The `rank` activity through the official `openai` SDK against the fake model server's `POST /v1/embeddings`:
 * cosine scores (not vectors) come back, vectors are cached per worker (a text is embedded once), keys never appear
 * in errors, and failures map to Temporal retryability (a server without embeddings: non-retryable).
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cosine, Embeddings } from '../../activities/embeddings.js';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { localExecutors } from '../../cli/local-executors.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import type { RankRequest } from '../../src/engine/types.js';
import { step, testAgent } from '../support/agents.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';

const KEY = 'sk-test-EMBED-SECRET-0123456789';

describe('rank activity (openai SDK embeddings.create against the fake server)', () => {
  let fake: FakeModelServer;
  beforeAll(async () => {
    fake = await startFakeModelServer();
  });
  afterAll(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.failEmbeddings(undefined);
  });

  const request = (over: Partial<RankRequest> = {}): RankRequest => ({
    sessionId: 's1',
    llm: { provider: 'openai', model: 'text-embedding-3-small', baseUrl: fake.openaiBaseUrl },
    query: 'remind me what I love',
    candidates: ['my favourite vegetable is the tomato', 'I love sunny weather'],
    ...over,
  });

  it('returns one cosine per candidate from the vectors the server gives, and sends the model and texts', async () => {
    fake.setEmbedding('remind me', [1, 0.1, 0]);
    fake.setEmbedding('tomato', [0.9, 0, 0.1]);
    fake.setEmbedding('sunny', [0, 0, 1]);
    const activities = createActivities({ models: new ModelCache(), tools: new Map(), embeddings: new Embeddings({ env: { OPENAI_API_KEY: KEY } }) });
    const out = await activities.rank(request());
    expect(out.scores).toHaveLength(2);
    expect(out.scores[0]).toBeCloseTo(cosine([1, 0.1, 0], [0.9, 0, 0.1]), 5);
    expect(out.scores[1]).toBeCloseTo(cosine([1, 0.1, 0], [0, 0, 1]), 5);
    expect(out.scores[0]).toBeGreaterThan(0.95);
    const sent = fake.requests.filter((r) => r.path === '/v1/embeddings');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ model: 'text-embedding-3-small', input: [request().query, ...request().candidates], encoding_format: 'float' });
    expect(sent[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('caches vectors in the worker: the same texts are not embedded again, only new ones', async () => {
    const embeddings = new Embeddings({ env: { OPENAI_API_KEY: KEY } });
    await embeddings.rank(request());
    expect(embeddings.embedded).toBe(3);
    await embeddings.rank(request());
    expect(embeddings.embedded).toBe(3);
    await embeddings.rank(request({ candidates: [...request().candidates, 'a new memory item'] }));
    expect(embeddings.embedded).toBe(4);
    const inputs = fake.requests.filter((r) => r.path === '/v1/embeddings').map((r) => r.body.input);
    expect(inputs).toEqual([[request().query, ...request().candidates], ['a new memory item']]);
    // Another model is another cache entry.
    await embeddings.rank(request({ llm: { ...request().llm, model: 'other-model' } }));
    expect(embeddings.embedded).toBe(7);
  });

  it('a server without embeddings (404) is a non-retryable failure without the key; 503 is retryable', async () => {
    const embeddings = new Embeddings({ env: { OPENAI_API_KEY: KEY } });
    fake.failEmbeddings({ status: 404, error: `no embeddings here (key ${KEY})` });
    const err = await embeddings.rank(request({ query: 'fresh query 1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'MODEL_REQUEST_FAILED', nonRetryable: true });
    expect((err as Error).message).toMatch(/HTTP 404/);
    expect((err as Error).message).not.toContain(KEY);
    fake.failEmbeddings({ status: 503 });
    await expect(embeddings.rank(request({ query: 'fresh query 2' }))).rejects.toMatchObject({ type: 'MODEL_REQUEST_FAILED', nonRetryable: false });
  });

  it('refuses providers without an embeddings API and a missing key, non-retryably', async () => {
    const embeddings = new Embeddings({ env: {} });
    await expect(embeddings.rank(request({ llm: { provider: 'anthropic', model: 'x' } }))).rejects.toMatchObject({ type: 'INVALID_CONFIG', nonRetryable: true });
    await expect(embeddings.rank(request())).rejects.toMatchObject({ type: 'MODEL_REQUEST_FAILED', nonRetryable: true, message: expect.stringMatching(/OPENAI_API_KEY/) });
  });

  it('reaches OpenAI-compatible presets and Azure deployments at their embeddings paths', async () => {
    const embeddings = new Embeddings({ env: { MISTRAL_API_KEY: KEY, AZURE_OPENAI_API_KEY: KEY } });
    await embeddings.rank(request({ llm: { provider: 'mistral', model: 'mistral-embed', baseUrl: fake.openaiBaseUrl } }));
    await embeddings.rank(request({ llm: { provider: 'azure', model: 'my-embed-deployment', baseUrl: fake.url } }));
    const paths = fake.requests.map((r) => r.path);
    expect(paths).toEqual(['/v1/embeddings', '/openai/deployments/my-embed-deployment/embeddings']);
  });

  it('stepwise chat / the in-process backend: a turn shows the example nearest by vector, not the one sharing words', async () => {
    const examples = [
      { context: 'a request about the tomato price', decision: { action: 'RESPOND', response: 'Tomatoes are 2 EUR.' } },
      { context: 'how much is the coffee', decision: { action: 'RESPOND', response: 'Coffee is 3 EUR.' } },
    ];
    const agent = testAgent({
      flows: [],
      steps: [step('greet', { examples })],
      llms: { global: { provider: 'openai', model: 'gpt-test', baseUrl: fake.openaiBaseUrl, apiKeyEnv: 'TEST_EMBED_KEY' } },
    });
    fake.setEmbedding('red fruit', [1, 0]);
    fake.setEmbedding('tomato price', [0.95, 0.05]);
    fake.setEmbedding('the coffee', [0, 1]);
    const activities = createActivities({ models: new ModelCache({ env: { TEST_EMBED_KEY: KEY } }), tools: new Map() });
    const sessions = new LocalSessions({ executors: () => localExecutors(activities, async () => undefined) });
    await sessions.start(agent, 'chat-1');
    fake.enqueue({ action: 'RESPOND', response: 'Tomatoes are 2 EUR.' });
    const result = await sessions.send('chat-1', { messageId: 'm1', text: 'how much is the red fruit' });
    expect(result.reply).toBe('Tomatoes are 2 EUR.');
    expect(result.events.map((e) => e.type)).not.toContain('retrieval_fallback');
    const prompt = fake.requests.find((r) => r.path === '/v1/chat/completions')!.body.messages[0].content as string;
    // Cosine 0.998 >= threshold 0.5: shown; the coffee example (cosine 0, though it shares "how much is the") is not.
    expect(prompt).toContain('- a request about the tomato price');
    expect(prompt).not.toContain('coffee');
  });
});
