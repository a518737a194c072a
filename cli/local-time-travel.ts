/**
 * Time travel for the in-process backend (`./local-sessions.ts`: `stepwise chat`, API tests): the same snapshots,
 * refusals and rewound state as the workflow's (`workflows/time-travel.ts`), over the states the process holds. Not
 * durable: snapshots live as long as the process (the newest {@link MAX_RUN_SNAPSHOTS} turns of each session).
 */
import { randomUUID } from 'node:crypto';
import { MAX_RUN_SNAPSHOTS, type RewindReply, RewindRequest, rewindBranchId, rewindState, type TurnStateLookup } from '../src/engine/rewind.js';
import type { SessionState } from '../src/engine/types.js';
import { CallerError } from '../src/errors.js';

/** A session as time travel sees it. */
export interface LocalTimeTravelSession {
  state: SessionState;
  answered: Map<string, number>;
  busy: boolean;
  queued: number;
  snapshots: Map<number, SessionState>;
}

/** Keeps `state` as its turn's snapshot (between turns only), the newest {@link MAX_RUN_SNAPSHOTS}. */
export function recordSnapshot(snapshots: Map<number, SessionState>, state: SessionState): void {
  if (state.turn !== null) return;
  snapshots.delete(state.counters.turns);
  snapshots.set(state.counters.turns, state);
  while (snapshots.size > MAX_RUN_SNAPSHOTS) snapshots.delete(snapshots.keys().next().value!);
}

/** `getTurnState` over a local session. */
export function lookupTurnState(session: LocalTimeTravelSession, turn: number): TurnStateLookup {
  const turns = session.state.counters.turns;
  if (!Number.isInteger(turn) || turn < 0 || turn > turns) return { status: 'unknown', turn, turns };
  const snapshot = session.snapshots.get(turn);
  if (!snapshot) return { status: 'missing', turn, turns };
  return { status: 'held', turn, state: JSON.stringify(snapshot), answered: [...session.answered].filter(([, t]) => t <= turn) };
}

/**
 * Rewinds a local session to its state after `toTurn`, in place.
 * @throws CallerError INVALID_REQUEST, SESSION_ENDED, TURN_NOT_FOUND, TURN_IN_FLIGHT, TURN_STATE_UNAVAILABLE (not
 *   retryable as is; TURN_IN_FLIGHT once the turn finished).
 */
export function rewindLocal(session: LocalTimeTravelSession, request: RewindRequest, now: string): RewindReply {
  const parsed = RewindRequest.safeParse(request);
  if (!parsed.success) throw new CallerError('INVALID_REQUEST', parsed.error.issues.map((i) => i.message).join('; '));
  const { toTurn } = parsed.data;
  const { state } = session;
  const fromTurn = state.counters.turns;
  if (state.status !== 'active') throw new CallerError('SESSION_ENDED', `session ${state.sessionId} has ended: fork it instead`);
  if (toTurn > fromTurn) throw new CallerError('TURN_NOT_FOUND', `session ${state.sessionId} has ${fromTurn} turns; cannot rewind to turn ${toTurn}`, { turns: fromTurn });
  if (session.busy || session.queued > 0 || state.turn !== null) throw new CallerError('TURN_IN_FLIGHT', `session ${state.sessionId} is running a turn; rewind once it finished`);
  if (toTurn === fromTurn) return { toTurn, fromTurn };
  const snapshot = session.snapshots.get(toTurn);
  if (!snapshot) throw new CallerError('TURN_STATE_UNAVAILABLE', `this process no longer holds the state after turn ${toTurn} of session ${state.sessionId}`, { turn: toTurn });
  const branch = rewindBranchId(toTurn, randomUUID());
  session.state = rewindState(state, snapshot, branch, now).state;
  for (const [id, t] of [...session.answered]) if (t > toTurn) session.answered.delete(id);
  for (const t of [...session.snapshots.keys()]) if (t > toTurn) session.snapshots.delete(t);
  return { toTurn, fromTurn, branch, source: 'live' };
}
