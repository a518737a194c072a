/**
 * `npm run bench:crash -- --kinds probe`: how soon Temporal retries a regular activity whose worker was SIGKILLed, for
 * several heartbeat settings, on the workflow of bench/workflows/heartbeat-probe.ts (one heartbeating activity,
 * eagerly dispatched to the worker that scheduled it, as regular activities are by default) run by two worker
 * processes (./probe-worker.ts) per setting. What the session workflow's activity options would give, measured
 * without changing them: a setting is `<heartbeat timeout ms>/<throttle ms | default>/<beat interval ms>/<first retry
 * interval ms>` (throttle: `STEPWISE_HEARTBEAT_THROTTLE_MS` of the workers; default: 80% of the timeout).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { log, onCleanUp, percentile, waitFor } from '../support.js';
import { heartbeatProbe } from '../workflows/heartbeat-probe.js';
import { type BenchProcess, start } from '../scale/processes.js';

/** One setting, durations in ms (`throttleMs` undefined: the SDK's default). */
export interface ProbeSetting {
  heartbeatTimeoutMs: number;
  throttleMs?: number;
  beatMs: number;
  initialIntervalMs: number;
}

/** Parses `3000/default/1000/250` (see the module comment). @throws Error on another shape. */
export function parseSetting(text: string): ProbeSetting {
  const m = /^(\d+)\/(default|\d+)\/(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`probe setting "${text}": expected <timeout ms>/<throttle ms|default>/<beat ms>/<first retry ms>`);
  return { heartbeatTimeoutMs: Number(m[1]), ...(m[2] === 'default' ? {} : { throttleMs: Number(m[2]) }), beatMs: Number(m[3]), initialIntervalMs: Number(m[4]) };
}

/** p50 and max over the rounds of one setting, ms from the kill: the retry's start, and the workflow's result. */
export interface ProbeFigures {
  setting: string;
  retryStart: { p50Ms: number; maxMs: number };
  result: { p50Ms: number; maxMs: number };
  overheadP50Ms: number;
}

/**
 * For each setting: two probe workers, then `rounds` probe workflows each killed halfway through a `callMs` call, the
 * killed worker replaced before the next round. @throws when a round's call is not retried within 60 s.
 */
export async function probeHeartbeats(client: Client, server: { address: string; namespace: string }, settings: ProbeSetting[], rounds: number, callMs: number): Promise<ProbeFigures[]> {
  const run = Date.now().toString(36);
  const bundle = join(tmpdir(), `stepwise-probe-${run}.js`);
  writeFileSync(bundle, (await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, '..', 'workflows', 'heartbeat-probe.ts'), logger: undefined })).code);
  const probeLog = join(tmpdir(), `stepwise-probe-${run}.log`);
  writeFileSync(probeLog, '');
  onCleanUp('probe files', () => [bundle, probeLog].forEach((f) => rmSync(f, { force: true })));
  const starts = () => readFileSync(probeLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').map(Number) as [number, number, number]);
  const out: ProbeFigures[] = [];
  for (const [k, s] of settings.entries()) {
    const label = `${s.heartbeatTimeoutMs}/${s.throttleMs ?? 'default'}/${s.beatMs}/${s.initialIntervalMs}`;
    const taskQueue = `probe-${run}-${k}`;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      PROBE_TASK_QUEUE: taskQueue,
      PROBE_BUNDLE: bundle,
      PROBE_LOG: probeLog,
      ...(s.throttleMs !== undefined ? { STEPWISE_HEARTBEAT_THROTTLE_MS: String(s.throttleMs) } : {}),
    };
    const worker = async (): Promise<BenchProcess> => {
      const child = await start('worker', ['--import', 'tsx', 'bench/crash/probe-worker.ts'], env, /^ready$/m);
      return { kind: 'worker', pid: child.pid!, child };
    };
    const live = [await worker(), await worker()];
    const retry: number[] = [];
    const result: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const before = starts().length;
      const handle = await client.workflow.start(heartbeatProbe, { taskQueue, workflowId: `${taskQueue}-${i}`, args: [{ callMs, beatMs: s.beatMs, heartbeatTimeoutMs: s.heartbeatTimeoutMs, initialIntervalMs: s.initialIntervalMs }] });
      await waitFor('probe call started', () => starts().length > before, 30_000);
      const [, pid, startedEpoch] = starts()[before]!;
      const victim = live.find((w) => w.pid === pid);
      if (!victim) throw new Error(`probe call on unknown worker ${pid}`);
      await new Promise((r) => setTimeout(r, Math.max(0, startedEpoch + callMs / 2 - Date.now())));
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      live.splice(live.indexOf(victim), 1);
      await waitFor('probe call retried', () => starts().length > before + 1, 60_000);
      retry.push(starts()[before + 1]![2] - killedAt);
      const by = await handle.result();
      result.push(Date.now() - killedAt);
      if (by === pid) throw new Error(`probe ${i}: completed by the killed worker ${pid}`);
      if (victim.child.exitCode === null && victim.child.signalCode === null) await new Promise((r) => victim.child.once('exit', r));
      live.push(await worker());
      log(`probe ${label} round ${i + 1}: retry started ${retry.at(-1)} ms, result ${result.at(-1)} ms after the kill`);
    }
    for (const w of live) w.child.kill('SIGTERM');
    out.push({
      setting: label,
      retryStart: { p50Ms: percentile(retry, 50), maxMs: Math.max(...retry) },
      result: { p50Ms: percentile(result, 50), maxMs: Math.max(...result) },
      overheadP50Ms: percentile(result, 50) - callMs,
    });
  }
  return out;
}
