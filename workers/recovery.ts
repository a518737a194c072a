/**
 * How fast a crashed worker's sessions move on, and how safely, as worker options (`stepwise worker` reads them from
 * the environment; `createSessionWorker` uses the defaults):
 *
 * | variable | default | worker option |
 * |---|---|---|
 * | `STEPWISE_STICKY_QUEUE_TIMEOUT_MS` | 1000 | `stickyQueueScheduleToStartTimeout` (SDK default 10 s) |
 * | `STEPWISE_HEARTBEAT_THROTTLE_MS` | 500 | `maxHeartbeatThrottleInterval` (SDK default 60 s) |
 * | `STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS` | 8 | `maxConcurrentWorkflowTaskExecutions` (SDK default 40) |
 * | `STEPWISE_ISOLATE_TIMEOUT_MS` | 60000 | `isolateExecutionTimeout` (SDK default 5 s) |
 *
 * Sticky queue: a session's next workflow task goes to the sticky queue of the worker that ran its last one; when that
 * worker is dead, the task waits there for this timeout before the shared queue gives it to another worker (which
 * replays the session's history). A retried LLM or tool call clears that stickiness as it starts (activities/index.ts,
 * `leaveStickyWorker`), so the turn of a call whose worker died does not wait for it. Only a worker that is dead, cut off, or out of workflow-task slots misses it (its
 * pollers take tasks as they come), and what a miss costs is a replay on another worker, never correctness.
 * Measured with `npm run bench:crash` (2 cores, load 6-13): from the retried tool call's end to the reply, p50
 * 1.3 s at 1 s and 0.6 s at 250 ms (load 6-10; at load 14-18 both were about 2 s); `npm run bench:scale --
 * --sessions 100` on one worker, twice each: worker CPU per turn 9.6-9.9 ms at 1 s, 9.9-10.0 ms at 250 ms, the same
 * turns/s ratio to bare updates (0.30-0.36 vs 0.29-0.30). The default stays 1 s: a task that misses the sticky queue
 * is processed cold (a full replay) by another worker, at 500 sessions 250 ms saw ~4x the "workflow task over 5 s"
 * warnings (runs not comparable), and the chaos suite's remaining nondeterminism shows up around cold workflow tasks
 * (docs/chaos.md); 250 ms is for clusters that want the faster recovery and have the headroom.
 *
 * Heartbeats: the SDK sends an activity's heartbeats to the server at most once per throttle interval: 80% of the
 * activity's heartbeat timeout, capped by `maxHeartbeatThrottleInterval` (Temporal TS SDK `WorkerOptions`). Uncapped,
 * the 1.5 s heartbeat timeout of tools and LLM calls (workflows/activity-executors.ts) means one heartbeat every 1.2 s: a
 * healthy worker whose heartbeat is 0.3 s late (a busy event loop, a slow RPC) is taken for dead and its call is
 * retried elsewhere while it still runs. Capped at 500 ms (the activities beat every 500 ms, activities/index.ts), the
 * server hears every beat and that margin is 1 s, for two heartbeat RPCs a second per running activity. Until
 * 2026-12-08 the timeout was 3 s and the cap 1 s (a 2 s margin, one RPC a second):
 * `npm run bench:crash -- --kinds probe` retried a killed call about 1 s after the timeout ran out from the kill
 * (4.0 s at 3 s, 2.5-3.0 s at 2 s and 2.0-2.5 s at 1.5 s with 500 ms beats; 4 rounds each, load 1), so the shorter
 * timeout answers a crashed call's turn about 1.5 s sooner.
 *
 * Workflow-task slots: the SDK runs every workflow task of a worker in one thread (`reuseV8Context`), so the slots
 * do not add CPU; they decide how many tasks the worker has started, whose 10 s workflow-task timeout runs, while
 * they wait for that thread. After a worker restart, or once the others take a dead worker's sessions, each session's
 * next task is cold: a replay of its run, 1.6-1.9 s of CPU for a 1.6-2.3 MB history on an idle machine (three
 * histories of the chaos run below, `Worker.runReplayHistory`). With 40 slots and 30 such sessions the last task
 * starts waiting 30 replays before it runs: the tasks time out, the server retries them (later and later), each retry
 * is cold again, and the sessions stayed stuck: `npm run chaos -- --minutes 10 --seed 7003` (no worker stalls), 3
 * sessions whose histories end in workflow-task time-outs, every query and update answered "Workflow Task in failed
 * state" for the last 10 minutes of the run, while the same histories replay in 1.9 s on a fresh worker afterwards.
 * With 8 slots the tasks the worker has not taken wait on the server, where no timeout runs; a warm task takes a few
 * ms, so 8 still keep the thread busy.
 *
 * Isolate timeout: the SDK runs each activation's workflow code under a `vm` watchdog of `isolateExecutionTimeout`
 * wall-clock time, meant to stop a runaway loop. When it fires while the workflow's promise callbacks run (the
 * session workflow is async, and the SDK's `microtaskMode: 'afterEvaluate'` runs them inside the watchdog), Node does
 * not pop the async-hook context it pushed, and the next message of the workflow thread aborts the whole worker
 * process: "async hook stack has become corrupted (actual: <id>, expected: 4)" (nodejs/node#38503, the crash of
 * temporalio/sdk-typescript#939). A worker paused longer than the timeout in the middle of an activation (a SIGSTOP,
 * a frozen VM, a machine too busy to schedule it) hits it when it resumes: the watchdog's clock ran on. The chaos
 * suite's worker stalls (10-40 s) crashed a worker this way in two runs (docs/chaos.md). Reproduced with a worker of
 * four workflows kept busy by updates (300 awaited promises each): one 7 s SIGSTOP crashed it at the SDK's 5 s, and
 * six 7 s SIGSTOPs did not at 60 s. The session workflow's own activations take milliseconds, so 60 s only delays
 * the detection of a loop that would never end (that task fails either way); a pause longer than the timeout still
 * crashes the worker, which its supervisor restarts, and the sessions resume from their histories. The SDK (1.24)
 * takes the option from `Worker.create`'s options (`addDefaultWorkerOptions` spreads them over its defaults) but does
 * not declare it in `WorkerOptions` ("not exposed at the moment"); test/integration/worker-stall checks it still works.
 *
 * Node only.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError } from '../src/errors.js';

/** `stickyQueueScheduleToStartTimeout` when `STEPWISE_STICKY_QUEUE_TIMEOUT_MS` is unset, in ms (the SDK's: 10 s). */
export const DEFAULT_STICKY_QUEUE_TIMEOUT_MS = 1_000;

