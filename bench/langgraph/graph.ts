/**
 * The peer of `npm run bench:langgraph`: what a user would build instead of a Stepwise session with LangGraph.js and its
 * PostgreSQL checkpointer. A `StateGraph` over `MessagesAnnotation` (the messages channel users pick for a chat
 * agent) with one node, `agent`, that does what Stepwise's one-decision turn does with the zero-latency scripted model
 * of bench:scale: the user message is appended (the turn's input), a scripted decision is made (`RESPOND` entry number
 * <user messages so far - 1>, `{action, response}` parsed as a model's JSON output would be), and the reply is
 * appended. Compiled with `PostgresSaver.fromConnString(url)` after `setup()` (its documented start:
 * libs/checkpoint-postgres/src/index.ts in langchain-ai/langgraphjs), so every turn is checkpointed durably in
 * PostgreSQL, one thread per session (`configurable.thread_id`).
 */
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';

/** The decision the scripted model returns for the `i`th user message (0-based), as raw model output text. */
const scriptedOutput = (i: number) => JSON.stringify({ action: 'RESPOND', response: `reply ${i}` });

/** The `agent` node: decides from the thread's messages and appends the reply. @throws on a non-RESPOND decision. */
function agent(state: typeof MessagesAnnotation.State): { messages: AIMessage[] } {
  const userMessages = state.messages.filter((m) => HumanMessage.isInstance(m)).length;
  const decision = JSON.parse(scriptedOutput(userMessages - 1)) as { action: string; response: string };
  if (decision.action !== 'RESPOND') throw new Error(`unexpected decision ${decision.action}`);
  return { messages: [new AIMessage(decision.response)] };
}

/** A compiled peer graph and its checkpointer (close it with `saver.end()`). */
export interface PeerGraph {
  saver: PostgresSaver;
  /** Sends `text` as the next user message of thread `threadId`; returns the reply's text. */
  turn(threadId: string, text: string): Promise<string>;
}

/**
 * Connects a `PostgresSaver` to `databaseUrl`, creates its tables (`setup()`: checkpoints, checkpoint_blobs,
 * checkpoint_writes, checkpoint_migrations) and compiles the graph with it.
 *
 * @throws whatever `pg` throws when the database cannot be reached.
 */
export async function peerGraph(databaseUrl: string): Promise<PeerGraph> {
  const saver = PostgresSaver.fromConnString(databaseUrl);
  await saver.setup();
  const graph = new StateGraph(MessagesAnnotation).addNode('agent', agent).addEdge(START, 'agent').addEdge('agent', END).compile({ checkpointer: saver });
  return {
    saver,
    async turn(threadId, text) {
      const out = await graph.invoke({ messages: [new HumanMessage(text)] }, { configurable: { thread_id: threadId } });
      return String(out.messages.at(-1)?.content ?? '');
    },
  };
}
