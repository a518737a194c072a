/**
 * Starting Temporal's real dev server (`temporal server start-dev`) as a child process, for `stepwise dev` and the
 * test suite's global setup. The server registers Stepwise's search attributes at start (`--search-attribute`), so
 * sessions can be listed and filtered by agent, step and status from the first session on.
 *
 * Node only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../workflows/shared.js';

/**
 * Server settings (dynamic config) Stepwise turns on for its dev server. Eager activity execution: an activity a
 * workflow task schedules (a tool call, a summary) comes back in that task's completion response, to the same worker,
 * instead of travelling through the server's transfer queue and matching; measured here it halved a one-decision turn
 * while `decide` was a regular activity (p50 96 ms -> 44 ms). Off by default in the server (`system.enableActivityEagerExecution`); the same setting is in
 * deploy/temporal/dynamicconfig for docker compose and recommended for self-hosted clusters.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, unknown> = { 'system.enableActivityEagerExecution': true };

export interface DevServerOptions {
  /** Path of the `temporal` binary (see `ensureTemporalCli`). */
  binary: string;
  /** Frontend (gRPC) port; default a free port. `stepwise dev` uses 7233 like the CLI. */
  port?: number;
  /** Web UI port, or `false` for a headless server (tests). Default a free port. */
  uiPort?: number | false;
  /** SQLite file to persist to; omit for an in-memory server (gone when it stops). */
  dbFile?: string;
  /** Default `default`. */
  namespace?: string;
  /** Interface to bind; default `127.0.0.1` (never reachable from other machines). */
  ip?: string;
  /** Server log level passed to `--log-level`; default `warn`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Longest wait for the frontend to answer, in ms. Default 60 s (first start of a SQLite file migrates its schema). */
  startTimeoutMs?: number;
  /**
   * Codec endpoint the Web UI calls to show encrypted payloads (`--ui-codec-endpoint`), e.g.
   * `http://localhost:3000/codec` when `STEPWISE_CODEC_KEYS` is set. Default: none (payloads shown as stored).
   */
  uiCodecEndpoint?: string;
  /** Where the server's own output goes (default: dropped unless it fails to start). */
  onOutput?: (text: string) => void;
  /** Called with the child process as soon as it is spawned, before the wait (e.g. `ChildSupervisor.adopt`). */
  onSpawn?: (child: ChildProcess) => void;
}

/** A running dev server. */
export interface DevServer {
  /** `host:port` of the frontend, for `TEMPORAL_ADDRESS`. */
  address: string;
  namespace: string;
  /** Web UI URL, when the UI is on. */
  uiUrl?: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on `host` (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** `temporal server start-dev` arguments for `opts` (exported for tests and for printing the equivalent command). */
export function devServerArgs(
  opts: Required<Pick<DevServerOptions, 'port' | 'namespace' | 'ip' | 'logLevel'>> & Pick<DevServerOptions, 'dbFile' | 'uiPort' | 'uiCodecEndpoint'>,
): string[] {
  const args = ['server', 'start-dev', '--ip', opts.ip, '--port', String(opts.port), '--namespace', opts.namespace, '--log-level', opts.logLevel];
  if (opts.uiPort === false || opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  if (opts.uiCodecEndpoint && opts.uiPort !== false && opts.uiPort !== undefined) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_DEFINITIONS)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return args;
}

/**
 * Starts the dev server and waits until its frontend answers.
 *
 * @throws Error with the server's last output when it exits early or does not answer within `startTimeoutMs`
 *   (e.g. the port is taken); not retryable without a change.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(ip));
  const uiPort = opts.uiPort === false ? false : (opts.uiPort ?? (await freePort(ip)));
  const namespace = opts.namespace ?? 'default';
  const args = devServerArgs({ port, uiPort, namespace, ip, logLevel: opts.logLevel ?? 'warn', dbFile: opts.dbFile, uiCodecEndpoint: opts.uiCodecEndpoint });
  const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  opts.onSpawn?.(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-4_000);
    opts.onOutput?.(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: string | undefined;
  const exit = new Promise<void>((resolveExit) =>
    child.on('exit', (code, signal) => {
      exited = `exited with ${signal ?? `code ${code}`}`;
      resolveExit();
    }),
  );
  child.on('error', (err) => {
    exited = `could not run: ${err.message}`;
  });

  const address = `${ip}:${port}`;
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`temporal ${args.join(' ')} ${exited}:\n${output.trim()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.describeNamespace({ namespace }));
        break;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal dev server did not answer at ${address} within ${opts.startTimeoutMs ?? 60_000} ms (${(err as Error).message}):\n${output.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    address,
    namespace,
    ...(uiPort === false ? {} : { uiUrl: `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}` }),
    process: child,
    stop,
  };
}