/** `maxHeartbeatThrottleInterval` when `STEPWISE_HEARTBEAT_THROTTLE_MS` is unset, in ms (the SDK's: 60 s). */
export const DEFAULT_HEARTBEAT_THROTTLE_MS = 500;

/** `maxConcurrentWorkflowTaskExecutions` when `STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS` is unset (the SDK's: 40). */
export const DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS = 8;

/** `isolateExecutionTimeout` when `STEPWISE_ISOLATE_TIMEOUT_MS` is unset, in ms (the SDK's: 5 s). */
export const DEFAULT_ISOLATE_TIMEOUT_MS = 60_000;

/**
 * A whole number >= `min` from `name` (of `unit`: "milliseconds", "workflow tasks"), or `undefined` when unset or
 * empty. @throws ConfigError otherwise.
 */
function wholeSetting(env: NodeJS.ProcessEnv, name: string, min: number, unit = 'milliseconds'): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigError([{ file: 'environment', path: name, message: `must be a whole number of ${unit} >= ${min}, got "${raw}"`, severity: 'error' }]);
  }
  return n;
}

/**
 * The worker options of the table above, from `env` (the three times in ms, defaults
 * {@link DEFAULT_STICKY_QUEUE_TIMEOUT_MS}, {@link DEFAULT_HEARTBEAT_THROTTLE_MS} and {@link DEFAULT_ISOLATE_TIMEOUT_MS},
 * each at least 100; the slots a count, default {@link DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS}, at least 2, the SDK's
 * minimum).
 *
 * @throws ConfigError (not retryable) when a variable is set to anything but a whole number at or above its minimum.
 */
export function recoveryOptions(
  env: NodeJS.ProcessEnv = process.env,
): Pick<WorkerOptions, 'stickyQueueScheduleToStartTimeout' | 'maxHeartbeatThrottleInterval' | 'maxConcurrentWorkflowTaskExecutions'> & {
  isolateExecutionTimeout: number;
} {
  const sticky = wholeSetting(env, 'STEPWISE_STICKY_QUEUE_TIMEOUT_MS', 100) ?? DEFAULT_STICKY_QUEUE_TIMEOUT_MS;
  const throttle = wholeSetting(env, 'STEPWISE_HEARTBEAT_THROTTLE_MS', 100) ?? DEFAULT_HEARTBEAT_THROTTLE_MS;
  const slots = wholeSetting(env, 'STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS', 2, 'workflow tasks') ?? DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS;
  const isolate = wholeSetting(env, 'STEPWISE_ISOLATE_TIMEOUT_MS', 100) ?? DEFAULT_ISOLATE_TIMEOUT_MS;
  return {
    stickyQueueScheduleToStartTimeout: sticky,
    maxHeartbeatThrottleInterval: throttle,
    maxConcurrentWorkflowTaskExecutions: slots,
    isolateExecutionTimeout: isolate,
  };
}
