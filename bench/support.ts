/**
 * What the benchmarks share: a log on stderr, clean-ups run last-in first-out (on success, error and SIGINT/SIGTERM),
 * nearest-rank percentiles, the Temporal server (`TEMPORAL_ADDRESS`, else a dev server started here), and small HTTP
 * helpers. Figures go to stdout; everything else to stderr.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { InvalidArgumentError } from 'commander';
import { buildApp } from '../api/app.js';
import { TemporalSessions } from '../api/temporal-sessions.js';
import { ensureTemporalCli } from '../cli/temporal-cli.js';
import { startDevServer } from '../cli/temporal-server.js';
import type { LoadedAgent } from '../runtime/agents/load.js';
import { createSessionWorker } from '../workers/worker.js';
import { sessionWorkflowId } from '../workflows/shared.js';

const ROOT = join(import.meta.dirname, '..');

/** A progress line on stderr. */
export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Clean-ups, run last-in first-out by {@link cleanUp}: whatever was started last stops first. */
const cleanups: Array<{ name: string; fn: () => Promise<unknown> | unknown }> = [];

/** Registers a clean-up (its failure is logged, never thrown). */
export const onCleanUp = (name: string, fn: () => Promise<unknown> | unknown) => cleanups.push({ name, fn });

async function cleanUp(): Promise<void> {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) {
    try {
      await c.fn();
    } catch (err) {
      log(`clean-up of ${c.name} failed: ${(err as Error).message}`);
    }
  }
}

/** Nearest-rank percentile `p` (0-100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** p50 and p99 of a set of latencies, in ms. */
export interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/** p50 and p99 of `values` (ms), nearest rank. */
export const latency = (values: number[]): Latency => ({ p50Ms: percentile(values, 50), p99Ms: percentile(values, 99) });

/** POSTs JSON and returns the parsed reply. @throws on a non-2xx status (with the body). */
export async function postJson(base: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Polls `check` every 50 ms until it holds. @throws after `timeoutMs` (default 30 s). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `TEMPORAL_ADDRESS` (and `TEMPORAL_NAMESPACE`) when set, else a dev server started here and stopped at clean-up. */
export async function temporalServer(): Promise<{ address: string; namespace: string }> {
  if (process.env.TEMPORAL_ADDRESS) return { address: process.env.TEMPORAL_ADDRESS, namespace: process.env.TEMPORAL_NAMESPACE || 'default' };
  const cli = await ensureTemporalCli({ stateDir: join(ROOT, '.stepwise') });
  const server = await startDevServer({ binary: cli.path, uiPort: false });
  onCleanUp('dev server', () => server.stop());
  return server;
}

/**
 * Starts the two workers the benchmarks use, stopped at clean-up: the echo workflow's (`bench/workflows/echo.ts`, the
 * baseline) on `echoQueue`, and a session worker for `agent` on `taskQueue`.
 */
export async function runWorkers(
  connection: NativeConnection,
  namespace: string,
  queues: { echoQueue: string; taskQueue: string; agent: LoadedAgent },
): Promise<void> {
  log('bundling the workflows of both workers');
  const workers = await Promise.all([
    Worker.create({ connection, namespace, taskQueue: queues.echoQueue, workflowsPath: join(import.meta.dirname, 'workflows', 'echo.ts') }),
    createSessionWorker({ connection, namespace, taskQueue: queues.taskQueue, agents: [queues.agent], log: () => {} }),
  ]);
  const running = Promise.all(workers.map((w) => w.run()));
  running.catch((err) => log(`a worker failed: ${(err as Error).message}`));
  onCleanUp('workers', async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
  });
}

/**
 * The REST API over Temporal for `agent`, listening on 127.0.0.1 (closed at clean-up); returns its base URL. Without
 * the API's rate limits (60 messages a minute per session, 600 requests per caller), which would stop the measured
 * loops: the benchmarks measure what lies behind them.
 */
export async function serveApi(client: Client, taskQueue: string, agent: LoadedAgent): Promise<string> {
  const app = await buildApp({
    backend: new TemporalSessions({ client, taskQueue }),
    agents: new Map([[agent.snapshot.name, agent.snapshot]]),
    guards: { sessionMessagesPerMinute: 0, requestsPerMinute: 0 },
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  onCleanUp('API', () => app.close());
  return base;
}

/**
 * Runs `measure`, prints its figures with `report`, and cleans up whatever happened (also on SIGINT/SIGTERM). Sets
 * exit code 1 when `measure` throws; a handle a library left open cannot keep the process alive past clean-up.
 */
export async function runBench<F>(measure: () => Promise<F>, report: (figures: F) => void): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    report(await measure());
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
    setTimeout(() => {
      log('a handle kept the process alive after clean-up; exiting');
      process.exit();
    }, 5_000).unref();
  }
}

/** One workflow run of a session: its turns, history events and JSON bytes. */
export interface RunHistory {
  run: number;
  turns: number;
  events: number;
  jsonBytes: number;
  /** JSON bytes by event type (`ACTIVITY_TASK_SCHEDULED`...), to see where a turn's bytes go. */
  bytesByType: Record<string, number>;
}

/** Every run of a session's workflow, first to latest (following continue-as-new), with its history's size. */
export async function sessionHistory(client: Client, sessionId: string): Promise<RunHistory[]> {
  const workflowId = sessionWorkflowId(sessionId);
  const description = await client.workflow.getHandle(workflowId).describe();
  let runId: string | undefined = description.raw.workflowExecutionInfo?.firstRunId || description.runId;
  const runs: RunHistory[] = [];
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const bytesByType: Record<string, number> = {};
    for (const event of events) {
      const json = JSON.stringify(event);
      const type = /"eventType":"EVENT_TYPE_([A-Z_]+)"/.exec(json)?.[1] ?? 'UNKNOWN';
      bytesByType[type] = (bytesByType[type] ?? 0) + Buffer.byteLength(json);
    }
    runs.push({
      run: runs.length + 1,
      // Each turn here is one `sendMessage` update, completed in the run that played it.
      turns: events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length,
      events: events.length,
      jsonBytes: Buffer.byteLength(JSON.stringify(history)),
      bytesByType,
    });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId || undefined;
  }
  return runs;
}

/**
 * The `--out FILE` / `--json` handling of a bench's report: writes `figures` as JSON to `out` when given, prints it on
 * stdout when `json`, and tells whether it did (the caller then prints no table).
 */
export function emitJson(figures: unknown, options: { out?: string; json: boolean }): boolean {
  const json = JSON.stringify(figures, null, 2);
  if (options.out) writeFileSync(options.out, `${json}\n`);
  if (options.json) console.log(json);
  return options.json;
}

/**
 * A commander option parser for a whole number of at least `min` (e.g. `--turns 100`).
 * @throws InvalidArgumentError `a whole number >= <min>` (commander prints it with the option's name and exits).
 */
export const integerOption = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`a whole number >= ${min}`);
  return n;
};
