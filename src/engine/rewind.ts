/**
 * Time travel, the pure part (docs/time-travel.md): the shapes of rewind and fork requests and replies, and the state
 * a rewind produces from the snapshot of an earlier turn.
 *
 * A past turn's state is a *snapshot*: the exact `JSON.stringify` of the session state the engine returned when the
 * turn finished (held in the live run's memory, and written to the archive with the turn). Nothing is re-driven, so
 * no model or tool is called again, and a fork's state equals what the session held then.
 *
 * Pure: no Temporal, no I/O; ids and timestamps come in as arguments.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import type { SessionEvent, SessionState } from './types.js';

/** A turn number as a time-travel target: 0 (before the first turn) up to the session's turn count. */
export const TurnNumber = lazySchema(() => z.number().int().min(0).max(1_000_000_000));

/** `rewind` update payload (`POST /sessions/:sessionId/rewind`): go back to the state after turn `toTurn`. */
export const RewindRequest = lazySchema(() => z.strictObject({ toTurn: TurnNumber }));
export type RewindRequest = z.infer<typeof RewindRequest>;

/**
 * `rewind` update result. `branch` names the superseded turns `toTurn+1..fromTurn` in the archive (absent when
 * nothing was superseded: `toTurn` was already the session's last turn, so a retried rewind changes nothing).
 */
export const RewindReply = lazySchema(() => z.object({
  toTurn: z.number().int(),
  fromTurn: z.number().int(),
  branch: z.string().optional(),
  /** Where the snapshot came from: this run's memory, or the archive. */
  source: z.enum(['live', 'archive']).optional(),
}));
export type RewindReply = z.infer<typeof RewindReply>;

/**
 * `getTurnState(turn)` query reply: the snapshot after `turn` when this run holds it (`state` is the snapshot's JSON
 * text, byte for byte), `answered` the `[messageId, turn]` pairs the session remembered for turns up to it.
 * `missing`: not held by this run (older than the run, or than {@link MAX_RUN_SNAPSHOTS} turns); `unknown`: the
 * session never reached that turn.
 */
export const TurnStateLookup = lazySchema(() => z.discriminatedUnion('status', [
  z.object({
    status: z.literal('held'),
    turn: z.number().int(),
    state: z.string(),
    answered: z.array(z.tuple([z.string(), z.number().int()])),
  }),
  z.object({ status: z.literal('missing'), turn: z.number().int(), turns: z.number().int() }),
  z.object({ status: z.literal('unknown'), turn: z.number().int(), turns: z.number().int() }),
]));
export type TurnStateLookup = z.infer<typeof TurnStateLookup>;

/**
 * Snapshots of the newest turns a live run holds in memory (no history cost: rebuilt on replay), 100: rewinds within
 * them need no archive. Older turns come from the archive's snapshots.
 */
export const MAX_RUN_SNAPSHOTS = 100;

/** Branch id of turns superseded by a rewind: `r<toTurn>-<id>` (`id` from the workflow's deterministic uuid4). */
export function rewindBranchId(toTurn: number, id: string): string {
  return `r${toTurn}-${id.slice(0, 8)}`;
}

/**
 * The state after a rewind: the snapshot of turn `toTurn` as it was (step, flow and memory, counters, kept events and
 * results), with one difference so that live event streams stay resumable: the event sequence goes on from
 * `current` (`counters.events`), and a `rewound` event (that sequence's next number, turn `toTurn`) is appended.
 *
 * @throws Error when the snapshot is not a state after turn `toTurn` of the same session (a bug: not retryable).
 */
export function rewindState(current: SessionState, snapshot: SessionState, branch: string, now: string): { state: SessionState; event: SessionEvent } {
  if (snapshot.sessionId !== current.sessionId || snapshot.turn !== null || snapshot.counters.turns > current.counters.turns) {
    throw new Error(`snapshot of turn ${snapshot.counters.turns} does not belong before turn ${current.counters.turns} of session ${current.sessionId}`);
  }
  const seq = Math.max(current.counters.events, snapshot.counters.events);
  const event: SessionEvent = {
    seq,
    turn: snapshot.counters.turns,
    at: now,
    type: 'rewound',
    toTurn: snapshot.counters.turns,
    fromTurn: current.counters.turns,
    branch,
  };
  const state: SessionState = {
    ...snapshot,
    counters: { ...snapshot.counters, events: seq + 1 },
    events: [...snapshot.events, event],
    updatedAt: now,
  };
  return { state, event };
}

/** A fork's starting state: the parent's snapshot, under the fork's session id (nothing else changes). */
export function forkState(snapshot: SessionState, sessionId: string): SessionState {
  return { ...snapshot, sessionId };
}
