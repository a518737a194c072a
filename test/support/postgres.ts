/**
 * A real, throwaway PostgreSQL cluster for tests: `initdb` in a temp dir, `pg_ctl start` on a free port of
 * 127.0.0.1 (socket in the temp dir too), and `stop()` that kills it and deletes the dir. Nothing touches the
 * distribution's own cluster (port 5432, /var/lib/postgresql), so whether apt started that one does not matter.
 *
 * Usage (one cluster per test file; one database per test for isolation):
 *
 *   let pg: TestPostgres;
 *   beforeAll(async () => { pg = await startTestPostgres(); });
 *   afterAll(async () => { await pg?.stop(); });
 *   it('...', async () => { const url = await pg.createDatabase(); ... });
 *
 * Needs the Debian server binaries (`/usr/lib/postgresql/<version>/bin`); without them it throws, telling the
 * reader to run `.ci/install-postgres.sh`. Tests fail, they never skip. As root (postgres refuses to run as root)
 * the binaries run as the `postgres` system user through `runuser`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A running throwaway cluster. */
export interface TestPostgres {
  /** Superuser URL of the `postgres` database (`postgres://postgres@127.0.0.1:<port>/postgres`, trust auth). */
  databaseUrl: string;
  port: number;
  /** `CREATE DATABASE` (random name unless given, optionally from `template`); returns its URL. */
  createDatabase(options?: { name?: string; template?: string }): Promise<string>;
  /** `pg_ctl stop -m immediate`, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Pid of the running postmaster (from `postmaster.pid`), or undefined while it is down. */
  pid(): number | undefined;
  /** SIGKILLs the postmaster (a crash: no shutdown checkpoint; its backends exit on their own). Data stays. */
  crash(): Promise<void>;
  /**
   * Starts the same cluster again on the same port after {@link crash} (crash recovery runs); retries for up to
   * 30 s while the killed server's backends still hold its shared memory. @throws Error with the log's tail.
   */
  restart(): Promise<void>;
}

/**
 * Where to find the server binaries: `STEPWISE_PG_BIN`, else the newest `<root>/<version>/bin` (Debian layout).
 * @throws Error naming `.ci/install-postgres.sh` when there are none.
 */
export function findPostgresBinDir(root = '/usr/lib/postgresql'): string {
  const fromEnv = process.env.STEPWISE_PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found (no ${root}/*/bin/initdb). ` +
        'Run `bash .ci/install-postgres.sh` (as root) to install them, or set STEPWISE_PG_BIN to a bin dir.',
    );
  }
  return join(root, versions[0]!, 'bin');
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** uid/gid of the `postgres` system user (for running as root). */
function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root but there is no `postgres` system user: run `bash .ci/install-postgres.sh`');
  }
}

/**
 * Starts a fresh cluster and waits until it accepts connections (typically 1-3 s). `durableCommits` (default false):
 * acknowledged commits survive a SIGKILL of the server (the chaos suite). Retries on a new port if the
 * chosen one was taken meanwhile. @throws Error if the binaries are missing or the server will not start (with the
 * server log's tail).
 */
export async function startTestPostgres(options: { durableCommits?: boolean } = {}): Promise<TestPostgres> {
  const bin = findPostgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  /** Runs a server binary, as `postgres` when we are root. */
  const pgExec = (tool: string, args: string[], timeoutMs = 60_000) => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    return run(cmd, argv, { timeout: timeoutMs, encoding: 'utf8', cwd: dir });
  };
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      const args = ['stop', '-D', dataDir, '-m', 'immediate', '-w'];
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(join(bin, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed or killed test process must not leave a server behind.
  process.once('exit', stopSync);

  try {
    await pgExec('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    let port = 0;
    const optionsFor = (p: number) =>
      [
        `-p ${p}`,
        `-c listen_addresses=127.0.0.1`,
        `-c unix_socket_directories=${dir}`,
        // Throwaway data: durability off for speed. `durableCommits` keeps synchronous commits, so a server killed
        // with SIGKILL keeps every transaction it acknowledged (fsync stays off: the machine does not crash).
        options.durableCommits ? '-c fsync=off' : '-c fsync=off -c synchronous_commit=off -c full_page_writes=off',
        '-c max_connections=100', // the chaos suite runs four processes with pools of 10 or more
      ].join(' ');
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const serverOptions = optionsFor(port);
      try {
        await pgExec('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions], 90_000);
        break;
      } catch (err) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n--- server log ---\n${log.slice(-4_000)}`);
      }
    }
    const databaseUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const pid = () => {
      try {
        return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
      } catch {
        return undefined;
      }
    };
    return {
      databaseUrl,
      port,
      pid,
      async crash() {
        const p = pid();
        if (p) process.kill(p, 'SIGKILL');
      },
      async restart() {
        for (const deadline = Date.now() + 30_000; ; ) {
          try {
            await pgExec('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', optionsFor(port)], 90_000);
            return;
          } catch (err) {
            if (Date.now() > deadline) {
              throw new Error(`PostgreSQL did not restart: ${(err as Error).message}\n${readFileSync(logFile, 'utf8').slice(-2_000)}`);
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      },
      async createDatabase(options = {}) {
        const name = options.name ?? `test_${randomBytes(6).toString('hex')}`;
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          const template = options.template ? ` TEMPLATE ${client.escapeIdentifier(options.template)}` : '';
          await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${template}`);
        } finally {
          await client.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      async stop() {
        process.removeListener('exit', stopSync);
        stopSync();
      },
    };
  } catch (err) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw err;
  }
}
