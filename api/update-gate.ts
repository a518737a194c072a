/**
 * A per-session FIFO gate on in-flight workflow updates.
 *
 * Temporal caps the updates in flight (admitted, not yet completed) per workflow execution:
 * `history.maxInFlightUpdates`, 10 by default (https://docs.temporal.io/workflows#limits), and answers the next
 * one with RESOURCE_EXHAUSTED. A `sendMessage` update stays in flight for its whole turn *and* the turns queued before
 * it, so a burst of messages to one session would hit the cap. The API therefore lets at most `limit` updates per
 * session be in flight from this process and queues the rest here, in arrival order, which is also the order in which
 * the workflow receives them (and so runs their turns).
 */

export interface UpdateGateOptions {
  /** Updates in flight per session from this process. Default 8, below Temporal's default cap of 10 (room for others). */
  limit?: number;
  /** Callers waiting per session before new ones are refused (`GateFullError`). Default 1,000. */
  maxWaiting?: number;
}

/** Thrown when a session already has `maxWaiting` callers queued; the caller should retry later (HTTP 429). */
export class GateFullError extends Error {
  override readonly name = 'GateFullError';
}

interface Lane {
  running: number;
  waiting: Array<() => void>;
}

/** FIFO gate keyed by session id. Lanes are deleted when idle, so memory follows the sessions in use. */
export class UpdateGate {
  private readonly lanes = new Map<string, Lane>();
  private readonly limit: number;
  private readonly maxWaiting: number;

  constructor(options: UpdateGateOptions = {}) {
    this.limit = options.limit ?? 8;
    this.maxWaiting = options.maxWaiting ?? 1_000;
  }

  /**
   * Runs `fn` once fewer than `limit` calls for `key` are running, after every call for `key` that came earlier.
   * `deadline` (epoch ms) bounds the wait in the lane, not `fn`; `leave` takes the caller out of the line while it
   * waits (once let through, it is ignored).
   *
   * @throws GateFullError (retryable later) when `maxWaiting` callers are already queued for `key`, or when the
   *   deadline passes before a slot frees (the caller was never let through); `leave`'s reason when it left the line;
   *   else what `fn` throws.
   */
  async run<T>(key: string, fn: () => Promise<T>, deadline = Number.POSITIVE_INFINITY, leave?: AbortSignal): Promise<T> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { running: 0, waiting: [] };
      this.lanes.set(key, lane);
    }
    if (lane.running >= this.limit || lane.waiting.length > 0) {
      if (lane.waiting.length >= this.maxWaiting) throw new GateFullError(`${lane.waiting.length} requests already wait for session ${key}`);
      // The slot is handed over by the call that frees it (`running` is not decremented), so no later caller can
      // slip in between the release and this continuation.
      await this.wait(key, lane, deadline, leave);
    } else lane.running++;
    try {
      return await fn();
    } finally {
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.running === 0) this.lanes.delete(key);
    }
  }

  /** Waits for a handed-over slot, or leaves the line at `deadline` or when `leave` aborts. */
  private wait(key: string, lane: Lane, deadline: number, leave?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        leave?.removeEventListener('abort', onLeave);
      };
      const admit = () => {
        done();
        resolve();
      };
      /** Out of the line with `reason`, unless already admitted. */
      const quit = (reason: unknown) => {
        const i = lane.waiting.indexOf(admit);
        if (i < 0) return; // already admitted
        lane.waiting.splice(i, 1);
        done();
        reject(reason);
      };
      const onLeave = () => quit(leave!.reason);
      if (leave?.aborted) return reject(leave.reason);
      lane.waiting.push(admit);
      leave?.addEventListener('abort', onLeave);
      if (Number.isFinite(deadline)) {
        timer = setTimeout(() => quit(new GateFullError(`no slot for session ${key} before the deadline`)), Math.max(0, deadline - Date.now()));
      }
    });
  }

  /** Whether a call for `key` arriving now would wait in the lane (all `limit` slots taken, or others waiting). */
  full(key: string): boolean {
    const lane = this.lanes.get(key);
    return lane !== undefined && (lane.running >= this.limit || lane.waiting.length > 0);
  }

  /** Calls running and waiting for `key` (for tests and metrics). */
  load(key: string): { running: number; waiting: number } {
    const lane = this.lanes.get(key);
    return { running: lane?.running ?? 0, waiting: lane?.waiting.length ?? 0 };
  }
}
