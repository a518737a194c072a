/**
 * The session's archive writes: activities (local ones in runs recorded before `no-local-activities`), three quick
 * attempts, then kept for later so the archive never fails or stalls a conversation.
 *
 * Sandbox-safe: imports `@temporalio/workflow`, pure engine code and activity *types* only.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, log, sleep } from '@temporalio/workflow';
import type {
  ArchiveSessionEndInput,
  ArchiveSessionInfoInput,
  ArchiveRewindInput,
  ArchiveSessionStartInput,
  ArchiveTurnInput,
  SessionActivities,
} from '../src/engine/types.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { clipTurnResult, jsonBytes } from '../src/engine/state.js';
import type { SessionState, TurnResult } from '../src/engine/types.js';
import { type ActivityMode, byActivityMode, failureMessage } from './activity-executors.js';

/**
 * Archive writes: short, idempotent database writes, run as local activities (in the worker, inside the workflow
 * task: no task-queue round trip per turn) in runs recorded before `no-local-activities`, as regular activities since.
 * Three quick attempts (~1.5 s of backoff) and the conversation goes on: a write that still fails waits in the
 * session's `unarchived` list and is retried before the next write, across continue-as-new (see {@link ArchiveWrites}).
 * The archive is secondary; it never fails or stalls a session.
 */
const archiveCalls = byActivityMode({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 3 },
});

/** Unarchived writes kept at most (oldest dropped first, with a warning): bounds the carried state. */
export const MAX_UNARCHIVED_WRITES = 200;

/**
 * Bytes of unarchived writes kept whole: past this, the oldest waiting turns are clipped like kept state
 * (`clipTurnResult`), so the continue-as-new input stays under Temporal's 2 MB payload limit during a long outage.
 */
export const MAX_UNARCHIVED_BYTES = 512 * 1024;

/** An archive write waiting for the archive to come back. */
export type ArchiveWrite =
  | { kind: 'start'; input: ArchiveSessionStartInput }
  | { kind: 'turn'; input: ArchiveTurnInput }
  | { kind: 'info'; input: ArchiveSessionInfoInput }
  | { kind: 'end'; input: ArchiveSessionEndInput }
  | { kind: 'rewind'; input: ArchiveRewindInput };

/**
 * The session's archive writes, in order. A write that fails after its attempts is kept (`pending`, carried across
 * continue-as-new) and retried before the next one, so the archive receives every turn, in order, once it is back.
 * A write the archive rejects as invalid (a non-retryable failure) would fail forever: it is dropped with a warning.
 */
export class ArchiveWrites {
  /** The flush in progress, if any: writes from update handlers (session info) may overlap the main loop's. */
  private flushing: Promise<void> | undefined;
  /** How the writes are called: set from the run's {@link ActivityMode} in its first activation, before any write. */
  mode: ActivityMode = 'local';
  /**
   * Retry kept writes on timers while nothing else writes (patch `archive-retry-while-idle`, set in the run's first
   * activation); off for runs recorded before it, whose kept writes waited for the next write.
   */
  retryWhileIdle = false;
  /** The timer loop of {@link retryWhileIdle} is running. */
  private retrying = false;
  /** Flushes so far: the timer loop leaves the retry to a write that flushed since its last turn. */
  private flushes = 0;
  /** The session ended: its end's drain (`drainAfterEnd`) retries from now on, the timer loop stops. */
  private ended = false;

  constructor(
    readonly on: boolean,
    readonly pending: ArchiveWrite[],
  ) {}

  /** Writes `write` (after the pending ones). Never throws, except for workflow cancellation. */
  async write(write: ArchiveWrite): Promise<void> {
    if (!this.on) return;
    this.pending.push(write);
    // One flush at a time, so no write is sent twice; a flush already running takes this write along.
    await this.settled();
    if (!this.pending.includes(write)) return;
    await this.exclusiveFlush();
    this.retryKept();
  }

