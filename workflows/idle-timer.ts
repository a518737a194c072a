/**
 * The session's idle timeout inside the workflow. Sessions started since the `idle-timer-per-period` patch keep one
 * durable timer per idle period, re-armed only when it fires before the deadline (a message came meanwhile), instead
 * of starting and cancelling a timer on every turn: two history events less per turn. Older sessions replay with a
 * timer per wait (`condition(fn, idleMs)`).
 *
 * Sandbox-safe: imports `@temporalio/workflow` only.
 */
import { condition, isCancellation, patched, sleep } from '@temporalio/workflow';
import { PATCH_IDS } from './shared.js';

/** Timer summary shown in the Temporal UI's timeline. */
const SUMMARY = 'idle timeout: the session ends unless a message comes';

/** The idle timeout of one run: `wait` for the next message or the end of the idle period, `restart` after a turn. */
export class IdleTimer {
  private readonly perPeriod: boolean;
  private deadline: number;
  private fired = false;

  /**
   * Asks the patch (a history marker for new sessions, so construct it where the workflow always did) and arms the
   * first period. @param idleMs the agent's `session.idleTimeoutMs`.
   */
  constructor(private readonly idleMs: number) {
    this.perPeriod = patched(PATCH_IDS.idleTimerPerPeriod);
    this.deadline = Date.now() + idleMs;
    if (this.perPeriod) this.arm(idleMs);
  }

  /** Waits until `ready()` holds (true) or the session has been idle for the whole period (false). */
  async wait(ready: () => boolean): Promise<boolean> {
    if (!this.perPeriod) return condition(ready, this.idleMs);
    await condition(() => ready() || this.fired);
    return ready();
  }

  /** A turn just finished: the idle period starts again (re-arming the timer if it already fired). */
  restart(): void {
    this.deadline = Date.now() + this.idleMs;
    if (this.perPeriod && this.fired) {
      this.fired = false;
      this.arm(this.idleMs);
    }
  }

  private arm(ms: number): void {
    sleep(ms, { summary: SUMMARY }).then(
      () => {
        if (Date.now() >= this.deadline) this.fired = true;
        else this.arm(this.deadline - Date.now());
      },
      (err) => {
        if (!isCancellation(err)) throw err;
      },
    );
  }
}
