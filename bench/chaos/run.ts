/**
 * One chaos run, start to finish: starts the stack (Temporal dev server with persistence, PostgreSQL, `workers`
 * `stepwise worker` and `apis` `stepwise api` processes), runs the seeded load while the injector plays the fault
 * schedule, lets things settle, runs the final round, checks the seven invariants, and stops everything. Used by
 * `npm run chaos` (bench/chaos/main.ts) and by test/integration/chaos.int.test.ts (the short, progress-driven variant).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { migrateArchive } from '../../archive/migrate.js';
import { ensureTemporalCli } from '../../cli/temporal-cli.js';
import { freePort } from '../../cli/temporal-server.js';
import { writeChaosAgent } from './agent.js';
import { type CheckResult, checkCrashes, checkLedger, checkLiveness, checkMemory, checkStatuses, checkStreams, checkTurns, type MemorySample } from './check.js';
import { ChaosClient } from './client.js';
import { injectFaults, type PlannedFault, progressSchedule, type Targets, timeSchedule } from './faults.js';
import { Load } from './load.js';
import { cachedWorkflows, type ChaosProcess, childPids, type NodeProcess, privateMemoryBytes, startNodeProcess, startPostgres, startTemporal } from './processes.js';
import { Prng } from './prng.js';
import { type FaultKind, RunRecord } from './record.js';
import { faultLines, reportLines } from './report.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ChaosOptions {
  seed: number;
  /** Load duration for the time schedule, minutes (default 5). */
  minutes?: number;
  /** Client actors (default 30). */
  sessions?: number;
  /** Actors with an SSE subscriber (default 8). */
  subscribers?: number;
  /** Faults of each kind on the time schedule (default: 1 per 3⅓ minutes, at least 1: 3 in 10 minutes). */
  faultsPerKind?: number;
  /** Only these fault kinds on the time schedule (default: all; to tell which fault a violation needs). */
  faultKinds?: readonly FaultKind[];
  /**
   * `time` (default): faults at seeded times over the run. `{ progressEvery: n }`: one fault of each kind, the next
   * after every `n` more acknowledged messages; the load ends once the last fault is over and `n` more were acknowledged.
   */
  schedule?: 'time' | { progressEvery: number };
  /** Worker stall range, ms (default 10-40 s). */
  stallMs?: [number, number];
  /** Messages per burst (default 50). */
  burstSize?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface ChaosOutcome {
  checks: CheckResult[];
  violations: number;
  /** The report (invariant lines, summary table, verdict). */
  lines: string[];
  record: RunRecord;
  /** The run's folder (logs, ledger, databases); deleted when the run passed. */
  dir: string;
}

/** Memory is sampled this often, ms; invariant 6 reads a life's samples from this long into it on (check.ts `checkMemory`). */
const SAMPLE_MS = 5_000;
const WARMUP_MS = 20_000;

