/**
 * A session drawn on its agent's map (web/src/map-overlay.ts), pure: current step and flow, route counts, visits,
 * approvals and failures per step, and the steps of each turn, from events alone (any order, duplicates ignored).
 */
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../web/src/api.js';
import { mapOverlay, routeKey } from '../../web/src/map-overlay.js';

let seq = 0;
const at = '2026-01-01T00:00:00.000Z';
function ev<T extends SessionEvent['type']>(turn: number, type: T, fields: Omit<Extract<SessionEvent, { type: T }>, 'seq' | 'turn' | 'at' | 'type'>): SessionEvent {
  return { seq: seq++, turn, at, type, ...fields } as unknown as SessionEvent;
}

describe('mapOverlay', () => {
  it('follows the session through steps and flows, counting routes, visits, approvals and failures', () => {
    seq = 0;
    const events = [
      ev(1, 'turn_started', { messageId: 'm1' }),
      ev(1, 'reply', { text: 'hi', fallback: false }),
      ev(2, 'turn_started', { messageId: 'm2' }),
      ev(2, 'step_change', { from: 'greeting', to: 'take_order' }),
      ev(2, 'flow_enter', { flowId: 'order_flow', summary: '' }),
      ev(2, 'tool_error', { callId: 'c1', tool: 'add_to_cart', message: 'unknown item' }),
      ev(2, 'step_change', { from: 'take_order', to: 'finalize_order' }),
      ev(2, 'flow_exit', { flowId: 'order_flow', summary: '' }),
      ev(3, 'turn_started', { messageId: 'm3' }),
      ev(3, 'approval_requested', { callId: 'c2', tool: 'place_order', arguments: {} }),
      ev(3, 'step_change', { from: 'finalize_order', to: 'take_order' }),
      ev(3, 'decision_error', { iteration: 1, message: 'bad' }),
    ];
    const shuffled = [...events.slice(6), ...events.slice(0, 6), events[3]!];
    const o = mapOverlay(shuffled, 'greeting');
    expect(o.stepId).toBe('take_order');
    expect(o.flowId).toBeUndefined();
    expect(o.routeCounts).toEqual({ [routeKey('greeting', 'take_order')]: 1, [routeKey('take_order', 'finalize_order')]: 1, [routeKey('finalize_order', 'take_order')]: 1 });
    expect(o.visits).toEqual({ greeting: 2, take_order: 2, finalize_order: 2 });
    expect(o.turnSteps).toEqual({ 1: ['greeting'], 2: ['greeting', 'take_order', 'finalize_order'], 3: ['finalize_order', 'take_order'] });
    expect(o.approvals).toEqual({ finalize_order: 1 });
    expect(o.failures).toEqual({ take_order: 2 });
    expect(o.ended).toBe(false);
  });

  it('starts at the start step (and flow) before any event, and sees the end', () => {
    seq = 0;
    expect(mapOverlay([], 'a', 'f')).toMatchObject({ stepId: 'a', flowId: 'f', visits: {} });
    expect(mapOverlay([ev(1, 'session_ended', { reason: 'end_action' })], 'a').ended).toBe(true);
  });
});
