/**
 * The activity factory as the worker builds it (ModelCache + ToolRegistry + archive), driven by the in-process
 * executors: real OpenAI/Anthropic SDK clients against the fake model server, the barista example's real tools, and
 * the archive write path with its failure mapping.
 */
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import { ModelCache } from '../../activities/models/model.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { loadAgent, type LoadedAgent } from '../../runtime/agents/load.js';
import { localExecutors } from '../../cli/local-executors.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { CallerError, SystemError } from '../../src/errors.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';

const BARISTA = join(import.meta.dirname, '..', '..', 'examples', 'barista', 'barista.agent.yaml');
const noSleep = async () => undefined;

let server: FakeModelServer;
let barista: LoadedAgent;

beforeAll(async () => {
  server = await startFakeModelServer();
  barista = await loadAgent(BARISTA);
});
afterAll(async () => {
  await server?.close();
});

/** The barista agent re-pointed at a real provider (the fake server), as a user with a key would configure it. */
function onProvider(provider: 'openai' | 'anthropic'): AgentSnapshot {
  const llm =
    provider === 'openai'
      ? { provider, model: 'gpt-test', baseUrl: server.openaiBaseUrl, apiKeyEnv: 'TEST_OPENAI_KEY' }
      : { provider, model: 'claude-test', baseUrl: server.anthropicBaseUrl, apiKeyEnv: 'TEST_ANTHROPIC_KEY' };
  return { ...barista.snapshot, llms: { global: llm } };
}

function sessionsFor() {
  const models = new ModelCache({ env: { TEST_OPENAI_KEY: 'sk-test-openai', TEST_ANTHROPIC_KEY: 'sk-test-anthropic' } });
  const activities = createActivities({ models, tools: new Map([[barista.snapshot.name, barista.tools]]) });
  const sessions = new LocalSessions({ executors: () => localExecutors(activities, noSleep) });
  return { sessions, activities };
}

describe.each(['openai', 'anthropic'] as const)('a barista turn through the real %s SDK', (provider) => {
  it('MOVE, parallel tool calls on the real example tools, then RESPOND', async () => {
    const { sessions } = sessionsFor();
    const agent = onProvider(provider);
    await sessions.start(agent, `s-${provider}`);
    const before = server.requests.length;
    server.enqueue({ action: 'MOVE', step_id: 'take_order' });
    server.enqueue({ text: 'The customer wants two large lattes.' }); // take_order enters order_flow: a summary call
    server.enqueue({
      action: 'TOOL_CALL',
      tool_calls: [
        { tool: 'add_to_cart', arguments: { item: 'latte', size: 'large', quantity: 2 } },
        { tool: 'get_menu', arguments: {} },
      ],
    });
    server.enqueue({ action: 'RESPOND', response: 'Two large lattes, coming up.' });
    const result = await sessions.send(`s-${provider}`, { messageId: 'm1', text: 'Two large lattes please' });
    expect(result.reply).toBe('Two large lattes, coming up.');
    expect(result.stepId).toBe('take_order');
    expect(result.events.filter((e) => e.type === 'tool_result').map((e) => e.tool).sort()).toEqual(['add_to_cart', 'get_menu']);
    const sent = server.requests.slice(before).filter((r) => !r.path.endsWith('/embeddings'));
    expect(sent).toHaveLength(4);
    // openai ranks the steps' dynamic examples by embeddings, each text embedded once: the greeting's query and example,
    // then take_order's example (the query is cached; the third decision's texts all are). Anthropic has no embeddings.
    const embedded = server.requests.slice(before).filter((r) => r.path.endsWith('/embeddings'));
    expect(embedded.map((r) => r.body.input.length)).toEqual(provider === 'openai' ? [2, 1] : []);
    expect(result.events.map((e) => e.type)).not.toContain('retrieval_fallback');
    // The key travels as a header to the provider and nowhere else.
    const auth = sent[0]!.headers.authorization ?? sent[0]!.headers['x-api-key'];
    expect(auth).toContain(provider === 'openai' ? 'sk-test-openai' : 'sk-test-anthropic');
    expect(JSON.stringify(result)).not.toContain('sk-test');
    // The flow memory got the provider's summary, and the last decision saw it and the tool results.
    expect(result.events.find((e) => e.type === 'flow_enter')).toMatchObject({ summary: 'The customer wants two large lattes.' });
    expect(JSON.stringify(sent[3]!.body)).toContain('The customer wants two large lattes.');
    expect(JSON.stringify(sent[3]!.body)).toContain('add_to_cart ->');
  });
});