  /** Marks the session ended: from now on only `drainAfterEnd` retries (the timer loop stops at its next turn). */
  end(): void {
    this.ended = true;
  }

  /** {@link flush} as the one flush in progress (callers have awaited {@link settled}). */
  private async exclusiveFlush(): Promise<void> {
    this.flushes++;
    const flush = this.flush();
    this.flushing = flush;
    try {
      await flush;
    } finally {
      if (this.flushing === flush) this.flushing = undefined;
    }
  }

  /**
   * With {@link retryWhileIdle}: while writes are kept, retries them on durable timers, one flush at a time with the
   * other writes, until none is kept or the session ended. The delay is 5 s after the last flush by anyone, doubling
   * to 5 min while the session stays idle (the schedule of `drainAfterEnd`): a timer that finds a write flushed since
   * (a turn ran) leaves the retry to it and starts again at 5 s. So a session that went quiet during an outage has its
   * archive caught up within its current delay once the archive is back. History cost while writes are kept: a timer
   * (2 events) per delay, and a write attempt per idle one. One loop per run; a continue-as-new carries the kept
   * writes and the next run starts it again.
   */
  retryKept(): void {
    if (!this.retryWhileIdle || this.retrying || this.ended || this.pending.length === 0) return;
    this.retrying = true;
    void (async () => {
      try {
        let seen = this.flushes;
        for (let delayMs = 5_000; this.pending.length > 0 && !this.ended; ) {
          await sleep(delayMs, { summary: 'archive down: retry the kept writes' });
          if (this.flushes !== seen) {
            seen = this.flushes; // a write flushed meanwhile (a turn ran): not idle, start again at 5 s
            delayMs = 5_000;
            continue;
          }
          await this.settled();
          if (this.pending.length === 0 || this.ended) break;
          await this.exclusiveFlush();
          seen = this.flushes;
          delayMs = Math.min(delayMs * 2, 300_000);
        }
      } catch (err) {
        if (!isCancellation(err)) throw err;
      } finally {
        this.retrying = false;
      }
    })();
  }

  /**
   * The result of message `messageId`'s turn while its archive write waits here (clipped like `recentResults`), or
   * undefined. Until the archive has a turn, the session is the only place its result is held.
   */
  unarchivedResult(messageId: string): TurnResult | undefined {
    const write = this.pending.find((w) => w.kind === 'turn' && w.input.turn.messageId === messageId);
    return write?.kind === 'turn' ? clipTurnResult(write.input.turn) : undefined;
  }

  /** Resolves once no write is in progress. */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Writes the pending writes, oldest first, stopping at the first the archive cannot take. Never throws. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const outcome = await attempt(this.pending[0], this.mode);
      if (outcome === 'down') break;
      this.pending.shift();
    }
    if (this.pending.length > MAX_UNARCHIVED_WRITES) {
      const dropped = this.pending.splice(0, this.pending.length - MAX_UNARCHIVED_WRITES);
      log.warn('archive down: oldest unarchived writes dropped', { dropped: dropped.length });
    }
    clipUnarchived(this.pending);
  }
}

/**
 * Clips waiting turns of `pending` in place, oldest first, until the list's JSON fits in `maxBytes` (default
 * {@link MAX_UNARCHIVED_BYTES}) or no write is left to clip: a clipped turn loses its state snapshot (time travel then
 * falls back to the live run's snapshots) and its result is clipped like kept state (`clipTurnResult`).
 *
 * One pass: the list is serialised once, and each clipped write is measured before and after (a JSON array's bytes
 * are its items' bytes plus brackets and commas, so the total falls by exactly the difference). Until 2026-12-07 the
 * whole list was serialised again for each write it looked at: during a long outage with 200 kept writes, up to 200
 * serialisations of a list over 512 KB in every flush, once a turn.
 *
 * @returns the list's JSON bytes afterwards.
 */