/**
 * Runs the suite. @throws Error when the stack cannot be started (no `temporal` CLI, no PostgreSQL binaries): that
 * is not a verdict; violations are reported in the outcome, never thrown.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosOutcome> {
  const log = options.log ?? (() => {});
  const minutes = options.minutes ?? 5;
  const rng = new Prng(options.seed);
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-chaos-'));
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (let s = stops.pop(); s; s = stops.pop()) await s().catch((err) => log(`clean-up: ${(err as Error).message}`));
  };
  let sampler: NodeJS.Timeout | undefined;
  try {
    log(`run folder ${dir}`);
    const cli = await ensureTemporalCli({ stateDir: join(ROOT, '.stepwise') });
    const [temporal, postgres] = await Promise.all([startTemporal(cli.path, dir), startPostgres()]);
    stops.push(() => temporal.stop(), () => postgres.pg.stop());
    await migrateArchive(postgres.databaseUrl);
    const { agentFile, ledgerDir } = writeChaosAgent(dir);
    const env = {
      TEMPORAL_ADDRESS: temporal.address,
      STEPWISE_TASK_QUEUE: 'chaos',
      STEPWISE_AGENTS: agentFile,
      DATABASE_URL: postgres.databaseUrl,
      CHAOS_LEDGER_DIR: ledgerDir,
    };
    log(`Temporal at ${temporal.address} (SQLite ${join(dir, 'temporal.sqlite')}), PostgreSQL on ${postgres.pg.port}; starting 2 workers and 2 APIs`);
    // Each worker serves its Core SDK metrics on its own port (the same one after a restart): the sampler reads how
    // many workflows its cache holds, which invariant 6 allows memory for.
    const metricsPorts = await Promise.all([freePort(), freePort()]);
    const workers = await Promise.all(
      metricsPorts.map((port, i) => startNodeProcess(`worker-${i + 1}`, 'worker', { ...env, STEPWISE_WORKER_METRICS_ADDRESS: `127.0.0.1:${port}` }, dir)),
    );
    const metricsUrls = new Map(workers.map((w, i) => [w as ChaosProcess, `http://127.0.0.1:${metricsPorts[i]}/metrics`]));
    const apiPorts = await Promise.all([freePort(), freePort()]);
    const apis = await Promise.all(
      apiPorts.map((port, i) =>
        startNodeProcess(`api-${i + 1}`, 'api', {
          ...env,
          PORT: String(port),
          HOST: '127.0.0.1',
          STEPWISE_AUTH: 'off',
          // All the load comes from one address: the per-caller limit would stand for thousands of users. The
          // per-session limit (60 messages a minute) stays on: bursts meet it and retry after Retry-After.
          STEPWISE_RATE_LIMIT_PER_MINUTE: '1000000',
          STEPWISE_TEMPORAL_RETRY_MS: '500',
          LOG_LEVEL: 'warn',
        }, dir),
      ),
    );
    for (const p of [...workers, ...apis]) stops.push(() => p.stop());
    const targets: Targets = { workers, apis, temporal, postgres };

    const samples: MemorySample[] = [];
    const slots: ChaosProcess[] = [...workers, ...apis, temporal, postgres];
    const sample = async () => {
      await Promise.all(
        slots.map(async (p) => {
          const pid = p.pid();
          const pids = pid && p === postgres ? [pid, ...childPids(pid)] : [pid];
          const bytes = pids.reduce<number | undefined>((sum, x) => {
            const b = privateMemoryBytes(x);
            return b === undefined ? sum : (sum ?? 0) + b;
          }, undefined);
          if (bytes === undefined) return;
          const at = { atMs: Date.now(), life: p.starts, ageMs: Date.now() - p.startedAt };
          const url = metricsUrls.get(p);
          const cached = url ? await cachedWorkflows(url) : undefined;
          samples.push({ name: p.name, ...at, bytes, ...(cached === undefined ? {} : { cached }) });
        }),
      );
    };
    sampler = setInterval(() => void sample(), SAMPLE_MS);

    const record = new RunRecord();
    const client = new ChaosClient(apis.map((_, i) => `http://127.0.0.1:${apiPorts[i]}`), record, rng.fork('client'));
    const load = new Load(client, record, rng.fork('load'), {
      sessions: options.sessions ?? 30,
      subscribers: options.subscribers ?? 8,
      prefix: `chaos-${options.seed}`,
    });
    const schedule = options.schedule ?? 'time';
    const totalMs = minutes * 60_000;
    const plan: PlannedFault[] =
      schedule === 'time'
        ? timeSchedule(rng.fork('faults'), options.faultsPerKind ?? Math.max(1, Math.round(minutes * 0.3)), Math.min(30_000, totalMs * 0.15), totalMs - Math.min(60_000, totalMs * 0.25), options.faultKinds)
        : progressSchedule(schedule.progressEvery);
    log(`load: ${options.sessions ?? 30} sessions, ${plan.length} faults planned`);
    load.start();
    await injectFaults(plan, targets, load, client, record, rng.fork('targets'), { stallMs: options.stallMs, burstSize: options.burstSize, log });
    if (schedule === 'time') {
      while (Date.now() - record.startedAt < totalMs) await sleep(200);
    } else {
      const until = record.acked + schedule.progressEvery;
      while (record.acked < until) await sleep(100);
    }
    log('faults over: letting the clients finish their messages');
    await load.stop();
    log('final round: one more message to every live session');
    await load.runFinalRound();

    const db = new pg.Pool({ connectionString: postgres.databaseUrl, max: 4 });
    stops.push(() => db.end());
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const temporalClient = new Client({ connection });
    await load.closeSubscribers(async (sessionId) => (await db.query<{ max: number | null }>('SELECT max(seq) AS max FROM stepwise_events WHERE session_id = $1', [sessionId])).rows[0]?.max ?? undefined);
    log('checking');
    await sample();
    clearInterval(sampler);
    const checks = [
      await checkTurns(record, db, temporalClient, client),
      await checkLedger(record, ledgerDir, db),
      await checkLiveness(record, load.finalRound, client),
      await checkStreams(record, db),
      checkStatuses(record),
      checkMemory(samples, WARMUP_MS),
      checkCrashes([...workers, ...apis]),
    ];
    for (const line of faultLines(record)) log(line);
    const violations = checks.reduce((n, c) => n + Number(c.counts.violations ?? 0), 0);
    const lines = reportLines(options.seed, schedule === 'time' ? minutes : undefined, record, checks);
    await stopAll();
    if (violations === 0) rmSync(dir, { recursive: true, force: true });
    else {
      // The memory samples (one per process every SAMPLE_MS) go with the kept folder: growth or a plateau?
      writeFileSync(join(dir, 'memory.json'), JSON.stringify(samples));
      log(`kept the run folder for inspection: ${dir}`);
    }
    return { checks, violations, lines, record, dir };
  } finally {
    clearInterval(sampler);
    await stopAll();
  }
}

export type { NodeProcess };
