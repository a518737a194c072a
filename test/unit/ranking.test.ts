/**
 * Ranking by embeddings in the pure engine (src/engine/ranking.ts): the `rank` command before a decision, its scores
 * choosing memory items and examples (which BM25 could not choose), the BM25 fallback with its `retrieval_fallback`
 * event, and sessions that never rank (started before embeddings, scripted agents, nothing to rank).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY, type AgentSnapshot } from '../../src/config/agent.js';
import { runTurn } from '../../src/engine/driver.js';
import { advance, initialState, startTurn } from '../../src/engine/engine.js';
import { RankRequest, type EngineStep, type SessionState } from '../../src/engine/types.js';
import { step, testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

const NOW = '2026-01-01T00:00:00.000Z';
const OPENAI = { provider: 'openai' as const, model: 'gpt-4o-mini' };

/** An agent outside flows with embedding retrieval (k 1, one recent item) on an openai llm. */
function embeddingAgent(over: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return testAgent({
    flows: [],
    llms: { global: OPENAI },
    memory: { ...DEFAULT_MEMORY, recentItems: 1, retrieveK: 1, retrieverMethod: 'embedding' },
    ...over,
  });
}

/** Session state whose memory holds `texts` as user items. */
function withMemory(state: SessionState, texts: string[]): SessionState {
  const items = texts.map((text, i) => ({ seq: i, turn: 0, role: 'user' as const, text }));
  return { ...state, memory: { summaries: [], items }, counters: { ...state.counters, items: items.length } };
}

const TOMATO = 'my favourite vegetable is the tomato';
const SUNNY = 'I love sunny weather';
const QUERY = 'remind me what I love';

function systemPrompt(step: EngineStep): string {
  if (step.command.type !== 'decide') throw new Error(`expected decide, got ${step.command.type}`);
  return step.command.request.messages[0]!.content;
}

