/**
 * Retrying workflow updates the server or the workflow turned away for now: RESOURCE_EXHAUSTED (Temporal's cap on
 * in-flight updates, filled by other API processes), SESSION_CONTINUING (the run is about to continue as new) and
 * UnprocessedUpdate (a worker dropped it unanswered), with exponential backoff and jitter, within a deadline.
 */
import { isContinuing, isQueryTooEarly, isResourceExhausted, isUnprocessedUpdate } from './temporal-errors.js';

/**
 * Least time, in ms, a message must have left before its deadline to be sent (or a tenth of a shorter turn wait):
 * sending it and seeing it accepted takes one workflow task (milliseconds, unless the worker is busy). With less, it
 * is refused as never sent (429), so a message that waited out its time in the API's line never meets an expired
 * gRPC deadline (which would read as Temporal being unavailable, 503).
 */
export const MIN_SEND_MS = 2_000;

/**
 * Backoff before retry number `attempt` (0-based) of a refused update: exponential from `baseMs`, capped at 2 s, with
 * "equal jitter" (half fixed, half random), so the callers a refusal turned away do not come back together
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). In ms.
 */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const capped = Math.min(2_000, baseMs * 2 ** Math.min(attempt, 16));
  return capped / 2 + random() * (capped / 2);
}

/** Whether an update refused with `err` is sent again at once (from 20 ms): SESSION_CONTINUING or UnprocessedUpdate. */
export function isSendAgain(err: unknown): boolean {
  return isContinuing(err) || isUnprocessedUpdate(err);
}

/**
 * Calls `fn` until it succeeds, retrying RESOURCE_EXHAUSTED (from 100 ms), SESSION_CONTINUING and UnprocessedUpdate
 * ({@link isSendAgain}, from 20 ms) with {@link retryDelayMs} while the next attempt would start before `deadline`
 * (epoch ms); then throws the last error. (The two refusals are thrown here by `executeUpdate`; `startUpdate` leaves
 * them to the handle's `result()`, which `SessionCalls` retries the same way.)
 */
export async function withRetries<T>(fn: () => Promise<T>, deadline: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const again = isSendAgain(err);
      if (!again && !isResourceExhausted(err)) throw err;
      const delayMs = retryDelayMs(attempt, again ? 20 : 100);
      if (Date.now() + delayMs >= deadline) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/**
 * Calls the query `fn` until the run it reaches has started (a run just begun by continue-as-new answers
 * FAILED_PRECONDITION "Workflow task is not scheduled yet" until its first workflow task), with backoff from 20 ms,
 * while the next attempt would start before `deadline`; then throws the last error.
 */
export async function untilRunStarted<T>(fn: () => Promise<T>, deadline: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delayMs = retryDelayMs(attempt, 20);
      if (!isQueryTooEarly(err) || Date.now() + delayMs >= deadline) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** What one look at the workflow found, for {@link untilConfirmed}: done (the value to return), or not yet. */
export type Confirmation<T> = { done: T } | { send: boolean };

/** Least time between two sends of the same signal by {@link untilConfirmed}, in ms. */
export const RESIGNAL_MS = 1_000;

/**
 * Sends a signal and reads the workflow back until it shows the signal's effect (signals have no reply): `look`
 * queries the workflow and returns `{ done: value }` or `{ send }` (not yet; `send: true` when the signal should go
 * (again)); `send` sends it, at most every {@link RESIGNAL_MS} (the run that got it may have dropped it while
 * continuing as new). Looks back off from 25 ms ({@link retryDelayMs}) while the next one would start before
 * `deadline` (epoch ms).
 *
 * @returns the `done` value.
 * @throws `late()` (callers give a retryable SystemError) when the deadline comes first; errors of `look` and `send`
 *   as they are.
 */
export async function untilConfirmed<T>(look: () => Promise<Confirmation<T>>, send: () => Promise<void>, deadline: number, late: () => Error): Promise<T> {
  let sentAt: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const seen = await look();
    if ('done' in seen) return seen.done;
    if (seen.send && (sentAt === undefined || Date.now() - sentAt >= RESIGNAL_MS)) {
      await send();
      sentAt = Date.now();
    }
    const delayMs = retryDelayMs(attempt, 25);
    if (Date.now() + delayMs >= deadline) throw late();
    await new Promise((r) => setTimeout(r, delayMs));
  }
}
