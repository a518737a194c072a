/**
 * `POST /ai-sdk/chat` and `GET /ai-sdk/chat/:id/stream` driven by AI SDK's real client (ai@6 `AbstractChat` +
 * `DefaultChatTransport`, the code `useChat` runs; `readUIMessageStream` for raw streams) over a listening server on
 * the in-process backend: a plain reply, tool calls, an approval answered on the next POST, steps and flows, a
 * retried POST (same turn, no second), a resumed stream, a failed turn, regenerate (a rewind and the message again).
 */
import { type DynamicToolUIPart, lastAssistantMessageIsCompleteWithApprovalResponses, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UiChunk } from '../../api/live/ui-message-chunks.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { TurnResult } from '../../src/engine/types.js';
import { SessionView } from '../../workflows/shared.js';
import { testAgent } from '../support/agents.js';
import { chatTransport, listen, TestChat } from '../support/ai-chat.js';
import { build, call, type Harness } from '../support/api.js';
import { type ScriptEntry, type ScriptedExecutors, scriptedExecutors } from '../support/scripted-executors.js';

/** Compile-time guard: every chunk Stepwise writes is one of the client's chunk types. */
const asClientChunk = (chunk: UiChunk): UIMessageChunk => chunk;
void asClientChunk;

let h: Harness;
let exec: ScriptedExecutors;
let baseUrl: string;
afterEach(async () => {
  await h?.app.close();
});

type Tools = Parameters<typeof scriptedExecutors>[1];

/** Serves `agent` over LocalSessions with a scripted model and `tools`, on a listening port. */
async function serve(script: ScriptEntry[], agent = testAgent(), { tools }: { tools?: Tools } = {}) {
  exec = scriptedExecutors(script, tools);
  h = await build({ agents: [agent], backend: new LocalSessions({ executors: () => exec, now: exec.now }), app: { events: { pollIntervalMs: 10 } } });
  baseUrl = await listen(h.app);
}

function chat(id: string, init: Partial<ConstructorParameters<typeof TestChat>[0]> = {}): TestChat {
  return new TestChat({ id, transport: chatTransport(baseUrl, 'test-agent'), ...init });
}

const textOf = (m: UIMessage | undefined) => (m?.parts ?? []).flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
const toolParts = (m: UIMessage | undefined) => (m?.parts ?? []).filter((p): p is DynamicToolUIPart => p.type === 'dynamic-tool');
const userMessage = (id: string, text: string): UIMessage => ({ id, role: 'user', parts: [{ type: 'text', text }] });

/** The chunks of one raw stream (what `useChat` parses), and the last message `readUIMessageStream` built from them. */
async function read(stream: ReadableStream<UIMessageChunk>): Promise<{ chunks: UIMessageChunk[]; message: UIMessage | undefined; errors: Error[] }> {
  const chunks: UIMessageChunk[] = [];
  const errors: Error[] = [];
  const [a, b] = stream.tee();
  const collect = (async () => {
    for await (const c of a as unknown as AsyncIterable<UIMessageChunk>) chunks.push(c);
  })();
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream: b, onError: (e) => errors.push(e as Error) })) message = m;
  await collect;
  return { chunks, message, errors };
}

