/**
 * The web app's pure view logic (web/src/timeline.ts): the transcript, step, flow, approvals and suggestions derived
 * from events, and the partial reply decoded from the model's streamed JSON text.
 */
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../web/src/api.js';
import { partialResponse, summarize } from '../../web/src/timeline.js';

let seq = 0;
const at = '2026-01-01T00:00:00.000Z';
function ev<T extends SessionEvent['type']>(turn: number, type: T, fields: Omit<Extract<SessionEvent, { type: T }>, 'seq' | 'turn' | 'at' | 'type'>): SessionEvent {
  return { seq: seq++, turn, at, type, ...fields } as unknown as SessionEvent;
}

describe('summarize', () => {
  it('builds the transcript, step, flow and suggestions from events, in seq order, duplicates ignored', () => {
    seq = 0;
    const events = [
      ev(1, 'turn_started', { messageId: 'm1' }),
      ev(1, 'user_message', { messageId: 'm1', text: 'hi' }),
      ev(1, 'step_change', { from: 'greet', to: 'order' }),
      ev(1, 'flow_enter', { flowId: 'ordering', summary: 's' }),
      ev(1, 'reply', { text: 'hello', fallback: false, suggestions: ['a latte', 'the menu'] }),
    ];
    const view = summarize([...events].reverse().concat(events[1]));
    expect(view.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'hi'],
      ['agent', 'hello'],
    ]);
    expect(view).toMatchObject({ stepId: 'order', flowId: 'ordering', busy: false, ended: false, lastSeq: 4, suggestions: ['a latte', 'the menu'] });

    const more = [...events, ev(2, 'turn_started', { messageId: 'm2' }), ev(2, 'user_message', { messageId: 'm2', text: 'x' })];
    expect(summarize(more)).toMatchObject({ busy: true, suggestions: [] });
    const exited = [...more, ev(2, 'flow_exit', { flowId: 'ordering', summary: 's2' }), ev(2, 'reply', { text: 'ok', answer: { total: 3 }, fallback: true })];
    const v = summarize(exited);
    expect(v.flowId).toBeNull();
    expect(v.messages.at(-1)).toMatchObject({ role: 'agent', answer: { total: 3 }, fallback: true });
  });

  it("keeps a user message's files (references) on its transcript entry, and none on messages without", () => {
    seq = 0;
    const files = [{ fileId: 'f-1', mediaType: 'image/png', name: 'cat.png', size: 70 }, { fileId: 'u-1', mediaType: 'application/pdf', url: 'https://example.com/a.pdf' }];
    const view = summarize([ev(1, 'user_message', { messageId: 'm1', text: 'look', files }), ev(2, 'user_message', { messageId: 'm2', text: 'plain' })]);
    expect(view.messages[0]).toMatchObject({ role: 'user', text: 'look', files });
    expect('files' in view.messages[1]!).toBe(false);
  });

  it('tracks pending approvals until decided, and none once the session ended', () => {
    seq = 0;
    const requested = [
      ev(1, 'approval_requested', { callId: 't1.1', tool: 'refund', arguments: { amount: 5 } }),
      ev(1, 'approval_requested', { callId: 't1.2', tool: 'refund', arguments: { amount: 9 }, timeoutAt: at }),
    ];
    expect(summarize(requested).pendingApprovals.map((p) => p.callId)).toEqual(['t1.1', 't1.2']);
    const decided = [...requested, ev(1, 'approval_decided', { callId: 't1.1', tool: 'refund', decision: 'approve', timedOut: false })];
    expect(summarize(decided).pendingApprovals).toEqual([{ callId: 't1.2', tool: 'refund', arguments: { amount: 9 }, requestedAt: at, timeoutAt: at }]);
    const ended = [...decided, ev(1, 'session_ended', { reason: 'end_session' })];
    expect(summarize(ended)).toMatchObject({ pendingApprovals: [], ended: true });
    expect(summarize(ended).messages.at(-1)).toMatchObject({ role: 'notice', text: 'Session ended (end session).' });
  });
});

describe('partialResponse', () => {
  it('decodes the response string as far as it has streamed, escapes included', () => {
    expect(partialResponse('{"action":"TOOL_CALL","tool_calls":[')).toBeUndefined();
    expect(partialResponse('{"action":"RESPOND","response":"One lat')).toBe('One lat');
    expect(partialResponse('{"action":"RESPOND", "response" : "say \\"hi\\"\\nnow')).toBe('say "hi"\nnow');
    expect(partialResponse('{"response":"caf\\u00e9 ok"}')).toBe('café ok');
    expect(partialResponse('{"response":"cut \\')).toBe('cut ');
    expect(partialResponse('{"response":"cut \\u00')).toBe('cut ');
    expect(partialResponse('{"response":"done","reasoning":["x"]}')).toBe('done');
  });

  it('reads the last decision when several were streamed', () => {
    expect(partialResponse('{"action":"RESPOND","response":"first"}{"action":"RESPOND","response":"sec')).toBe('sec');
  });
});