describe('failure mapping of the in-process executors (mirrors the workflow)', () => {
  it('garbage output is re-asked, a 500 is retried, a 401 ends the turn with a fallback', async () => {
    const { sessions } = sessionsFor();
    await sessions.start(onProvider('openai'), 'fail-1');
    // Model calls only (the barista's examples are also ranked through the fake server's embeddings endpoint).
    const calls = () => server.requests.filter((r) => !r.path.endsWith('/embeddings')).length;
    const before = calls();
    server.enqueue({ text: 'this is not JSON' });
    server.enqueue({ status: 500, error: 'overloaded' });
    server.enqueue({ action: 'RESPOND', response: 'Recovered.' });
    const ok = await sessions.send('fail-1', { messageId: 'm1', text: 'hi' });
    expect(ok.reply).toBe('Recovered.');
    expect(ok.events.filter((e) => e.type === 'decision_error')).toHaveLength(1);
    expect(calls() - before).toBe(3);

    server.enqueue({ status: 401, error: 'invalid api key' });
    const failed = await sessions.send('fail-1', { messageId: 'm2', text: 'again' });
    expect(failed.events.find((e) => e.type === 'turn_failed')).toMatchObject({ message: expect.stringContaining('invalid api key') });
    expect(failed.events.find((e) => e.type === 'reply')).toMatchObject({ fallback: true });
    expect(calls() - before).toBe(4); // the 401 was not retried
  });
});

describe('archive activities', () => {
  const turnInput = async () => {
    const { sessions } = sessionsFor();
    await sessions.start(barista.snapshot, 'arch-1');
    const turn = await sessions.send('arch-1', { messageId: 'm1', text: 'Hi there!' });
    return {
      sessionId: 'arch-1',
      agentName: barista.snapshot.name,
      configHash: barista.snapshot.configHash,
      run: 1,
      startedAt: turn.events[0]!.at,
      finishedAt: turn.events.at(-1)!.at,
      turn,
    };
  };

  it('archiving the same turn twice leaves one row', async () => {
    const archive = new InMemoryArchiveStore();
    const activities = createActivities({ models: new ModelCache(), tools: new Map(), archive });
    const input = await turnInput();
    await activities.archiveSessionStart({ sessionId: 'arch-1', agentName: input.agentName, configHash: input.configHash, createdAt: input.startedAt });
    await activities.archiveTurn(input);
    await activities.archiveTurn(input);
    const { turns } = await archive.getTurns('arch-1', {});
    expect(turns).toHaveLength(1);
    expect(turns[0]!.reply).toBe(input.turn.reply);
  });

  it('is a no-op when the archive is off', async () => {
    const activities = createActivities({ models: new ModelCache(), tools: new Map() });
    await expect(activities.archiveTurn(await turnInput())).resolves.toBeUndefined();
  });

  it('a database outage is retryable, a bad record is not', async () => {
    const input = await turnInput();
    const failing = (err: Error): ArchiveStore =>
      Object.assign(new InMemoryArchiveStore(), { recordTurn: async () => { throw err; } });
    const down = createActivities({ models: new ModelCache(), tools: new Map(), archive: failing(new SystemError('ARCHIVE_UNAVAILABLE', 'db down')) });
    const bad = createActivities({ models: new ModelCache(), tools: new Map(), archive: failing(new CallerError('INVALID_REQUEST', 'bad turn')) });
    const e1 = await down.archiveTurn(input).catch((e: unknown) => e);
    const e2 = await bad.archiveTurn(input).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ApplicationFailure);
    expect(e1).toMatchObject({ type: 'ARCHIVE_UNAVAILABLE', nonRetryable: false });
    expect(e2).toMatchObject({ type: 'INVALID_REQUEST', nonRetryable: true });
  });
});
