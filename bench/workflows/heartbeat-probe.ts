/**
 * The workflow of bench/crash/heartbeat-probe.ts: one regular activity, `slowCall`, with the heartbeat timeout and
 * first retry interval given in its input (what workflows/activity-executors.ts sets for tools and LLM calls), so a
 * worker killed in it measures how soon Temporal retries it for each setting. Sandbox-safe.
 */
import { proxyActivities } from '@temporalio/workflow';

/** The activity (bench/crash/probe-worker.ts): heartbeats every `beatMs` for `ms` ms, returns its worker's pid. */
export interface ProbeActivities {
  slowCall(ms: number, beatMs: number): Promise<number>;
}

/** Durations in ms. */
export interface ProbeInput {
  callMs: number;
  beatMs: number;
  heartbeatTimeoutMs: number;
  initialIntervalMs: number;
}

/** Runs `slowCall` once (retried on its heartbeat timeout) and returns the pid of the worker that completed it. */
export async function heartbeatProbe(input: ProbeInput): Promise<number> {
  const { slowCall } = proxyActivities<ProbeActivities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: input.heartbeatTimeoutMs,
    retry: { initialInterval: input.initialIntervalMs, backoffCoefficient: 2, maximumAttempts: 5 },
  });
  return slowCall(input.callMs, input.beatMs);
}
