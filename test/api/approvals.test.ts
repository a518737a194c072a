import { afterEach, describe, expect, it } from 'vitest';
import { TurnResult } from '../../src/engine/types.js';
import { ApprovalReply, SessionView } from '../../workflows/shared.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, type Harness } from '../support/api.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

const twoCalls = { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }, { tool: 'get_cart', arguments: {} }] };
const agentWith = (approval: { timeoutMs?: number; onTimeout: 'deny' | 'allow' } = { onTimeout: 'deny' }) =>
  testAgent({ flows: [], startStepId: 'order', approvals: { add_item: approval } });

async function start(script: Record<string, unknown>[], agent = agentWith(), app = {}) {
  h = await build({ script, agents: [agent], app });
  expect((await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's1' })).res.statusCode).toBe(201);
}

/** Polls the message's result until it is done. */
async function finalOf(messageId: string): Promise<TurnResult> {
  for (let i = 0; i < 200; i++) {
    const { res, body } = await call(h.app, 'GET', `/sessions/s1/messages/${messageId}`);
    if (res.statusCode === 200) return TurnResult.parse(body);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no final result for ${messageId}`);
}

describe('approvals over REST (in-process backend)', () => {
  it('pauses the turn, answers "approval pending", shows the call in state, and finishes after approve', async () => {
    await start([twoCalls, { action: 'RESPOND', response: 'Added a latte.' }]);
    const sent = await call(h.app, 'POST', '/sessions/s1/messages', { text: 'a latte', messageId: 'm1' });
    expect(sent.res.statusCode).toBe(200);
    const early = TurnResult.parse(sent.body);
    expect(early.reply).toMatch(/Waiting for approval to run add_item \(call t1\.1\)/);
    expect(early.pendingApprovals).toEqual([{ callId: 't1.1', tool: 'add_item', arguments: { item: 'latte' }, requestedAt: expect.any(String) }]);
    const state = SessionView.parse((await call(h.app, 'GET', '/sessions/s1')).body);
    expect(state).toMatchObject({ busy: true, pendingApprovals: [{ callId: 't1.1', tool: 'add_item' }] });
    expect(h.executors.toolRequests).toHaveLength(0); // nothing ran: not even get_cart, which needs no approval
    expect((await call(h.app, 'GET', '/sessions/s1/messages/m1')).res.statusCode).toBe(202);

    const decided = await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'approve', approver: 'alice' });
    expect(decided.res.statusCode).toBe(200);
    expect(ApprovalReply.parse(decided.body)).toMatchObject({ callId: 't1.1', decision: 'approve' });

    const final = await finalOf('m1');
    expect(final.reply).toBe('Added a latte.');
    expect(final.pendingApprovals).toBeUndefined();
    expect(final.events.find((e) => e.type === 'approval_decided')).toMatchObject({ callId: 't1.1', decision: 'approve', approver: 'alice', timedOut: false });
    expect(h.executors.toolRequests.map((calls) => calls.map((c) => c.tool))).toEqual([['add_item', 'get_cart']]);
    expect(SessionView.parse((await call(h.app, 'GET', '/sessions/s1')).body).pendingApprovals).toEqual([]);
    const events = (await h.backend.events('s1', 0)).events.map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['approval_requested', 'approval_decided', 'reply']));

    // Validator errors
    expectError(await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'deny' }), 409, 'APPROVAL_ALREADY_DECIDED');
    expectError(await call(h.app, 'POST', '/sessions/s1/approvals/t9.9', { decision: 'approve' }), 404, 'APPROVAL_NOT_FOUND');
    expectError(await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'maybe' }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'approve', extra: 1 }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'POST', '/sessions/nope/approvals/t1.1', { decision: 'approve' }), 404, 'SESSION_NOT_FOUND');
  });

  it('deny: the model sees the tool error with the reason; the other calls still run', async () => {
    await start([twoCalls, { action: 'RESPOND', response: 'Sorry, I may not add that.' }]);
    await call(h.app, 'POST', '/sessions/s1/messages', { text: 'a latte', messageId: 'm1' });
    await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'deny', reason: 'out of stock', approver: 'bob' });
    const final = await finalOf('m1');
    expect(final.reply).toBe('Sorry, I may not add that.');
    expect(final.events.find((e) => e.type === 'tool_error')).toMatchObject({ callId: 't1.1', message: 'call to add_item was denied by approver bob: out of stock' });
    expect(JSON.stringify(h.executors.decideRequests[1]!.messages)).toContain('denied by approver bob: out of stock');
    expect(h.executors.toolRequests.map((calls) => calls.map((c) => c.tool))).toEqual([['get_cart']]);
  });

  it('?wait=true waits through the approval for the final reply; a new message queues behind the paused turn', async () => {
    await start([twoCalls, { action: 'RESPOND', response: 'Added.' }, { action: 'RESPOND', response: 'Second answer.' }]);
    const waiting = call(h.app, 'POST', '/sessions/s1/messages?wait=true', { text: 'a latte', messageId: 'm1' });
    const second = call(h.app, 'POST', '/sessions/s1/messages', { text: 'and then?', messageId: 'm2' });
    for (let i = 0; i < 100 && SessionView.parse((await call(h.app, 'GET', '/sessions/s1')).body).pendingApprovals.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(h.executors.decideRequests).toHaveLength(1); // m2 waits behind m1
    await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'approve' });
    const first = await waiting;
    expect(first.res.statusCode).toBe(200);
    expect(first.body).toMatchObject({ messageId: 'm1', reply: 'Added.' });
    expect((await second).body).toMatchObject({ messageId: 'm2', turn: 2, reply: 'Second answer.' });
  });

  it('?wait=true answers 202 running when the approval does not come within the wait', async () => {
    await start([twoCalls, { action: 'RESPOND', response: 'Added.' }], agentWith(), { approvalWaitMs: 300 });
    const { res, body } = await call(h.app, 'POST', '/sessions/s1/messages?wait=true', { text: 'a latte', messageId: 'm1' });
    expect(res.statusCode).toBe(202);
    expect(body).toMatchObject({ status: 'running', resultUrl: '/sessions/s1/messages/m1' });
  });

  it('timeout decides by on_timeout: deny, or allow', async () => {
    for (const onTimeout of ['deny', 'allow'] as const) {
      await start([twoCalls, { action: 'RESPOND', response: 'ok' }], agentWith({ timeoutMs: 100, onTimeout }));
      await call(h.app, 'POST', '/sessions/s1/messages', { text: 'a latte', messageId: 'm1' });
      const final = await finalOf('m1');
      expect(final.events.find((e) => e.type === 'approval_decided')).toMatchObject({ timedOut: true, decision: onTimeout === 'allow' ? 'approve' : 'deny' });
      expect(h.executors.toolRequests.flat().map((c) => c.tool)).toEqual(onTimeout === 'allow' ? ['add_item', 'get_cart'] : ['get_cart']);
      expectError(await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'approve' }), 409, 'APPROVAL_ALREADY_DECIDED');
      await h.app.close();
    }
  });

  it('ending the session abandons the paused turn; decisions then answer 409 SESSION_ENDED', async () => {
    await start([twoCalls, { action: 'RESPOND', response: 'never' }]);
    await call(h.app, 'POST', '/sessions/s1/messages', { text: 'a latte', messageId: 'm1' });
    const ended = await call(h.app, 'DELETE', '/sessions/s1');
    expect(ended.body).toMatchObject({ status: 'ended', pendingApprovals: [] });
    expectError(await call(h.app, 'POST', '/sessions/s1/approvals/t1.1', { decision: 'approve' }), 409, 'SESSION_ENDED');
    expect(h.executors.toolRequests).toHaveLength(0);
  });
});
