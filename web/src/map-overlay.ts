/**
 * A session drawn on its agent's map, derived from its events alone (pure; no DOM): where it is (step and flow),
 * the path it took (how often each route was taken, how often each step was visited), where it waited for an
 * approval and where decisions or turns failed, and which step each turn ran in (the inspector's turn links).
 * The same events rebuild the same overlay after a reload or reconnect.
 */
import type { SessionEvent } from './api.js';

export interface MapOverlay {
  /** The step the session is at (the start step before any step change). */
  stepId: string;
  /** The active flow, if any. */
  flowId?: string;
  /** Times each route was taken, by `"<from>→<to>"`. */
  routeCounts: Record<string, number>;
  /** Turns that ran in each step (a turn counts in every step it visited). */
  visits: Record<string, number>;
  /** Approvals requested in each step. */
  approvals: Record<string, number>;
  /** Invalid decisions, tool errors and failed turns in each step. */
  failures: Record<string, number>;
  /** Steps each turn visited, in order (the first is where it started). */
  turnSteps: Record<number, string[]>;
  ended: boolean;
}

/** The key of a route in {@link MapOverlay.routeCounts}. */
export const routeKey = (from: string, to: string) => `${from}→${to}`;

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * Builds the overlay. `startStepId`/`startFlowId`: where the session began (its agent's start step; the flow of the
 * session's first state, when the engine entered it without an event). Events in any order; duplicates by seq ignored.
 */
export function mapOverlay(events: readonly SessionEvent[], startStepId: string, startFlowId?: string): MapOverlay {
  const sorted = [...new Map(events.map((e) => [e.seq, e])).values()].sort((a, b) => a.seq - b.seq);
  const out: MapOverlay = { stepId: startStepId, ...(startFlowId ? { flowId: startFlowId } : {}), routeCounts: {}, visits: {}, approvals: {}, failures: {}, turnSteps: {}, ended: false };
  const visitedIn = (turn: number, step: string) => {
    const list = (out.turnSteps[turn] ??= []);
    if (!list.includes(step)) {
      list.push(step);
      bump(out.visits, step);
    }
  };
  for (const e of sorted) {
    switch (e.type) {
      case 'turn_started':
        visitedIn(e.turn, out.stepId);
        break;
      case 'step_change':
        bump(out.routeCounts, routeKey(e.from, e.to));
        out.stepId = e.to;
        visitedIn(e.turn, e.to);
        break;
      case 'flow_enter':
        out.flowId = e.flowId;
        break;
      case 'flow_exit':
        delete out.flowId;
        break;
      case 'approval_requested':
        bump(out.approvals, out.stepId);
        break;
      case 'decision_error':
      case 'tool_error':
      case 'turn_failed':
        bump(out.failures, out.stepId);
        break;
      case 'session_ended':
        out.ended = true;
        break;
      default:
        break;
    }
  }
  return out;
}
