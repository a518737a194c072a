/**
 * The archive's part of time travel (docs/time-travel.md): per-turn state snapshots, and superseded turns kept as
 * branches. An optional capability of an {@link ArchiveStore} ({@link hasTimeTravel}); the PostgreSQL store has it
 * (`./pg-time-travel.ts`), the in-memory store does not (`stepwise chat` and offline tests do not time travel).
 */
import { z } from 'zod';
import { SessionEvent } from '../engine/types.js';
import { SessionId } from '../session/contract.js';
import { ArchivedTurn, ArchiveTimestamp, type ArchiveStore, DEFAULT_TURNS_LIMIT, MAX_TURNS_LIMIT } from './store.js';

/** Why turns were superseded: a `rewind` (update), or a Temporal `reset` noticed when another run wrote the same turn. */
export const SupersedeReason = z.enum(['rewind', 'reset']);
export type SupersedeReason = z.infer<typeof SupersedeReason>;

/** Branch ids: 1-128 characters of letters, digits, `_`, `-`, `.`, `:` (like session ids). */
export const BranchId = SessionId;

/** `supersedeTurns` input: the live turns after `toTurn` become branch `branch`; `event` (a `rewound`) is archived. */
export const SupersedeRecord = z.object({
  sessionId: SessionId,
  toTurn: z.number().int().min(0),
  branch: BranchId,
  reason: SupersedeReason,
  at: ArchiveTimestamp,
  event: SessionEvent.optional(),
});
export type SupersedeRecord = z.input<typeof SupersedeRecord>;

/** A snapshot read back: the exact JSON text, and the `[messageId, turn]` pairs answered up to it (newest 2,000). */
export const TurnStateRecord = z.object({
  turn: z.number().int(),
  state: z.string(),
  answered: z.array(z.tuple([z.string(), z.number().int()])),
});
export type TurnStateRecord = z.infer<typeof TurnStateRecord>;

/** One superseded branch of a session. `turns` is how many turns it holds (`fromTurn+1..fromTurn+turns`). */
export const ArchivedBranch = z.object({
  branch: z.string(),
  fromTurn: z.number().int(),
  turns: z.number().int(),
  reason: SupersedeReason,
  supersededAt: z.string(),
});
export type ArchivedBranch = z.infer<typeof ArchivedBranch>;

/** `getBranchTurns` query (like `TurnsQuery`). */
export const BranchTurnsQuery = z.object({
  afterTurn: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(MAX_TURNS_LIMIT).default(DEFAULT_TURNS_LIMIT),
});
export type BranchTurnsQuery = z.input<typeof BranchTurnsQuery>;

export const BranchTurnsPage = z.object({ turns: z.array(ArchivedTurn), nextAfterTurn: z.number().int().optional() });
export type BranchTurnsPage = z.infer<typeof BranchTurnsPage>;

/** Message ids a snapshot read returns at most (the workflow's `MAX_REMEMBERED_MESSAGE_IDS`). */
export const MAX_ANSWERED_IDS = 2_000;

/** Time travel storage. Errors as {@link ArchiveStore}'s (INVALID_REQUEST for bad input, ARCHIVE_UNAVAILABLE). */
export interface TimeTravelArchive {
  /**
   * The snapshot after `turn` of the session's live branch; for a fork, turns up to `forkedAtTurn` come from its
   * parent (recursively). `null` when the archive has none (unknown session or turn, or a turn archived before
   * snapshots existed).
   */
  getTurnState(sessionId: string, turn: number): Promise<TurnStateRecord | null>;
  /**
   * Moves the live turns after `toTurn` (with their events and snapshots) to branch `branch`, sets the session's turn
   * count, step and flow back to turn `toTurn`'s (and a session ended by a superseded turn active again), and archives
   * `event`. Idempotent: an existing branch id changes nothing.
   */
  supersedeTurns(input: SupersedeRecord): Promise<void>;
  /** The session's superseded branches, oldest first; empty for an unknown session. */
  listBranches(sessionId: string): Promise<ArchivedBranch[]>;
  /** Turns of one branch, ascending; empty for an unknown branch. */
  getBranchTurns(sessionId: string, branch: string, query?: BranchTurnsQuery): Promise<BranchTurnsPage>;
}

/** Whether `store` can time travel (the PostgreSQL store). */
export function hasTimeTravel(store: ArchiveStore | undefined): store is ArchiveStore & TimeTravelArchive {
  return store !== undefined && typeof (store as Partial<TimeTravelArchive>).supersedeTurns === 'function';
}
