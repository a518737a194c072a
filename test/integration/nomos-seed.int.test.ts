/**
 * A NOMOS client continues a conversation from client-held `session_data` (as a NOMOS server returned it) on the real
 * Temporal dev server: `POST /chat` seeds a fresh durable session workflow (seed in its input: step, history, active
 * flow with flow memory), keeps the client's session id, and every decision from then on — the first and the next —
 * sees the seeded history in the prompt the model received (OpenAI SDK against the fake model server). The new
 * history replays deterministically.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { call, expectError, expectNomosError } from '../support/api.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { recordHistory } from '../support/histories.js';
import { serveOnTemporal } from '../support/int-api.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';
import { workflowsPath } from '../../workers/workflows-path.js';

/** The user/assistant/tool texts of an OpenAI chat request the fake model server received. */
function promptTexts(body: { messages: { role: string; content: string }[] }): string[] {
  return body.messages.slice(1).map((m) => m.content);
}

describe('NOMOS /chat seeds a fresh durable session from client-held session_data (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let fake: FakeModelServer;
  const taskQueue = `stepwise-int-nomos-seed-${process.pid}`;
  const run = Date.now().toString(36);
  const agentId = `seed-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
    fake = await startFakeModelServer();
    const agent = await writeAgent(agentId, [], {}, { llm: { provider: 'openai', model: 'gpt-test', base_url: fake.openaiBaseUrl } });
    const models = new ModelCache({ env: { OPENAI_API_KEY: 'sk-test-nomos-seed' } });
    ({ app, stop } = await serveOnTemporal(env, { agents: [agent], taskQueue, archive: new InMemoryArchiveStore(), models }));
  });
  afterAll(async () => {
    await stop?.();
    await fake?.close();
    await env?.teardown();
  });

  // Replaying a history bundles the workflow code (tens of seconds on a loaded machine).
  it('continues the conversation in a new workflow that starts at the client step, in its flow, with its memory', { timeout: 180_000 }, async () => {
    const sessionId = `nomos-client-${run}`;
    // What a NOMOS server's `/chat` returned last: inside flow `working` at step `work`.
    const sessionData = {
      session_id: sessionId,
      current_step_id: 'work',
      history: [
        { timestamp: '2026-11-30T10:00:00Z', type: 'user', content: 'My name is Ada', decision: null },
        { timestamp: '2026-11-30T10:00:01Z', type: agentId, content: 'Hello Ada!', decision: null },
        { step_id: 'chat' },
      ],
      flow_state: {
        flow_id: 'working',
        flow_context: { flow_id: 'working', entry_step: 'work', metadata: {} },
        flow_memory_context: [
          { summary: ['Ada asked for work on the banana report'] },
          { type: 'user', content: 'Please echo banana', decision: null },
          { type: 'tool', content: "Tool echo executed successfully with args {'text': 'banana'}.\nResults: {'echo': 'banana'}", decision: null },
        ],
      },
    };
    fake.enqueue({ action: 'RESPOND', response: 'Still on the banana report.' });
    const first = await call(app, 'POST', '/chat', { user_input: 'Where were we?', session_data: sessionData });
    expect(first.res.statusCode).toBe(200);
    expect(first.body.response).toMatchObject({ action: 'RESPOND', response: 'Still on the banana report.' });
    expect(first.body.session_data).toMatchObject({ session_id: sessionId, current_step_id: 'work', flow_state: { flow_id: 'working' } });

    // A fresh durable workflow holds it, started with the seed in its input.
    const handle = env.client.workflow.getHandle(`session-${sessionId}`);
    const history = await handle.fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const input = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString('utf8'));
    expect(input.seed).toMatchObject({
      schemaVersion: 1,
      stepId: 'work',
      memory: { summaries: [], items: [{ role: 'user', text: 'My name is Ada' }, { role: 'assistant', text: 'Hello Ada!' }] },
      flow: { flowId: 'working', memory: { summaries: ['- Ada asked for work on the banana report'] } },
    });
    const state = (await call(app, 'GET', `/sessions/${sessionId}`)).body;
    expect(state).toMatchObject({ agentName: agentId, stepId: 'work', flowId: 'working', turns: 1, status: 'active', run: 1 });

    // The first decision saw the seeded flow memory (inside a flow the model sees flow memory) and its summary.
    const firstPrompt = fake.requests[0]!.body;
    expect(promptTexts(firstPrompt)).toEqual([
      'Please echo banana',
      "[tool] Tool echo executed successfully with args {'text': 'banana'}.\nResults: {'echo': 'banana'}",
      'Where were we?',
    ]);
    expect(firstPrompt.messages[0].content).toContain('- Ada asked for work on the banana report');

    // The client sends back what it got; the next decision (now leaving the flow) still sees the seeded history.
    fake.enqueue({ action: 'MOVE', step_id: 'chat' });
    fake.enqueue({ text: 'Ada finished the banana report.' }); // the flow's exit summary
    fake.enqueue({ action: 'RESPOND', response: 'Back to chatting, Ada.' });
    const second = await call(app, 'POST', '/chat', { user_input: 'done with the report', session_data: first.body.session_data });
    expect(second.res.statusCode).toBe(200);
    expect(second.body.session_data).toMatchObject({ session_id: sessionId, current_step_id: 'chat', flow_state: null });
    const [, moveRequest, summarize, respond] = fake.requests.map((r) => r.body);
    expect(promptTexts(moveRequest).slice(0, 2)).toEqual(['Please echo banana', expect.stringContaining('banana')]);
    expect(promptTexts(moveRequest).slice(-3)).toEqual(['Where were we?', 'Still on the banana report.', 'done with the report']);
    // Exiting the flow summarises the seeded flow memory with the new turn's items; back in session memory, the
    // model sees the seeded session history.
    expect(JSON.stringify(summarize.messages)).toContain('Please echo banana');
    expect(promptTexts(respond).slice(0, 2)).toEqual(['My name is Ada', 'Hello Ada!']);
    expect(respond.messages[0].content).toContain('Ada finished the banana report.');

    // Unknown steps are refused before anything starts.
    const bad = { ...sessionData, session_id: `nomos-bad-${run}`, current_step_id: 'payment' };
    expect(expectNomosError(await call(app, 'POST', '/chat', { user_input: 'hi', session_data: bad }), 400, 'INVALID_REQUEST').message).toContain('unknown step "payment"');
    expectError(await call(app, 'GET', `/sessions/nomos-bad-${run}`), 404, 'SESSION_NOT_FOUND');

    // The seeded session's history replays with the current workflow code.
    await handle.signal('endSessionSignal');
    await handle.result();
    await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory(), `nomos-seed-${sessionId}`);
    await recordHistory('nomos-seed', handle);
  });
});
