/**
 * AI SDK's chat client without React, for tests of `POST /ai-sdk/chat`: ai@6's own `AbstractChat` (the class
 * `useChat` wraps: `@ai-sdk/react`'s `Chat` only adds React state) with `DefaultChatTransport`, over a plain array
 * state. So a test drives exactly the requests and stream parsing a `useChat` page does.
 */
import type { AddressInfo } from 'node:net';
import { AbstractChat, type ChatInit, type ChatState, type ChatStatus, DefaultChatTransport, type UIMessage } from 'ai';
import type { FastifyInstance } from 'fastify';
import { vi } from 'vitest';

/** `ChatState` over an array (what `@ai-sdk/react` keeps in React state). */
class ArrayChatState implements ChatState<UIMessage> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  messages: UIMessage[] = [];
  pushMessage = (message: UIMessage) => {
    this.messages = [...this.messages, message];
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index: number, message: UIMessage) => {
    this.messages = this.messages.map((m, i) => (i === index ? message : m));
  };
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

/** A chat as `useChat` has it: `sendMessage`, `addToolApprovalResponse`, `resumeStream`, `messages`, `status`. */
export class TestChat extends AbstractChat<UIMessage> {
  constructor(init: Omit<ChatInit<UIMessage>, 'transport'> & { transport: DefaultChatTransport<UIMessage> }) {
    super({ ...init, state: new ArrayChatState() });
  }

  /** Resolves once the chat is `ready` or `error` again (after a request and any automatic follow-up). */
  async settled(timeoutMs = 10_000): Promise<void> {
    await vi.waitFor(() => {
      if (this.status !== 'ready' && this.status !== 'error') throw new Error(`chat is ${this.status}`);
    }, { timeout: timeoutMs, interval: 10 });
  }
}

/** Starts `app` on a free loopback port; returns its base URL (`http://127.0.0.1:<port>`). */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The transport a `useChat` page of agent `agentId` would use against `baseUrl`. */
export function chatTransport(baseUrl: string, agentId: string): DefaultChatTransport<UIMessage> {
  return new DefaultChatTransport({ api: `${baseUrl}/ai-sdk/chat`, body: { agentId } });
}
