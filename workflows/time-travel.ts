/**
 * Time travel in the session workflow (docs/time-travel.md): the snapshots of this run's turns, the `getTurnState`
 * query a fork reads them with, and the `rewind` update.
 *
 * Snapshots are the state objects the engine returned after each turn (it never mutates a state), kept in memory for
 * the newest {@link MAX_RUN_SNAPSHOTS} turns of the run: they cost no history (replay rebuilds them). Older turns come
 * from the archive (`loadTurnState`, an activity whose result is the snapshot recorded with that turn).
 *
 * Sandbox-safe: imports `@temporalio/workflow`, pure engine code and activity *types* only.
 */
import { ApplicationFailure, patched, uuid4 } from '@temporalio/workflow';
import type { SessionActivities } from '../src/engine/types.js';
import { MAX_RUN_SNAPSHOTS, type RewindReply, RewindRequest, rewindBranchId, rewindState, type TurnStateLookup } from '../src/engine/rewind.js';
import { loadSessionState } from '../src/engine/state.js';
import type { SessionState } from '../src/engine/types.js';
import { type ActivityMode, byActivityMode, now } from './activity-executors.js';
import type { ArchiveWrite } from './archive-writes.js';
import { PATCH_IDS, SESSION_CONTINUING } from './shared.js';

/** `loadTurnState`: a local activity in runs recorded before `no-local-activities`, a regular one since. */
const archiveCalls = byActivityMode({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 3 },
});

/** What the session workflow lends time travel. */
export interface TimeTravelHost {
  state(): SessionState;
  setState(state: SessionState): void;
  /** Why nothing may be rewound now: `ended`, `in_flight` (a turn runs, waits for approval, or is queued), `continuing`. */
  blocked(): 'ended' | 'in_flight' | 'continuing' | undefined;
  /** Whether the session writes to an archive (so older snapshots can be read from it). */
  archiveOn(): boolean;
  /** `[messageId, turn]` the session remembers as answered. */
  answered(): Array<[string, number]>;
  /** Forgets the message ids answered by turns after `turn` (they may be sent again). */
  forgetAfter(turn: number): void;
  /** Writes to the archive in order with the session's other writes. */
  archiveWrite(write: ArchiveWrite): Promise<void>;
  /** After the state changed: memo and search attributes. */
  changed(): void;
  /** How the run calls activities (known from its first activation on; rewinds run after it). */
  activityMode(): ActivityMode;
}

/** Snapshots, `getTurnState` and `rewind` for one run. */
export class TimeTravel {
  /** State after turn N, by N, oldest first (insertion order). */
  private readonly snapshots = new Map<number, SessionState>();
  /** Set while a rewind is being applied: turns wait, messages and other rewinds are refused. */
  rewinding = false;

  constructor(private readonly host: TimeTravelHost) {
    this.record(host.state());
  }

  /** Keeps `state` as the snapshot of its turn (only between turns). */
  record(state: SessionState): void {
    if (state.turn !== null) return;
    const turn = state.counters.turns;
    this.snapshots.delete(turn);
    this.snapshots.set(turn, state);
    for (const key of this.snapshots.keys()) {
      if (this.snapshots.size <= MAX_RUN_SNAPSHOTS) break;
      this.snapshots.delete(key);
    }
  }

  /** The `getTurnState` query. */
  lookup(turn: number): TurnStateLookup {
    const turns = this.host.state().counters.turns;
    if (!Number.isInteger(turn) || turn < 0 || turn > turns) return { status: 'unknown', turn, turns };
    const snapshot = this.snapshots.get(turn);
    if (!snapshot) return { status: 'missing', turn, turns };
    return { status: 'held', turn, state: JSON.stringify(snapshot), answered: this.host.answered().filter(([, t]) => t <= turn) };
  }

  /** The `rewind` validator: throws the refusal (a non-retryable `ApplicationFailure` typed with its code). */
  validate(request: RewindRequest): void {
    const parsed = RewindRequest.safeParse(request);
    if (!parsed.success) throw refusal('INVALID_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const state = this.host.state();
    const { toTurn } = parsed.data;
    if (this.rewinding) throw refusal('REWIND_IN_PROGRESS', `session ${state.sessionId} is applying another rewind; retry`);
    const blocked = this.host.blocked();
    if (blocked === 'ended') throw refusal('SESSION_ENDED', `session ${state.sessionId} has ended: fork it instead`);
    if (blocked === 'continuing') throw refusal(SESSION_CONTINUING, `session ${state.sessionId} is continuing as new`);
    if (toTurn > state.counters.turns) {
      throw refusal('TURN_NOT_FOUND', `session ${state.sessionId} has ${state.counters.turns} turns; cannot rewind to turn ${toTurn}`, {
        turns: state.counters.turns,
      });
    }
    if (blocked === 'in_flight') throw refusal('TURN_IN_FLIGHT', `session ${state.sessionId} is running a turn; rewind once it finished`);
    if (toTurn < state.counters.turns && !this.snapshots.has(toTurn) && !this.host.archiveOn()) {
      throw refusal('TURN_STATE_UNAVAILABLE', `the state after turn ${toTurn} is older than this run holds, and the session has no archive`, {
        turn: toTurn,
        oldestHeld: this.snapshots.keys().next().value,
      });
    }
  }

  /**
   * The `rewind` handler: loads the snapshot (memory, else archive), then, in one step, replaces the state, forgets the
   * superseded message ids and queues the archive write that moves the superseded turns to a branch. A snapshot the
   * archive does not have fails the update with TURN_STATE_UNAVAILABLE and changes nothing.
   */
  async rewind(request: RewindRequest): Promise<RewindReply> {
    const { toTurn } = request;
    const fromTurn = this.host.state().counters.turns;
    if (toTurn === fromTurn) return { toTurn, fromTurn };
    patched(PATCH_IDS.timeTravel);
    this.rewinding = true;
    try {
      let snapshot = this.snapshots.get(toTurn);
      let source: 'live' | 'archive' = 'live';
      if (!snapshot) {
        const sessionId = this.host.state().sessionId;
        const found = await archiveCalls(this.host.activityMode()).loadTurnState({ sessionId, turn: toTurn });
        if (!found) throw refusal('TURN_STATE_UNAVAILABLE', `the archive has no state after turn ${toTurn} of session ${sessionId}`, { turn: toTurn });
        snapshot = { ...loadSessionState(JSON.parse(found.state)), sessionId };
        source = 'archive';
      }
      const branch = rewindBranchId(toTurn, uuid4());
      const { state, event } = rewindState(this.host.state(), snapshot, branch, now());
      this.host.setState(state);
      this.host.forgetAfter(toTurn);
      // The snapshot of `toTurn` stays the original (what the session held after that turn, as the archive has it).
      for (const turn of [...this.snapshots.keys()]) if (turn > toTurn) this.snapshots.delete(turn);
      this.host.changed();
      await this.host.archiveWrite({
        kind: 'rewind',
        input: { sessionId: state.sessionId, toTurn, branch, reason: 'rewind', at: event.at, event },
      });
      return { toTurn, fromTurn, branch, source };
    } finally {
      this.rewinding = false;
    }
  }
}

function refusal(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, ...(details !== undefined ? { details: [details] } : {}) });
}
