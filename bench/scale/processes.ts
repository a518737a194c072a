/**
 * The processes of `npm run bench:scale`, each a real OS process so its CPU time and memory can be read apart:
 * `stepwise worker` and `stepwise api` (the real CLI commands, configured by environment as users run them) and the
 * echo worker of the bare-update baseline (./echo-worker.ts). CPU and RSS come from `/proc/<pid>/stat` and
 * `/proc/<pid>/status` (Linux only).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../cli/temporal-server.js';
import { untilOutput } from '../../test/support/process-output.js';
import { log, onCleanUp } from '../support.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux). */
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** A started process: its pid, and for an API its base URL. */
export interface BenchProcess {
  kind: 'worker' | 'api' | 'echo';
  pid: number;
  base?: string;
  child: ChildProcess;
}

/** CPU time (user + system) the process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, inside parentheses): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory of the process, in bytes (`VmRSS`). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

/** Sum of {@link cpuMs} over processes. */
export const totalCpuMs = (processes: { pid: number }[]) => processes.reduce((n, p) => n + cpuMs(p.pid), 0);

/**
 * Starts a process and resolves once its output matches `ready` (60 s at most). Stopped at clean-up with
 * SIGTERM, then SIGKILL after 10 s.
 *
 * @throws when it exits or stays silent before it is ready (with the tail of its output).
 */
export function start(kind: BenchProcess['kind'], args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  onCleanUp(`${kind} ${child.pid}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return untilOutput(child, ready, kind, 60_000).then(() => child);
}

/** What every Stepwise process of the bench shares: the server, task queue, agents and, optionally, the archive. */
export interface StepwiseEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  STEPWISE_TASK_QUEUE: string;
  STEPWISE_AGENTS: string;
  DATABASE_URL?: string;
  STEPWISE_WORKFLOW_CACHE_SIZE?: string;
}

/** Node flags of the worker and API processes (`--profile DIR`: `--cpu-prof`, written when they stop). */
let nodeFlags: string[] = [];

/** Profiles every worker and API process started after this call into `dir` (V8 `.cpuprofile` files). */
export function profileInto(dir: string): void {
  nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** `stepwise worker` with `env`. */
export async function startWorker(env: StepwiseEnv): Promise<BenchProcess> {
  const child = await start('worker', [...nodeFlags, 'bin/stepwise.js', 'worker'], { ...process.env, ...env }, /stepwise worker: task queue/);
  log(`worker ${child.pid} on ${env.STEPWISE_TASK_QUEUE}`);
  return { kind: 'worker', pid: child.pid!, child };
}

/**
 * `stepwise api` with `env`, listening on a free loopback port, without auth and without the per-caller and
 * per-session rate limits (they would stop the measured loops: the bench measures what lies behind them).
 */
export async function startApi(env: StepwiseEnv): Promise<BenchProcess> {
  const port = await freePort();
  const child = await start(
    'api',
    [...nodeFlags, 'bin/stepwise.js', 'api'],
    {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      STEPWISE_AUTH: 'off',
      STEPWISE_RATE_LIMIT_PER_MINUTE: '0',
      STEPWISE_SESSION_MESSAGES_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    },
    /stepwise api: listening on/,
  );
  log(`api ${child.pid} on port ${port}`);
  return { kind: 'api', pid: child.pid!, base: `http://127.0.0.1:${port}`, child };
}

/** The echo worker (./echo-worker.ts) on `taskQueue`: the workflow of the bare-update baseline. */
export async function startEchoWorker(address: string, namespace: string, taskQueue: string): Promise<BenchProcess> {
  const child = await start(
    'echo',
    ['--import', 'tsx', 'bench/scale/echo-worker.ts'],
    { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, ECHO_TASK_QUEUE: taskQueue },
    /^ready$/m,
  );
  return { kind: 'echo', pid: child.pid!, child };
}
