/**
 * The chaos suite's processes, each one a real process a user would run, that the fault injector can SIGKILL and
 * start again, or SIGSTOP/SIGCONT: Temporal's dev server with SQLite persistence (`--db-filename`, so a restart on the
 * same port finds every workflow again), a PostgreSQL cluster (`test/support/postgres.ts`, restarted on its data
 * directory), and `stepwise worker` / `stepwise api` (`cli/main.ts`, run with `node --import tsx`). Output of each
 * goes to `<dir>/<name>.log`. Node only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { type DevServer, freePort, startDevServer } from '../../cli/temporal-server.js';
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** One process slot the injector can crash: it knows how to (re)start its process and where it is. */
export interface ChaosProcess {
  /** `worker-1`, `api-2`, `temporal`, `postgres`. */
  readonly name: string;
  /** Pid of the running process (undefined while down). */
  pid(): number | undefined;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** Start again after {@link kill} (same port, same data). @throws Error when it does not come up. */
  restart(): Promise<void>;
  /** Starts counted since the run began (1 = never restarted). */
  starts: number;
  /** `Date.now()` of the latest start. */
  startedAt: number;
}

/** Private resident memory (`RssAnon` of /proc/<pid>/status) in bytes, or undefined when the process is gone. */
export function privateMemoryBytes(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Workflows held in a worker's workflow cache: the Core SDK's `temporal_sticky_cache_size` gauge, read from the
 * worker's Prometheus endpoint (`STEPWISE_WORKER_METRICS_ADDRESS`, workers/metrics.ts) at `metricsUrl`
 * (`http://host:port/metrics`). Undefined when the worker does not answer within `timeoutMs` (default 1,000: it is
 * stopped, killed or starting) or serves no such series. Never throws.
 */
export async function cachedWorkflows(metricsUrl: string, timeoutMs = 1_000): Promise<number | undefined> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const values = [...(await res.text()).matchAll(/^temporal_sticky_cache_size(?:\{[^}]*\})? (\S+)$/gm)].map((m) => Number(m[1]));
    return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
  } catch {
    return undefined;
  }
}

/** Pids of `pid`'s direct children (for PostgreSQL, whose backends are the postmaster's children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every child started here, SIGKILLed if this process exits first (a test timed out, an error): no orphans. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
const adopt = (c: ChildProcess) => {
  children.add(c);
  c.once('exit', () => children.delete(c));
};

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));

/** Temporal's dev server on a fixed port with its SQLite file in `dir`. */
export async function startTemporal(binary: string, dir: string): Promise<ChaosProcess & { address: string; stop(): Promise<void> }> {
  const port = await freePort();
  const dbFile = join(dir, 'temporal.sqlite');
  const log = createWriteStream(join(dir, 'temporal.log'), { flags: 'a' });
  const start = () => startDevServer({ binary, port, dbFile, uiPort: false, onOutput: (t) => log.write(t), onSpawn: adopt });
  let server: DevServer | undefined = await start();
  const slot = {
    name: 'temporal',
    address: server.address,
    starts: 1,
    startedAt: Date.now(),
    pid: () => server?.process.pid,
    async kill() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.process.kill('SIGKILL');
      await exited(s.process);
    },
    async restart() {
      server = await start();
      slot.starts++;
      slot.startedAt = Date.now();
    },
    async stop() {
      await server?.stop();
      server = undefined;
      log.end();
    },
  };
  return slot;
}

/** A PostgreSQL cluster (one database, `stepwise_chaos`) that survives SIGKILL of its postmaster. */
export async function startPostgres(): Promise<ChaosProcess & { databaseUrl: string; pg: TestPostgres }> {
  const pg = await startTestPostgres({ durableCommits: true });
  const databaseUrl = await pg.createDatabase({ name: 'stepwise_chaos' });
  let up = true;
  const slot = {
    name: 'postgres',
    databaseUrl,
    pg,
    starts: 1,
    startedAt: Date.now(),
    pid: () => (up ? pg.pid() : undefined),
    async kill() {
      const pid = pg.pid();
      up = false;
      await pg.crash();
      // Gone when its pid no longer answers signal 0.
      for (let i = 0; pid && i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restart() {
      await pg.restart();
      up = true;
      slot.starts++;
      slot.startedAt = Date.now();
    },
  };
  return slot;
}

/** A `stepwise worker` or `stepwise api` process (`node --import tsx cli/main.ts <command>`). */
export interface NodeProcess extends ChaosProcess {
  /** SIGSTOP (a stall: the process holds its sockets and leases but does nothing). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /**
   * Exits nobody asked for (a crash: "exited (1) at 10:52:21.226"), in order. The process is started again a second
   * later, as a supervisor (systemd, Kubernetes) would; the checker reports each exit as a violation.
   */
  readonly unplannedExits: string[];
}

/**
 * Starts `stepwise <command>` with `env` added to this process's environment and resolves once its output matches
 * `ready` (the worker's start line, the API's `listening on`).
 *
 * @throws Error with the process's output tail when it exits first or is not ready within 90 s.
 */
export async function startNodeProcess(
  name: string,
  command: 'worker' | 'api',
  env: Record<string, string>,
  dir: string,
): Promise<NodeProcess> {
  const ready = command === 'worker' ? /stepwise worker: task queue/ : /listening on/;
  const log: WriteStream = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
  let child: ChildProcess | undefined;
  /** Children this harness is killing or stopping: their exit is planned. */
  const planned = new WeakSet<ChildProcess>();
  const start = async () => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/main.ts'), command], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    adopt(c);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready within 90 s:\n${output.slice(-2_000)}`)), 90_000);
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        log.write(text);
        if (output.length < 20_000) output += text;
        if (ready.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', onData);
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output.slice(-2_000)}`));
      });
    });
    c.once('exit', (code, signal) => {
      if (planned.has(c)) return;
      slot.unplannedExits.push(`exited (${signal ?? code}) at ${new Date().toISOString().slice(11, 23)}`);
      setTimeout(() => {
        if (child === c) void slot.restart().catch((err: Error) => log.write(`[chaos] restart after the crash failed: ${err.message}\n`));
      }, 1_000);
    });
  };
  await start();
  const slot: NodeProcess = {
    name,
    starts: 1,
    startedAt: Date.now(),
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    unplannedExits: [],
    async kill() {
      const c = child;
      if (!c) return;
      planned.add(c);
      c.kill('SIGKILL');
      await exited(c);
    },
    async restart() {
      await start();
      slot.starts++;
      slot.startedAt = Date.now();
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async stop(graceMs = 10_000) {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) {
        log.end();
        return;
      }
      planned.add(c);
      c.kill('SIGCONT');
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
      await exited(c);
      clearTimeout(timer);
      log.end();
    },
  };
  return slot;
}