describe('AI SDK chat endpoint (in-process backend, real AI SDK client)', () => {
  it('streams a plain reply as the protocol says: headers, start, text equal to the reply, finish metadata, [DONE]', async () => {
    await serve([{ action: 'RESPOND', response: 'Hello! What would you like?' }]);
    const c = chat('plain-1');
    await c.sendMessage({ text: 'hi' });
    await c.settled();
    expect(c.status).toBe('ready');
    const [user, assistant] = c.messages;
    expect(assistant).toMatchObject({ role: 'assistant', id: `${user!.id}:reply`, metadata: { step: 'greet', flow: null, ended: false } });
    expect(textOf(assistant)).toBe('Hello! What would you like?');

    // The user message's id is the turn's message id: the REST API reads the same turn.
    const turn = await call(h.app, 'GET', `/sessions/plain-1/messages/${user!.id}`);
    expect(turn.res.statusCode).toBe(200);
    expect(TurnResult.parse(turn.body).reply).toBe('Hello! What would you like?');

    // The wire: exact headers and frames (a retried POST replays the same turn).
    const res = await fetch(`${baseUrl}/ai-sdk/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'plain-1', messages: [user], trigger: 'submit-message', agentId: 'test-agent' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const frames = (await res.text()).split('\n\n').filter(Boolean);
    expect(frames.every((f) => f.startsWith('data: '))).toBe(true);
    expect(frames.at(-1)).toBe('data: [DONE]');
    expect(frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)).type)).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish']);
    expect(exec.decideRequests).toHaveLength(1);
  });

  it('tool calls become dynamic tool parts with their outputs and errors, in a step per model call', async () => {
    const calls = { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }, { tool: 'get_cart', arguments: {} }] };
    await serve([{ action: 'MOVE', step_id: 'order' }, calls, { action: 'RESPOND', response: 'Added a latte.' }], testAgent(), {
      tools: {
        add_item: ({ item }) => ({ added: item }),
        get_cart: () => {
          throw new Error('cart is down');
        },
      },
    });
    const c = chat('tools-1');
    await c.sendMessage({ text: 'a latte please' });
    await c.settled();
    const assistant = c.messages[1];
    expect(textOf(assistant)).toBe('Added a latte.');
    expect(toolParts(assistant)).toEqual([
      expect.objectContaining({ toolCallId: 't1.1', toolName: 'add_item', state: 'output-available', input: { item: 'latte' }, output: { added: 'latte' } }),
      expect.objectContaining({ toolCallId: 't1.2', toolName: 'get_cart', state: 'output-error', errorText: expect.stringContaining('cart is down') }),
    ]);
    // Step change and flow entry as data parts; a step per model call after the first that showed something.
    expect(assistant!.parts.filter((p) => p.type.startsWith('data-'))).toEqual([
      expect.objectContaining({ type: 'data-stepwise-step', data: { from: 'greet', to: 'order' } }),
      expect.objectContaining({ type: 'data-stepwise-flow', data: expect.objectContaining({ event: 'enter', flowId: 'ordering' }) }),
    ]);
    expect(assistant!.parts.map((p) => p.type).filter((t) => t === 'step-start')).toHaveLength(3); // MOVE, TOOL_CALL, RESPOND
    // With the turn's usage: scripted models report zero tokens; 3 decisions and the flow-entry summary are counted.
    expect(assistant!.metadata).toEqual({ step: 'order', flow: 'ordering', ended: false, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 4 } });
  });

  it('an approval: tool-approval-request, then the answer on the next POST decides it and streams the rest of the turn', async () => {
    const agent = testAgent({ flows: [], startStepId: 'order', approvals: { add_item: { onTimeout: 'deny' } } });
    const calls = { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }] };
    await serve([calls, { action: 'RESPOND', response: 'Added a latte.' }], agent, { tools: { add_item: ({ item }) => ({ added: item }) } });
    const c = chat('approve-1', { sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses });
    await c.sendMessage({ text: 'a latte' });
    await c.settled();
    expect(toolParts(c.messages[1])).toEqual([expect.objectContaining({ toolCallId: 't1.1', state: 'approval-requested', approval: { id: 't1.1' } })]);
    expect(textOf(c.messages[1])).toBe(''); // no "waiting for approval" text: the part is the question
    expect(c.messages[1]!.metadata).toEqual({ step: 'order', flow: null, ended: false, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 1 } });
    expect(SessionView.parse((await call(h.app, 'GET', '/sessions/approve-1')).body).pendingApprovals).toHaveLength(1);

    await c.addToolApprovalResponse({ id: 't1.1', approved: true });
    await waitForText(c, 'Added a latte.');
    await c.settled();
    expect(c.messages).toHaveLength(2); // the same assistant message, continued
    expect(toolParts(c.messages[1])).toEqual([expect.objectContaining({ toolCallId: 't1.1', state: 'output-available', output: { added: 'latte' } })]);
    const final = await call(h.app, 'GET', `/sessions/approve-1/messages/${c.messages[0]!.id}`);
    expect(TurnResult.parse(final.body).events.find((e) => e.type === 'approval_decided')).toMatchObject({ decision: 'approve' });
    expect(exec.toolRequests).toHaveLength(1);
  });

  it('a denied approval ends the call output-denied, and the model goes on', async () => {
    const agent = testAgent({ flows: [], startStepId: 'order', approvals: { add_item: { onTimeout: 'deny' } } });
    const calls = { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }] };
    await serve([calls, { action: 'RESPOND', response: 'Not added.' }], agent);
    const c = chat('deny-1', { sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses });
    await c.sendMessage({ text: 'a latte' });
    await c.settled();
    await c.addToolApprovalResponse({ id: 't1.1', approved: false, reason: 'no caffeine' });
    await waitForText(c, 'Not added.');
    await c.settled();
    expect(toolParts(c.messages[1])).toEqual([expect.objectContaining({ toolCallId: 't1.1', state: 'output-denied' })]);
    expect(exec.toolRequests).toHaveLength(0);
    expect(JSON.stringify(exec.decideRequests[1])).toContain('no caffeine');
  });

  it('a retried POST (same message id) gets the same turn, and no second one runs', async () => {
    await serve([{ action: 'RESPOND', response: 'once' }, { action: 'RESPOND', response: 'twice' }]);
    const transport = chatTransport(baseUrl, 'test-agent');
    const send = async () =>
      read(await transport.sendMessages({ chatId: 'retry-1', messages: [userMessage('m1', 'hi')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }));
    const first = await send();
    const again = await send();
    expect(textOf(first.message)).toBe('once');
    expect(again.chunks).toEqual(first.chunks);
    expect(exec.decideRequests).toHaveLength(1);
    expect(SessionView.parse((await call(h.app, 'GET', '/sessions/retry-1')).body).turns).toBe(1);
  });

  it('resumes a running turn from its start (GET /ai-sdk/chat/:id/stream), and answers 204 when nothing runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = { action: 'TOOL_CALL', tool_calls: [{ tool: 'get_cart', arguments: {} }] };
    await serve([{ action: 'MOVE', step_id: 'order' }, calls, { action: 'RESPOND', response: 'Your cart is empty.' }], testAgent(), {
      tools: { get_cart: async () => (await gate, { items: [] }) },
    });
    const transport = chatTransport(baseUrl, 'test-agent');
    expect(await transport.reconnectToStream({ chatId: 'nobody', abortSignal: undefined }).catch((e: Error) => e.message)).toMatch(/SESSION_NOT_FOUND/);
    const sent = transport.sendMessages({ chatId: 'resume-1', messages: [userMessage('m1', 'cart?')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined });
    const original = sent.then(read);
    await expectEventually(async () => expect(exec.toolRequests).toHaveLength(1)); // the tool is running
    const resumed = await transport.reconnectToStream({ chatId: 'resume-1', abortSignal: undefined });
    expect(resumed).not.toBeNull();
    const replay = read(resumed!);
    release();
    const [a, b] = await Promise.all([original, replay]);
    expect(textOf(b.message)).toBe('Your cart is empty.');
    expect(b.chunks).toEqual(a.chunks); // replayed from the turn's first event
    expect(toolParts(b.message)).toEqual([expect.objectContaining({ toolCallId: 't1.1', state: 'output-available' })]);
    expect(await transport.reconnectToStream({ chatId: 'resume-1', abortSignal: undefined })).toBeNull(); // 204: idle
  });

  it('a failed turn streams the fallback reply, then an error chunk and finish error', async () => {
    await serve([{ type: 'decideFailed', message: 'model is down' }]);
    const transport = chatTransport(baseUrl, 'test-agent');
    const { chunks, message, errors } = await read(
      await transport.sendMessages({ chatId: 'fail-1', messages: [userMessage('m1', 'hi')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }),
    );
    expect(textOf(message).length).toBeGreaterThan(0); // the engine's fallback reply
    expect(chunks.slice(-3)).toEqual([{ type: 'finish-step' }, { type: 'error', errorText: 'model is down' }, expect.objectContaining({ type: 'finish', finishReason: 'error' })]);
    expect(errors.map((e) => e.message)).toEqual(['model is down']);
  });

  it('regenerates the last reply (a rewind, then the same message again); refuses unknown agents and sessions without an agent, before any stream', async () => {
    await serve([{ action: 'RESPOND', response: 'hi' }, { action: 'RESPOND', response: 'never asked' }]);
    const c = chat('regen-1');
    await c.sendMessage({ text: 'hi' });
    await c.settled();
    await c.regenerate();
    await c.settled();
    expect(c.status).toBe('ready');
    // The scripted model answers decision #0 again: the same reply, and the session is still at turn 1.
    expect(c.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(textOf(c.messages.at(-1))).toBe('hi');
    expect((await call(h.app, 'GET', '/sessions/regen-1')).body.turns).toBe(1);
    const post = (body: Record<string, unknown>) => call(h.app, 'POST', '/ai-sdk/chat', { messages: [userMessage('m1', 'hi')], trigger: 'submit-message', ...body });
    expect((await post({ id: 'x-1', trigger: 'regenerate-message' })).body.error.code).toBe('INVALID_REQUEST'); // no such chat, no agentId
    expect((await post({ id: 'x-1', agentId: 'nope' })).body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await post({ id: 'x-1' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post({ id: 'regen-1', agentId: 'other-agent' })).body.error.code).toBe('INVALID_REQUEST');
  });
});

async function expectEventually(fn: () => Promise<void> | void, timeoutMs = 5_000): Promise<void> {
  await vi.waitFor(fn, { timeout: timeoutMs, interval: 10 });
}

/** Waits until the chat's last message has `text`. */
async function waitForText(c: TestChat, text: string): Promise<void> {
  await expectEventually(() => expect(textOf(c.messages.at(-1))).toBe(text));
}
