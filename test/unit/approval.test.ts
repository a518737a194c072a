import { describe, expect, it } from 'vitest';
import { approvalPolicy } from '../../src/config/agent.js';
import { NO_APPROVER_REASON, playTurn, runTurn } from '../../src/engine/driver.js';
import { advance, approvalStatus, initialState, pendingApprovals, resumeTurn, startTurn } from '../../src/engine/engine.js';
import { loadSessionState } from '../../src/engine/state.js';
import { type EngineStep, SessionState, TurnResult } from '../../src/engine/types.js';
import { step, testAgent } from '../support/agents.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

/** `order` step: add_item needs approval (1 h, deny on timeout); get_cart does not. */
const agent = testAgent({
  flows: [],
  startStepId: 'order',
  approvals: { add_item: { timeoutMs: 3_600_000, onTimeout: 'deny' } },
});
const T = '2026-01-01T00:00:00.000Z';
const twoCalls = { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }, { tool: 'get_cart', arguments: {} }] };

function start(a = agent, script: Record<string, unknown>[] = [twoCalls, { action: 'RESPOND', response: 'done' }]): EngineStep {
  const exec = scriptedExecutors(script);
  let step = startTurn(a, initialState(a, 's1', T), { messageId: 'm1', text: 'a latte please', now: T });
  // The engine's first command is `decide`: answer it from the script.
  step = advance(a, step.state, { type: 'decided', decision: script[0], now: T });
  void exec;
  return step;
}

