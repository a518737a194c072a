/**
 * Message attachments in the pure layers: the reference schemas (strict: no bytes can ride along), the user message
 * and carried-state schemas, and the engine taking a message's files into its event, memory and prompt (and leaving
 * every object as before for a message without files).
 */
import { describe, expect, it } from 'vitest';
import { runTurn } from '../../src/engine/driver.js';
import { initialState } from '../../src/engine/engine.js';
import { FileRef, FileRefs, MAX_FILES_PER_MESSAGE } from '../../src/engine/files.js';
import { ChatMessage, MemoryItem, SessionEvent } from '../../src/engine/types.js';
import { SessionWorkflowInput, UserMessage } from '../../src/session/contract.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

const stored: FileRef = { fileId: 'f-0123456789abcdef0123456789abcdef', mediaType: 'image/png', name: 'cat.png', size: 70 };
const byUrl: FileRef = { fileId: 'u-0123456789abcdef0123456789abcdef', mediaType: 'application/pdf', url: 'https://example.com/menu.pdf' };

describe('file references', () => {
  it('accept stored and URL references and survive JSON', () => {
    for (const ref of [stored, byUrl]) expect(FileRef.parse(JSON.parse(JSON.stringify(ref)))).toEqual(ref);
  });

  it('refuse inline bytes, other URL schemes, media types with parameters, and too many files', () => {
    expect(FileRef.safeParse({ ...stored, data: 'iVBORw0KGgo=' }).success).toBe(false);
    expect(FileRef.safeParse({ ...byUrl, url: 'data:application/pdf;base64,JVBERi0=' }).success).toBe(false);
    expect(FileRef.safeParse({ ...byUrl, url: 'file:///etc/passwd' }).success).toBe(false);
    expect(FileRef.safeParse({ ...stored, mediaType: 'image/png; charset=x' }).success).toBe(false);
    expect(FileRef.safeParse({ ...stored, mediaType: 'Image/PNG' }).success).toBe(false);
    expect(FileRef.safeParse({ ...stored, fileId: 'a/b' }).success).toBe(false);
    expect(FileRefs.safeParse(Array.from({ length: MAX_FILES_PER_MESSAGE + 1 }, () => stored)).success).toBe(false);
  });

  it('ride on user messages, events, memory items, prompt messages and carried pending messages', () => {
    const message = { messageId: 'm1', text: 'what is this?', files: [stored, byUrl] };
    expect(UserMessage.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
    expect(UserMessage.safeParse({ ...message, files: [{ ...stored, data: 'x' }] }).success).toBe(false);
    const event = { seq: 1, turn: 1, at: '2026-01-01T00:00:00.000Z', type: 'user_message', messageId: 'm1', text: 'hi', files: [stored] };
    expect(SessionEvent.parse(event)).toEqual(event);
    expect(MemoryItem.parse({ seq: 0, turn: 1, role: 'user', text: 'hi', files: [stored] }).files).toEqual([stored]);
    expect(ChatMessage.parse({ role: 'user', content: 'hi', files: [byUrl] }).files).toEqual([byUrl]);
    const input = SessionWorkflowInput.shape.carried.unwrap().shape.pending;
    expect(input.parse([message])).toEqual([message]);
  });
});

describe('engine: a message with files', () => {
  const agent = testAgent({ flows: [] });
  const fresh = () => initialState(agent, 's1', '2026-01-01T00:00:00.000Z');

  it('records the references in the user_message event and memory, and sends them with that message in the prompt', async () => {
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'A cat.' }, { action: 'RESPOND', response: 'Still a cat.' }]);
    const first = await runTurn(agent, fresh(), { messageId: 'm1', text: 'what is this?', files: [stored] }, exec);
    expect(first.result.events.find((e) => e.type === 'user_message')).toMatchObject({ text: 'what is this?', files: [stored] });
    expect(first.state.memory.items[0]).toEqual({ seq: 0, turn: 1, role: 'user', text: 'what is this?', files: [stored] });
    expect(exec.decideRequests[0]!.messages.at(-1)).toEqual({ role: 'user', content: 'what is this?', files: [stored] });

    // The next turn's prompt still shows the image with the message that brought it, and none on the new one.
    await runTurn(agent, first.state, { messageId: 'm2', text: 'sure?' }, exec);
    const prompt = exec.decideRequests[1]!.messages;
    expect(prompt.filter((m) => m.files)).toEqual([{ role: 'user', content: 'what is this?', files: [stored] }]);
    expect(prompt.at(-1)).toEqual({ role: 'user', content: 'sure?' });
  });

  it('a flow entered on the message keeps its files on the trigger item: the decisions inside still see the image', async () => {
    const flows = testAgent(); // greet -> order enters flow `ordering`
    const exec = scriptedExecutors([{ action: 'MOVE', step_id: 'order' }, { action: 'RESPOND', response: 'One of those, then.' }]);
    const start = initialState(flows, 's1', '2026-01-01T00:00:00.000Z');
    const { state } = await runTurn(flows, start, { messageId: 'm1', text: 'I want this one', files: [stored] }, exec);
    expect(state.flow?.flowId).toBe('ordering');
    expect(state.flow?.memory.items[0]).toMatchObject({ role: 'user', text: 'I want this one', files: [stored] });
    const inFlow = exec.decideRequests.at(-1)!.messages;
    expect(inFlow.filter((m) => m.files)).toEqual([{ role: 'user', content: 'I want this one', files: [stored] }]);
  });

  it('leaves a message without files (or with an empty list) exactly as before: no `files` key anywhere', async () => {
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'Hi.' }]);
    const { state, result } = await runTurn(agent, fresh(), { messageId: 'm1', text: 'hi', files: [] }, exec);
    expect(JSON.stringify([state, result, exec.decideRequests])).not.toContain('"files"');
  });
});