export function clipUnarchived(pending: ArchiveWrite[], maxBytes = MAX_UNARCHIVED_BYTES): number {
  let bytes = jsonBytes(pending);
  for (let i = 0; i < pending.length && bytes > maxBytes; i++) {
    const w = pending[i];
    if (w.kind !== 'turn') continue;
    const clipped: ArchiveWrite = { kind: 'turn', input: { ...w.input, state: undefined, turn: clipTurnResult(w.input.turn) } };
    bytes += jsonBytes(clipped) - jsonBytes(w);
    pending[i] = clipped;
  }
  return bytes;
}

async function attempt(write: ArchiveWrite, mode: ActivityMode): Promise<'written' | 'rejected' | 'down'> {
  const archive = archiveCalls(mode);
  try {
    if (write.kind === 'start') await archive.archiveSessionStart(write.input);
    else if (write.kind === 'turn') await archive.archiveTurn.executeWithOptions({ summary: `archive turn ${write.input.turn.turn}` }, [write.input]);
    else if (write.kind === 'info') await archive.archiveSessionInfo(write.input);
    else if (write.kind === 'rewind') await archive.archiveRewind(write.input);
    else await archive.archiveSessionEnd(write.input);
    return 'written';
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    const rejected = cause instanceof ApplicationFailure && cause.nonRetryable;
    log.warn(rejected ? 'archive rejected a write; dropped' : 'archive unavailable; write kept for later', {
      kind: write.kind,
      error: failureMessage(err),
    });
    return rejected ? 'rejected' : 'down';
  }
}

/** Longest a session waits, after it ended, for the archive to take its unarchived writes (then they are dropped). */
export const MAX_ARCHIVE_WAIT_AFTER_END_MS = 24 * 60 * 60 * 1000;

/**
 * After the session ended: retries the pending writes on durable timers (5 s, doubling to 5 min) until the archive
 * takes them or {@link MAX_ARCHIVE_WAIT_AFTER_END_MS} has passed, so turns written during an outage that outlasted the
 * conversation still reach the archive. Costs nothing when nothing is pending.
 */
export async function drainAfterEnd(writes: ArchiveWrites): Promise<void> {
  writes.end();
  const giveUpAt = Date.now() + MAX_ARCHIVE_WAIT_AFTER_END_MS;
  for (let delayMs = 5_000; writes.pending.length > 0 && Date.now() < giveUpAt; delayMs = Math.min(delayMs * 2, 300_000)) {
    await sleep(delayMs);
    // A flush of the idle retry loop may still run (it stops after it): never two at once.
    if (writes.retryWhileIdle) await writes.settled();
    await writes.flush();
  }
  if (writes.pending.length > 0) log.warn('archive still down a day after the session ended: writes dropped', { dropped: writes.pending.length });
}

/**
 * Run 1's `archiveSessionStart`: returns the session's writer. `off` from the activity (the worker has no archive)
 * gives a writer that makes no calls; a failure keeps the start write for later (sessions recorded before the
 * activity answered anything got `null` and keep archiving, as they did).
 */
export async function startArchive(input: ArchiveSessionStartInput, writes: ArchiveWrites): Promise<ArchiveWrites> {
  try {
    const answer = await archiveCalls(writes.mode).archiveSessionStart(input);
    return answer?.archive === 'off' ? new ArchiveWrites(false, []) : writes;
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('archive unavailable at session start; write kept for later', { error: failureMessage(err) });
    writes.pending.push({ kind: 'start', input });
    return writes;
  }
}

/** The archive write of a session's end (status `ended`, with its `session_ended` event). */
export function endWrite(agent: AgentSnapshot, state: SessionState, reason: 'end_action' | 'idle_timeout' | 'end_session'): ArchiveWrite {
  return {
    kind: 'end',
    input: {
      sessionId: state.sessionId,
      agentName: agent.name,
      configHash: agent.configHash,
      status: 'ended',
      reason,
      at: state.updatedAt,
      events: state.events.filter((e) => e.type === 'session_ended'),
    },
  };
}
