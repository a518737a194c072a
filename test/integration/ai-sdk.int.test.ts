/**
 * `POST /ai-sdk/chat` on the real Temporal dev server, driven by AI SDK's own client (ai@6 `AbstractChat` +
 * `DefaultChatTransport`, what `useChat` runs): a first message starts the session workflow (update-with-start under
 * the UI message id), a flow with a tool call, an approval answered on the next POST (the `decideApproval` update),
 * a retried POST that gets the same turn, a file part (stored, referenced, sent to the model through the official
 * OpenAI SDK on the fake model server), and a stream resumed while a slow tool runs.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type DynamicToolUIPart, lastAssistantMessageIsCompleteWithApprovalResponses, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TurnResult } from '../../src/engine/types.js';
import { SessionView, sessionWorkflowId } from '../../workflows/shared.js';
import { ModelCache } from '../../activities/models/model.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { startFakeModelServer } from '../support/fake-model-server.js';
import { mediaParts, uniquePng } from '../support/model-attachments.js';
import { historyText, rawHistory } from '../support/raw-history.js';
import { chatTransport, listen, TestChat } from '../support/ai-chat.js';
import { writeAgent } from '../support/int-agent.js';
import { serveOnTemporal } from '../support/int-api.js';
import { connectTemporal } from '../support/temporal.js';

const textOf = (m: UIMessage | undefined) => (m?.parts ?? []).flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
const toolParts = (m: UIMessage | undefined) => (m?.parts ?? []).filter((p): p is DynamicToolUIPart => p.type === 'dynamic-tool');

async function chunksOf(stream: ReadableStream<UIMessageChunk>): Promise<{ chunks: UIMessageChunk[]; message: UIMessage | undefined }> {
  const chunks: UIMessageChunk[] = [];
  const [a, b] = stream.tee();
  const collect = (async () => {
    for await (const c of a as unknown as AsyncIterable<UIMessageChunk>) chunks.push(c);
  })();
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream: b })) message = m;
  await collect;
  return { chunks, message };
}

describe('AI SDK chat endpoint on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  const run = Date.now().toString(36);
  const sid = (name: string) => `aisdk-${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function serving<T>(
    agents: Awaited<ReturnType<typeof writeAgent>>[],
    fn: (app: FastifyInstance, baseUrl: string) => Promise<T>,
    extra: Pick<Parameters<typeof serveOnTemporal>[1], 'archive' | 'models'> = {},
  ): Promise<T> {
    const served = await serveOnTemporal(env, { agents, taskQueue: `stepwise-int-aisdk-${process.pid}-${agents[0]!.snapshot.name}`, ...extra });
    try {
      return await fn(served.app, await listen(served.app));
    } finally {
      await served.stop();
    }
  }

  it('a first message starts the workflow; a flow with a tool call streams as parts; a retried POST replays the same turn', async () => {
    const agent = await writeAgent('aisdk-flow', [
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'hi' } }] },
      { action: 'RESPOND', response: 'echoed hi' },
    ]);
    await serving([agent], async (app, baseUrl) => {
      const id = sid('flow');
      const c = new TestChat({ id, transport: chatTransport(baseUrl, 'aisdk-flow') });
      await c.sendMessage({ text: 'echo hi' });
      await c.settled(30_000);
      expect(c.error?.message).toBeUndefined();
      expect(c.status).toBe('ready');
      const [user, assistant] = c.messages;
      expect(textOf(assistant)).toBe('echoed hi');
      expect(toolParts(assistant)).toEqual([expect.objectContaining({ toolCallId: 't1.1', toolName: 'echo', state: 'output-available', output: { echo: 'hi' } })]);
      expect(assistant!.parts.filter((p) => p.type.startsWith('data-'))).toEqual([
        expect.objectContaining({ type: 'data-stepwise-step', data: { from: 'chat', to: 'work' } }),
        expect.objectContaining({ type: 'data-stepwise-flow', data: expect.objectContaining({ event: 'enter', flowId: 'working' }) }),
      ]);
      // Scripted models: zero tokens; 3 decisions and the flow-entry summary counted.
      expect(assistant!.metadata).toEqual({ step: 'work', flow: 'working', ended: false, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 4 } });
      // The UI message id is the turn's message id in the workflow.
      const turn = await app.inject({ method: 'GET', url: `/sessions/${id}/messages/${user!.id}` });
      expect(TurnResult.parse(turn.json()).reply).toBe('echoed hi');

      const transport = chatTransport(baseUrl, 'aisdk-flow');
      const again = await chunksOf(await transport.sendMessages({ chatId: id, messages: [user!], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }));
      expect(textOf(again.message)).toBe('echoed hi');
      expect(toolParts(again.message)).toHaveLength(1);
      expect(SessionView.parse((await app.inject({ method: 'GET', url: `/sessions/${id}` })).json()).turns).toBe(1);
    });
  });

  it('an approval: the request chunk, then the answer on the next POST is the decideApproval update and the turn finishes', async () => {
    const agent = await writeAgent(
      'aisdk-approve',
      [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'ok' } }] }, { action: 'RESPOND', response: 'approved and echoed' }],
      {},
      { tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } } },
    );
    await serving([agent], async (app, baseUrl) => {
      const id = sid('approve');
      const c = new TestChat({ id, transport: chatTransport(baseUrl, 'aisdk-approve'), sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses });
      await c.sendMessage({ text: 'echo ok' });
      await c.settled(30_000);
      expect(toolParts(c.messages[1])).toEqual([expect.objectContaining({ toolCallId: 't1.1', state: 'approval-requested', approval: { id: 't1.1' } })]);
      expect(SessionView.parse((await app.inject({ method: 'GET', url: `/sessions/${id}` })).json()).pendingApprovals).toHaveLength(1);

      await c.addToolApprovalResponse({ id: 't1.1', approved: true });
      await vi.waitFor(() => expect(textOf(c.messages.at(-1))).toBe('approved and echoed'), { timeout: 30_000, interval: 50 });
      await c.settled(30_000);
      expect(c.messages).toHaveLength(2);
      expect(toolParts(c.messages[1])).toEqual([expect.objectContaining({ toolCallId: 't1.1', state: 'output-available', output: { echo: 'ok' } })]);
    });
  });

  it("a file part (a data: URL, as useChat makes of a picked file) is stored, referenced in the workflow and sent to the model as an image", async () => {
    const models = await startFakeModelServer();
    try {
      const agent = await writeAgent('aisdk-files', [], {}, { llm: { provider: 'openai', model: 'gpt-test', base_url: models.openaiBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY' } });
      const png = uniquePng(`aisdk-${run}`);
      await serving(
        [agent],
        async (app, baseUrl) => {
          const id = sid('files');
          models.enqueue({ action: 'RESPOND', response: 'A one-pixel image.' });
          const c = new TestChat({ id, transport: chatTransport(baseUrl, 'aisdk-files') });
          await c.sendMessage({ text: 'what is this?', files: [{ type: 'file', mediaType: 'image/png', filename: 'dot.png', url: `data:image/png;base64,${png.toString('base64')}` }] });
          await c.settled(30_000);
          expect(c.error?.message).toBeUndefined();
          expect(textOf(c.messages[1])).toBe('A one-pixel image.');
          expect(mediaParts(models.requests[0]!)).toEqual([{ type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }]);
          const turn = TurnResult.parse((await app.inject({ method: 'GET', url: `/sessions/${id}/messages/${c.messages[0]!.id}` })).json());
          const ref = turn.events.find((e) => e.type === 'user_message')!;
          expect(ref).toMatchObject({ text: 'what is this?', files: [{ mediaType: 'image/png', name: 'dot.png', size: png.length }] });
          const text = historyText(await rawHistory(env.client, sessionWorkflowId(id)));
          expect(text).toContain('what is this?');
          expect(text).not.toContain(png.toString('base64').slice(-60));
        },
        { archive: new InMemoryArchiveStore(), models: new ModelCache({ env: { STEPWISE_FAKE_KEY: 'sk-test-aisdk-files' } }) },
      );
    } finally {
      await models.close();
    }
  });

  it('resumes the running turn while a slow tool runs (GET /ai-sdk/chat/:id/stream), 204 once it is done', async () => {
    const agent = await writeAgent('aisdk-resume', [
      { action: 'MOVE', step_id: 'work' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 2_000 } }] },
      { action: 'RESPOND', response: 'waited' },
    ]);
    await serving([agent], async (app, baseUrl) => {
      const id = sid('resume');
      const transport = chatTransport(baseUrl, 'aisdk-resume');
      const first: UIMessage = { id: 'm1', role: 'user', parts: [{ type: 'text', text: 'wait' }] };
      const original = transport.sendMessages({ chatId: id, messages: [first], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }).then(chunksOf);
      await vi.waitFor(
        async () => {
          const view = (await app.inject({ method: 'GET', url: `/sessions/${id}` })).json() as { busy?: boolean };
          expect(view.busy).toBe(true);
        },
        { timeout: 15_000, interval: 50 },
      );
      const resumed = await transport.reconnectToStream({ chatId: id, abortSignal: undefined });
      expect(resumed).not.toBeNull();
      const [a, b] = await Promise.all([original, chunksOf(resumed!)]);
      expect(textOf(a.message)).toBe('waited');
      expect(textOf(b.message)).toBe('waited');
      expect(toolParts(b.message)).toEqual([expect.objectContaining({ toolName: 'slow', state: 'output-available', output: { waited: 2_000 } })]);
      expect(await transport.reconnectToStream({ chatId: id, abortSignal: undefined })).toBeNull();
    });
  });
});
