/**
 * Everything that crosses Temporal survives JSON (STYLE.md 4): each payload schema parses its own JSON round trip,
 * built from real engine output rather than hand-written literals where possible.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AgentSnapshot } from '../../src/config/agent.js';
import { loadAgent } from '../../runtime/agents/load.js';
import { runTurn } from '../../src/engine/driver.js';
import { initialState } from '../../src/engine/engine.js';
import {
  DecideRequest,
  RankRequest,
  RankResult,
  SessionState,
  SummarizeRequest,
  ToolCallRequest,
  ToolCallResult,
  TurnResult,
} from '../../src/engine/types.js';
import { ApprovalReply, ApprovalRequest, EventsPage, SessionHistory, SessionView, SessionWorkflowInput, UserMessage } from '../../workflows/shared.js';
import { testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

function roundTrip<S extends z.ZodType>(schema: S, value: unknown): void {
  const parsed = schema.parse(value);
  expect(schema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
}

describe('payload schemas round-trip through JSON', () => {
  it('engine payloads from a real turn with a flow, tools and a summary', async () => {
    const agent = testAgent();
    const exec = scriptedExecutors(
      [
        { action: 'MOVE', step_id: 'order' },
        { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }, { tool: 'get_cart', arguments: {} }] },
        { action: 'RESPOND', response: 'done' },
      ],
      { add_item: () => ({ ok: true }), get_cart: () => { throw new Error('cart down'); } },
    );
    const { state, result } = await runTurn(agent, initialState(agent, 's', '2026-01-01T00:00:00.000Z'), { messageId: 'm1', text: 'latte' }, exec);
    roundTrip(TurnResult, result);
    roundTrip(SessionState, state);
    for (const r of exec.decideRequests) roundTrip(DecideRequest, r);
    for (const r of exec.summarizeRequests) roundTrip(SummarizeRequest, r);
    for (const r of exec.toolRequests.flat()) roundTrip(ToolCallRequest, r);
    roundTrip(ToolCallResult, { callId: 't1.1', tool: 'x', ok: false, error: 'cart down' });
    roundTrip(ToolCallResult, { callId: 't1.1', tool: 'x', ok: true, result: { n: 1 } });
    roundTrip(SessionHistory, { sessionId: 's', turns: [result] });
    roundTrip(EventsPage, { firstSeq: 0, nextSeq: state.counters.events, events: state.events, ended: false });
    roundTrip(SessionWorkflowInput, { sessionId: 's', agent, carried: { state, pending: [{ messageId: 'm2', text: 'hi' }], run: 1 } });
  });

  it('rank payloads and embeddings session state (a mid-turn ranking, a fallback event) from a real turn', async () => {
    const agent = testAgent({ flows: [], llms: { global: { provider: 'openai', model: 'm' } }, memory: { recentItems: 1, recentChars: 8_000, maxItems: 200, retrieveK: 1, retrieverMethod: 'embedding' } });
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'one' }, { action: 'RESPOND', response: 'two' }, { action: 'RESPOND', response: 'three' }]);
    const ranks: RankRequest[] = [];
    const states: SessionState[] = [];
    let state = initialState(agent, 's', '2026-01-01T00:00:00.000Z');
    for (const [i, text] of ['a', 'b', 'c'].entries()) {
      const rank = async (r: RankRequest) => {
        ranks.push(r);
        return i === 1 ? { type: 'ranked' as const, scores: r.candidates.map(() => 0.5) } : { type: 'rankFailed' as const, message: 'HTTP 404' };
      };
      ({ state } = await runTurn(agent, state, { messageId: `m${i}`, text }, { ...exec, rank, onState: (s) => states.push(s) }));
    }
    expect(ranks.length).toBeGreaterThan(0);
    for (const r of ranks) roundTrip(RankRequest, r);
    roundTrip(RankResult, { scores: [0.25, -0.5], model: 'text-embedding-3-small' });
    const ranked = states.filter((s) => s.turn?.ranking);
    expect(ranked.length).toBeGreaterThan(0);
    for (const s of [...ranked, state]) roundTrip(SessionState, s);
    expect(state.events.map((e) => e.type)).toContain('retrieval_fallback');
  });

  it('a loaded example agent snapshot and the message/view payloads', async () => {
    const loaded = await loadAgent(join(import.meta.dirname, '..', '..', 'examples', 'barista', 'barista.agent.yaml'));
    roundTrip(AgentSnapshot, loaded.snapshot);
    roundTrip(UserMessage, { messageId: 'm-1', text: 'hello' });
    roundTrip(SessionView, {
      sessionId: 's', agentName: 'a', configHash: 'h', status: 'active', stepId: 'x', turns: 0, queued: 0, busy: false,
      run: 1, lastEventSeq: -1, createdAt: 'T', updatedAt: 'T',
      pendingApprovals: [{ callId: 't1.1', tool: 'pay', arguments: { amount: 3 }, requestedAt: 'T', timeoutAt: 'T2' }],
    });
    roundTrip(ApprovalRequest, { callId: 't1.1', decision: 'deny', reason: 'no', approver: 'alice' });
    roundTrip(ApprovalReply, { callId: 't1.1', decision: 'approve', decidedAt: 'T' });
  });

  it('no secret can enter an agent snapshot: llm configs carry variable names only', async () => {
    const loaded = await loadAgent(join(import.meta.dirname, '..', '..', 'examples', 'barista', 'barista.agent.yaml'), {
      env: { ...process.env, OPENAI_API_KEY: 'sk-test-secret-value', ANTHROPIC_API_KEY: 'sk-ant-secret' },
    });
    const json = JSON.stringify(loaded.snapshot);
    expect(json).not.toContain('sk-test-secret-value');
    expect(json).not.toContain('sk-ant-secret');
  });
});
