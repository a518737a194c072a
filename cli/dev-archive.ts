/**
 * The archive `stepwise dev` runs when `DATABASE_URL` is not set (docs/dev-archive.md): PGlite (PostgreSQL compiled to
 * WebAssembly, `@electric-sql/pglite`) persisted under `.stepwise/archive`, served on a loopback port by
 * `@electric-sql/pglite-socket`, so the unchanged `pg` code path (migrations, `PgArchiveStore`, listing, time travel)
 * runs against it as against any PostgreSQL server. No second store implementation.
 *
 * Limits of the embedding: one PostgreSQL session multiplexed between the pool's connections (transactions are kept
 * apart by the socket server; `LISTEN`/`NOTIFY` is not, so streamed model tokens are off with it); one process may
 * open the data directory at a time.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A running embedded archive server. */
export interface DevArchive {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: a `DATABASE_URL` for the archive code. */
  databaseUrl: string;
  /** Where the data lives (a directory). */
  dataDir: string;
  /** Stops serving, then closes the database (flushing it to `dataDir`). Idempotent. */
  stop(): Promise<void>;
}

/** Connections the socket server multiplexes at most (the archive pool's 10, the migration runner's, spare). */
const MAX_CONNECTIONS = 16;

/**
 * Opens (or creates) the PGlite database in `dataDir` and serves it on `127.0.0.1:<free port>`.
 *
 * @throws Error when the directory cannot be opened (e.g. another `stepwise dev` holds it, or it is not a PGlite data
 *   directory): not retryable as is.
 */
export async function startDevArchive(dataDir: string): Promise<DevArchive> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(':').pop());
  let stopped: Promise<void> | undefined;
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    stop: () =>
      (stopped ??= (async () => {
        await server.stop();
        await db.close();
      })()),
  };
}