describe('rank command (embeddings sessions)', () => {
  it('asks for a ranking of the older items, and its scores pick the item BM25 cannot (no shared word)', () => {
    const agent = embeddingAgent();
    const state = withMemory(initialState(agent, 's1', NOW), [TOMATO, SUNNY]);
    expect(state.embeddings).toBe(true);
    const asked = startTurn(agent, state, { messageId: 'm1', text: QUERY, now: NOW });
    expect(asked.command).toEqual({
      type: 'rank',
      request: { sessionId: 's1', llm: { provider: 'openai', model: 'text-embedding-3-small' }, query: QUERY, candidates: [TOMATO, SUNNY] },
    });
    // Payload boundary: the request survives JSON.
    expect(RankRequest.parse(JSON.parse(JSON.stringify(asked.command.type === 'rank' ? asked.command.request : null)))).toBeTruthy();
    expect(asked.state.counters.decisions).toBe(0);

    const decided = advance(agent, asked.state, { type: 'ranked', scores: [0.91, 0.12], now: NOW });
    const prompt = systemPrompt(decided);
    expect(prompt).toContain(`## Relevant earlier messages\n- (user) ${TOMATO}`);
    expect(prompt).not.toContain(SUNNY);
    // The scores served this decision only.
    expect(decided.state.turn?.ranking).toBeUndefined();

    // Without embeddings the same memory retrieves the item sharing words with the message.
    const lexical = startTurn(agent, withMemory(initialState(agent, 's2', NOW, 2, false), [TOMATO, SUNNY]), { messageId: 'm1', text: QUERY, now: NOW });
    expect(systemPrompt(lexical)).toContain(`- (user) ${SUNNY}`);
    expect(systemPrompt(lexical)).not.toContain(TOMATO);
  });

  it('falls back to BM25 for the rest of the turn when ranking fails, with a retrieval_fallback event', async () => {
    const agent = embeddingAgent();
    const state = withMemory(initialState(agent, 's1', NOW), [TOMATO, SUNNY]);
    const exec = scriptedExecutors([{ action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: {} }] }, { action: 'RESPOND', response: 'ok' }]);
    const ranks: RankRequest[] = [];
    const out = await runTurn(agent, { ...state, stepId: 'order' }, { messageId: 'm1', text: QUERY }, {
      ...exec,
      runTools: async (calls) => calls.map((c) => ({ callId: c.callId, tool: c.tool, ok: true as const, result: 'added' })),
      rank: async (request) => {
        ranks.push(request);
        return { type: 'rankFailed', message: 'openai request failed with HTTP 404: no embeddings endpoint' };
      },
    });
    expect(ranks).toHaveLength(1); // the second decision of the turn did not ask again
    const fallback = out.result.events.filter((e) => e.type === 'retrieval_fallback');
    expect(fallback).toEqual([expect.objectContaining({ message: 'openai request failed with HTTP 404: no embeddings endpoint' })]);
    expect(exec.decideRequests).toHaveLength(2);
    expect(exec.decideRequests[0]!.messages[0]!.content).toContain(`- (user) ${SUNNY}`);
    expect(out.result.reply).toBe('ok');
  });

  it('a host without a rank executor falls back the same way, and the turn still replies', async () => {
    const agent = embeddingAgent();
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'fine' }]);
    const out = await runTurn(agent, withMemory(initialState(agent, 's1', NOW), [TOMATO, SUNNY]), { messageId: 'm1', text: QUERY }, exec);
    expect(out.result.reply).toBe('fine');
    expect(out.result.events.map((e) => e.type)).toContain('retrieval_fallback');
  });

  it('ranks dynamic examples by cosine with threshold as an absolute similarity (NOMOS Step.get_examples)', () => {
    const examples = [
      { context: 'alpha context', decision: { action: 'RESPOND', response: 'A' } },
      { context: 'beta context', decision: { action: 'RESPOND', response: 'B' } },
      { context: 'gamma context', decision: { action: 'RESPOND', response: 'C' } },
      { context: 'delta context', visibility: 'always' as const },
    ];
    const agent = embeddingAgent({
      memory: { ...DEFAULT_MEMORY },
      steps: [step('greet', { examples })],
      maxExamples: 3,
      exampleThreshold: 0.5,
    });
    const asked = startTurn(agent, initialState(agent, 's1', NOW), { messageId: 'm1', text: 'something unrelated', now: NOW });
    expect(asked.command.type === 'rank' && asked.command.request.candidates).toEqual(['alpha context', 'beta context', 'gamma context']);
    // Top 2 (3 minus the always one) by cosine: gamma 0.8, alpha 0.55; beta 0.3 is out (and below threshold).
    const prompt = systemPrompt(advance(agent, asked.state, { type: 'ranked', scores: [0.55, 0.3, 0.8], now: NOW }));
    expect(prompt).toContain('- delta context\n- gamma context => {"action":"RESPOND","response":"C"}\n- alpha context');
    expect(prompt).not.toContain('beta context');
    // All below the absolute threshold: only the always example.
    const low = systemPrompt(advance(agent, asked.state, { type: 'ranked', scores: [0.2, 0.1, 0.49], now: NOW }));
    expect(low).toContain('- delta context');
    expect(low).not.toMatch(/alpha|beta|gamma/);
  });

  it('asks nothing when nothing needs ranking, for scripted agents, and for sessions started without embeddings', () => {
    const agent = embeddingAgent({ memory: { ...DEFAULT_MEMORY, recentItems: 1, retrieveK: 3, retrieverMethod: 'embedding' } });
    // Two older items, k = 3: top-k is all of them, no ranking needed.
    const few = startTurn(agent, withMemory(initialState(agent, 's1', NOW), [TOMATO, SUNNY]), { messageId: 'm1', text: QUERY, now: NOW });
    expect(few.command.type).toBe('decide');
    expect(systemPrompt(few)).toContain(TOMATO);

    const scripted = embeddingAgent({ llms: { global: { provider: 'scripted', script: '/dev/null' } } });
    expect(initialState(scripted, 's2', NOW).embeddings).toBeUndefined();
    expect(startTurn(scripted, withMemory(initialState(scripted, 's2', NOW), [TOMATO, SUNNY, 'x']), { messageId: 'm1', text: QUERY, now: NOW }).command.type).toBe('decide');

    const old = initialState(embeddingAgent(), 's3', NOW, 2, false);
    expect(old.embeddings).toBeUndefined();
    expect(startTurn(embeddingAgent(), withMemory(old, [TOMATO, SUNNY]), { messageId: 'm1', text: QUERY, now: NOW }).command.type).toBe('decide');
  });

  it('clips candidate texts and caps their number (bounds of one rank request)', () => {
    const agent = embeddingAgent();
    const texts = Array.from({ length: 60 }, (_, i) => `${i} ${'z'.repeat(3_000)}`);
    const asked = startTurn(agent, withMemory(initialState(agent, 's1', NOW), texts), { messageId: 'm1', text: 'q'.repeat(5_000), now: NOW });
    if (asked.command.type !== 'rank') throw new Error('expected rank');
    const { request } = asked.command;
    expect(request.candidates).toHaveLength(48);
    expect(request.candidates[0]!.startsWith('12 ')).toBe(true); // the newest older items
    expect(Math.max(...request.candidates.map((c) => c.length), request.query.length)).toBe(1_000);
    expect(() => RankRequest.parse(request)).not.toThrow();
  });
});
