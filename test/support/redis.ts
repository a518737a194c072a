/**
 * A real, throwaway Redis server for tests: Debian's `redis-server` on a free port of 127.0.0.1, no persistence
 * (`--save '' --appendonly no`), its working directory in a temp dir, and `stop()` that kills it and deletes the dir.
 *
 * Usage (one server per test file):
 *
 *   let redis: TestRedis;
 *   beforeAll(async () => { redis = await startTestRedis(); });
 *   afterAll(async () => { await redis?.stop(); });
 *
 * Needs `/usr/bin/redis-server` (or `STEPWISE_REDIS_SERVER`); without it it throws, telling the reader to run
 * `.ci/install-redis.sh`. Tests fail, they never skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/temporal-server.js';
import { untilOutput } from './process-output.js';

/** A running throwaway server. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** SIGKILLs the server and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a server and resolves once it accepts connections (it prints "Ready to accept connections"), typically in
 * under 100 ms. Retries on a new port if the chosen one was taken meanwhile. `port`: this one (e.g. to restart a
 * stopped server where its clients expect it).
 * @throws Error if the binary is missing or the server will not start (with its output).
 */
export async function startTestRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const binary = process.env.STEPWISE_REDIS_SERVER ?? '/usr/bin/redis-server';
  if (!existsSync(binary)) throw new Error(`${binary} not found: run .ci/install-redis.sh (Debian's redis-server)`);
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stopSync = () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    };
    // A crashed or killed test process must not leave a server behind.
    process.once('exit', stopSync);
    try {
      await untilOutput(child, /Ready to accept connections/, 'redis-server', 10_000);
    } catch (err) {
      process.removeListener('exit', stopSync);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (attempt < 3 && options.port === undefined && /Address already in use/i.test((err as Error).message)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      async stop() {
        process.removeListener('exit', stopSync);
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