describe('approval: engine', () => {
  it('pauses the whole decision when one call needs approval, with approval_requested and an early result', () => {
    const step = start();
    expect(step.command.type).toBe('awaitApproval');
    if (step.command.type !== 'awaitApproval') return;
    expect(step.command.approvals).toEqual([
      { callId: 't1.1', tool: 'add_item', arguments: { item: 'latte' }, requestedAt: T, timeoutAt: '2026-01-01T01:00:00.000Z', onTimeout: 'deny' },
    ]);
    const early = TurnResult.parse(JSON.parse(JSON.stringify(step.command.result)));
    expect(early.reply).toMatch(/Waiting for approval to run add_item \(call t1\.1\)/);
    expect(early.pendingApprovals).toEqual([{ callId: 't1.1', tool: 'add_item', arguments: { item: 'latte' }, requestedAt: T, timeoutAt: '2026-01-01T01:00:00.000Z' }]);
    expect(early.events.map((e) => e.type)).toEqual(['turn_started', 'user_message', 'decision', 'tool_call', 'tool_call', 'approval_requested']);
    expect(pendingApprovals(step.state).map((p) => p.callId)).toEqual(['t1.1']);
    expect(approvalStatus(step.state, 't1.1')).toBe('pending');
    expect(approvalStatus(step.state, 't1.2')).toBe('unknown');
    // The paused state survives JSON and carries the wait (continue-as-new input).
    const carried = loadSessionState(JSON.parse(JSON.stringify(step.state)));
    expect(carried.turn?.approval?.calls.map((c) => c.callId)).toEqual(['t1.1', 't1.2']);
    expect(resumeTurn(carried).command).toEqual(step.command);
  });

  it('approve runs the approved call together with the calls that needed none, then asks the model again', () => {
    const paused = start();
    const next = advance(agent, paused.state, { type: 'approvalDecided', callId: 't1.1', decision: 'approve', approver: 'alice', timedOut: false, now: T });
    expect(next.command).toMatchObject({ type: 'runTools', calls: [{ callId: 't1.1', tool: 'add_item' }, { callId: 't1.2', tool: 'get_cart' }] });
    expect(next.state.events.at(-1)).toMatchObject({ type: 'approval_decided', callId: 't1.1', tool: 'add_item', decision: 'approve', approver: 'alice', timedOut: false });
    expect(next.state.turn?.approval).toBeUndefined();
    expect(approvalStatus(next.state, 't1.1')).toBe('decided');
    expect(() => advance(agent, next.state, { type: 'approvalDecided', callId: 't1.1', decision: 'deny', timedOut: false, now: T })).toThrow(/not waiting/);
  });

  it('deny reports a tool error with the reason to the model and runs the other calls', async () => {
    const exec = scriptedExecutors([twoCalls, { action: 'RESPOND', response: 'Sorry, not allowed.' }], { get_cart: () => ['tea'], add_item: () => 'added' });
    const { result } = await runTurn(agent, initialState(agent, 's1', T), { messageId: 'm1', text: 'latte' }, {
      ...exec,
      awaitApproval: async (cmd) => ({ callId: cmd.approvals[0]!.callId, decision: 'deny', approver: 'bob', reason: 'too expensive', timedOut: false }),
    });
    expect(exec.toolRequests.map((calls) => calls.map((c) => c.tool))).toEqual([['get_cart']]);
    const error = result.events.find((e) => e.type === 'tool_error');
    expect(error).toMatchObject({ callId: 't1.1', tool: 'add_item', message: 'call to add_item was denied by approver bob: too expensive' });
    // The model's next prompt shows the denial.
    const prompt = JSON.stringify(exec.decideRequests[1]!.messages);
    expect(prompt).toContain('add_item failed: call to add_item was denied by approver bob: too expensive');
    expect(result.reply).toBe('Sorry, not allowed.');
    expect(result.pendingApprovals).toBeUndefined();
    expect(result.events.map((e) => e.type)).toContain('approval_decided');
  });

  it('a timed-out call is decided by its policy (deny, or allow)', async () => {
    for (const onTimeout of ['deny', 'allow'] as const) {
      const a = testAgent({ flows: [], startStepId: 'order', approvals: { add_item: { timeoutMs: 1000, onTimeout } } });
      const exec = scriptedExecutors([twoCalls, { action: 'RESPOND', response: 'ok' }], { get_cart: () => [], add_item: () => 'added' });
      const { result } = await runTurn(a, initialState(a, 's1', T), { messageId: 'm1', text: 'latte' }, {
        ...exec,
        awaitApproval: async (cmd) => ({ callId: cmd.approvals[0]!.callId, decision: cmd.approvals[0]!.onTimeout === 'allow' ? 'approve' : 'deny', timedOut: true }),
      });
      const decided = result.events.find((e) => e.type === 'approval_decided');
      expect(decided).toMatchObject({ timedOut: true, decision: onTimeout === 'allow' ? 'approve' : 'deny' });
      const ran = exec.toolRequests.flat().map((c) => c.tool);
      expect(ran).toEqual(onTimeout === 'allow' ? ['add_item', 'get_cart'] : ['get_cart']);
      if (onTimeout === 'deny') expect(JSON.stringify(result.events)).toContain('not approved in time');
    }
  });

  it('a step with requires_approval pauses every call; calls are decided one by one', async () => {
    const a = testAgent({ flows: [], startStepId: 'order', steps: [step('order', { tools: ['add_item', 'get_cart'], requiresApproval: true })] });
    expect(approvalPolicy(a, 'order', 'get_cart')).toEqual({ onTimeout: 'deny' });
    const exec = scriptedExecutors([twoCalls, { action: 'RESPOND', response: 'ok' }], { get_cart: () => [], add_item: () => 'added' });
    const seen: string[][] = [];
    const early: TurnResult[] = [];
    const out = await playTurn(a, startTurn(a, initialState(a, 's1', T), { messageId: 'm1', text: 'x', now: T }), {
      ...exec,
      onPaused: (r) => early.push(r),
      awaitApproval: async (cmd) => {
        seen.push(cmd.approvals.map((p) => p.callId));
        return { callId: cmd.approvals[0]!.callId, decision: 'approve', timedOut: false };
      },
    });
    expect(seen).toEqual([['t1.1', 't1.2'], ['t1.2']]);
    expect(early.map((r) => r.pendingApprovals?.length)).toEqual([2, 1]);
    expect('result' in out && out.result.reply).toBe('ok');
    expect(exec.toolRequests).toHaveLength(1);
  });

  it('a host may suspend a paused turn and resume it from carried state', async () => {
    const exec = scriptedExecutors([twoCalls, { action: 'RESPOND', response: 'done' }], { get_cart: () => [], add_item: () => 'added' });
    const first = await playTurn(agent, startTurn(agent, initialState(agent, 's1', T), { messageId: 'm1', text: 'x', now: T }), { ...exec, awaitApproval: async () => 'suspend' });
    expect('suspended' in first).toBe(true);
    const carried = SessionState.parse(JSON.parse(JSON.stringify(first.state)));
    const second = await playTurn(agent, resumeTurn(carried), {
      ...exec,
      awaitApproval: async (cmd) => ({ callId: cmd.approvals[0]!.callId, decision: 'approve', timedOut: false }),
    });
    expect('result' in second && second.result.reply).toBe('done');
    expect('result' in second && second.result.events[0]?.type).toBe('turn_started'); // the whole turn's events
  });

  it('a host without approvers denies; agents without approval policies never pause', async () => {
    const exec = scriptedExecutors([twoCalls, { action: 'RESPOND', response: 'ok' }], { get_cart: () => [] });
    const { result } = await runTurn(agent, initialState(agent, 's1', T), { messageId: 'm1', text: 'x' }, exec);
    expect(JSON.stringify(result.events)).toContain(NO_APPROVER_REASON);
    const plain = testAgent({ flows: [], startStepId: 'order' });
    const step = start(plain);
    expect(step.command.type).toBe('runTools');
  });

  it('version 1 state (before approvals) still loads', async () => {
    const { readFileSync } = await import('node:fs');
    const v1 = JSON.parse(readFileSync(new URL('../fixtures/state/v1-session-state.json', import.meta.url), 'utf8'));
    expect(v1.schemaVersion).toBe(1);
    expect(loadSessionState(v1).schemaVersion).toBe(2);
  });
});
