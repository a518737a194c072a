/**
 * Embeddings retrieval in the session workflow on Temporal's real dev server: a flow whose memory has
 * `retriever: {method: embedding}` and an agent whose OpenAI-compatible model (the fake model server, through the
 * official `openai` SDK in a real worker) has an embeddings model. The `rank` local activity's cosine scores retrieve
 * the item that shares no word with the message (BM25 could not); when the embeddings endpoint fails, the turn still
 * replies, with a `retrieval_fallback` event, and BM25 retrieves instead. The new history replays.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { createSessionWorker } from '../../workers/worker.js';
import { workflowsPath } from '../../workers/workflows-path.js';
import { PATCH_IDS, sessionWorkflowId } from '../../workflows/shared.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { recordHistory } from '../support/histories.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

const TOMATO = 'my favourite vegetable is the tomato';
const SUNNY = 'I love sunny weather';
const QUERY = 'remind me what I love';
const RELEVANT = '## Relevant earlier messages';

describe('embeddings retrieval on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let fake: FakeModelServer;
  let agent: LoadedAgent;
  let sessions: TemporalSessions;
  const taskQueue = `stepwise-int-embed-${process.pid}`;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    env = await connectTemporal();
    fake = await startFakeModelServer();
    // Vectors: the message is near the tomato item, far from the sunny one (which shares "I love" with it).
    fake.setEmbedding('remind me', [1, 0, 0]);
    fake.setEmbedding('tomato', [0.9, 0.1, 0]);
    fake.setEmbedding('sunny', [0, 1, 0]);
    fake.setEmbedding('reply-', [0, 0, 1]);
    agent = await writeAgent(`embed-${run}`, [], {}, {
      llm: { provider: 'openai-compatible', model: 'fake-chat', base_url: fake.openaiBaseUrl, embedding_model: 'fake-embed' },
      start_step_id: 'work',
      flows: [
        {
          flow_id: 'working',
          enters: ['work'],
          exits: ['chat'],
          components: { memory: { retriever: { method: 'embedding', kwargs: { k: 1 } }, recent_items: 1 } },
        },
      ],
    });
    expect(agent.warnings.filter((i) => i.path.includes('retriever'))).toEqual([]);
    sessions = new TemporalSessions({ client: env.client, taskQueue });
  });
  afterAll(async () => {
    await fake?.close();
    await env?.teardown();
  });

  /** Three turns: tomato, sunny, then the question; returns the last turn's result and its decision prompt. */
  async function converse(sessionId: string, suffix: string) {
    await sessions.start(agent.snapshot, sessionId);
    fake.enqueue({ text: 'nothing yet' }); // flow_enter summary
    fake.enqueue({ action: 'RESPOND', response: `reply-1${suffix}` });
    await sessions.send(sessionId, { messageId: 'm1', text: `${TOMATO}${suffix}` });
    fake.enqueue({ action: 'RESPOND', response: `reply-2${suffix}` });
    await sessions.send(sessionId, { messageId: 'm2', text: `${SUNNY}${suffix}` });
    fake.enqueue({ action: 'RESPOND', response: `reply-3${suffix}` });
    const result = await sessions.send(sessionId, { messageId: 'm3', text: `${QUERY}${suffix}` });
    const chats = fake.requests.filter((r) => r.path.endsWith('/chat/completions'));
    const system = chats.at(-1)!.body.messages[0].content as string;
    return { result, relevant: system.slice(system.indexOf(RELEVANT)) };
  }

  it('ranks flow memory with embeddings, and falls back to BM25 with an event when embeddings fail', { timeout: 180_000 }, async () => {
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    await worker.runUntil(async () => {
      // Embeddings work: the tomato item (no word in common with the message) is the one retrieved.
      const ok = await converse(`embed-ok-${run}`, '');
      expect(ok.result.reply).toBe('reply-3');
      expect(ok.relevant).toContain(`- (user) ${TOMATO}`);
      expect(ok.relevant).not.toContain(SUNNY);
      expect(ok.result.events.map((e) => e.type)).not.toContain('retrieval_fallback');
      const embedded = fake.requests.filter((r) => r.path === '/v1/embeddings');
      expect(embedded.length).toBeGreaterThanOrEqual(2);
      expect(embedded.at(-1)!.body).toMatchObject({ model: 'fake-embed' });
      expect(embedded.flatMap((r) => r.body.input)).toContain(QUERY);

      // The embeddings endpoint fails (no such route on the provider): every turn still replies, BM25 retrieves.
      fake.failEmbeddings({ status: 404, error: 'this server has no embeddings' });
      const failed = await converse(`embed-fail-${run}`, ' (b)');
      expect(failed.result.reply).toBe('reply-3 (b)');
      const fallback = failed.result.events.filter((e) => e.type === 'retrieval_fallback');
      expect(fallback).toEqual([expect.objectContaining({ message: expect.stringMatching(/HTTP 404: this server has no embeddings/) })]);
      expect(failed.relevant).toContain(`- (user) ${SUNNY} (b)`);
      expect(failed.relevant).not.toContain(TOMATO);
    });

    // The session's history records the patch and the `rank` activities (regular ones since `no-local-activities`),
    // and replays deterministically.
    const history = await env.client.workflow.getHandle(sessionWorkflowId(`embed-ok-${run}`)).fetchHistory();
    const markers = (history.events ?? []).flatMap((e) => (e.markerRecordedEventAttributes ? [e.markerRecordedEventAttributes] : []));
    const markerText = markers
      .flatMap((m) => Object.values(m.details ?? {}).flatMap((d) => d.payloads ?? []))
      .map((p) => Buffer.from(p.data ?? []).toString('utf8'))
      .join('\n');
    expect(markerText).toContain(PATCH_IDS.embeddingRetrieval);
    expect(markerText).toContain(PATCH_IDS.noLocalActivities);
    // Turns 2 and 3 ranked (turn 1 had nothing older to rank): two `rank` activities, their scores (not vectors) in
    // history.
    const ranks = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rank');
    expect(ranks).toHaveLength(2);
    const rankIds = new Set(ranks.map((e) => String(e.eventId)));
    const results = (history.events ?? [])
      .filter((e) => rankIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)))
      .map((e) => Buffer.from(e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data ?? []).toString('utf8'));
    expect(results).toHaveLength(2);
    for (const result of results) expect(result).toMatch(/^\{"scores":\[[-0-9.e,]+\],"model":"fake-embed","usage":\{"inputTokens":\d+,"outputTokens":0\}\}$/);
    await Worker.runReplayHistory({ workflowsPath }, history, `embed-ok-${run}`);
    await recordHistory('embedding-retrieval', env.client.workflow.getHandle(sessionWorkflowId(`embed-ok-${run}`)));
  });
});
