/**
 * How fast a crashed worker's sessions move on, as worker options set from the environment (`stepwise worker`):
 *
 * | variable | default | worker option |
 * |---|---|---|
 * | `STEPWISE_STICKY_QUEUE_TIMEOUT_MS` | 1000 | `stickyQueueScheduleToStartTimeout` |
 * | `STEPWISE_HEARTBEAT_THROTTLE_MS` | unset: 80% of each activity's heartbeat timeout | `maxHeartbeatThrottleInterval` |
 *
 * A session's next workflow task goes to the sticky queue of the worker that ran its last one; when that worker is
 * dead, the task waits there for the sticky timeout before the shared queue gives it to another worker (which replays
 * the session's history). The SDK's default is 10 s; 1 s costs a healthy worker that is too busy to pick its task up
 * within 1 s only a replay elsewhere. `npm run bench:crash` measures it (the `tail` column: retried call's end ->
 * reply).
 *
 * Heartbeats: the SDK sends an activity's heartbeats to the server at most once per throttle interval, 80% of the
 * activity's heartbeat timeout (Temporal TS SDK `WorkerOptions.maxHeartbeatThrottleInterval`, default cap 60 s). With
 * the 3 s heartbeat timeout of tools and LLM calls that is one every 2.4 s: a dead worker is noticed 0.6-3 s after it
 * died, but a healthy worker whose heartbeat is 0.6 s late is taken for dead and its call retried elsewhere while it
 * still runs. A cap below the activities' 1 s beat interval is pointless; at 1 s the server hears every beat,
 * widening that margin to 2 s (3 s timeout) for one heartbeat RPC a second per running activity.
 *
 * Node only.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError } from '../src/errors.js';

/** `stickyQueueScheduleToStartTimeout` when `STEPWISE_STICKY_QUEUE_TIMEOUT_MS` is unset, in ms (the SDK's: 10 s). */
export const DEFAULT_STICKY_QUEUE_TIMEOUT_MS = 1_000;

/** A whole number of ms >= `min` from `name`, or `undefined` when unset or empty. @throws ConfigError otherwise. */
function msSetting(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigError([{ file: 'environment', path: name, message: `must be a whole number of milliseconds >= ${min}, got "${raw}"`, severity: 'error' }]);
  }
  return n;
}

/**
 * The worker options of the table above, from `env`: `stickyQueueScheduleToStartTimeout` always (ms, default
 * {@link DEFAULT_STICKY_QUEUE_TIMEOUT_MS}, at least 100), `maxHeartbeatThrottleInterval` only when set (ms, at least
 * 100).
 *
 * @throws ConfigError (not retryable) when a variable is set to anything but a whole number of ms at or above its
 *   minimum.
 */
export function recoveryOptions(env: NodeJS.ProcessEnv = process.env): Pick<WorkerOptions, 'stickyQueueScheduleToStartTimeout' | 'maxHeartbeatThrottleInterval'> {
  const sticky = msSetting(env, 'STEPWISE_STICKY_QUEUE_TIMEOUT_MS', 100) ?? DEFAULT_STICKY_QUEUE_TIMEOUT_MS;
  const throttle = msSetting(env, 'STEPWISE_HEARTBEAT_THROTTLE_MS', 100);
  return { stickyQueueScheduleToStartTimeout: sticky, ...(throttle !== undefined ? { maxHeartbeatThrottleInterval: throttle } : {}) };
}
