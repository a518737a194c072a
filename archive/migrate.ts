/**
 * Brings the archive's tables up to date with node-pg-migrate (v8 programmatic `runner`), from the SQL files in
 * `migrations/` at the package root. Used by the worker and API at start and by `stepwise migrate`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { SystemError } from '../src/errors.js';
import { toArchiveError } from './pg-store.js';

/** Absolute path of the migration files (node-pg-migrate format: `<timestamp>_<name>.sql`). */
export const ARCHIVE_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** Table recording which migrations ran (node-pg-migrate's bookkeeping), in the `public` schema. */
export const ARCHIVE_MIGRATIONS_TABLE = 'stepwise_migrations';

/** Session-level advisory lock key held while migrating ("STEP"), so concurrent starters take turns. */
export const ARCHIVE_MIGRATION_LOCK_KEY = 0x53544550;

export interface MigrateArchiveOptions {
  /** Receives node-pg-migrate's progress lines; silent by default. */
  log?: (message: string) => void;
  /** How long to wait for another process's migration to finish, in ms. Default 60,000. */
  lockTimeoutMs?: number;
  /** How long to wait for a connection, in ms. Default 10,000. */
  connectionTimeoutMs?: number;
}

/**
 * Applies every pending `up` migration to the database at `databaseUrl`, in one transaction, and returns the names
 * of those applied (empty when already up to date, so re-running is a no-op). Concurrent callers (a worker and an
 * API starting together) wait for each other on an advisory lock instead of failing.
 *
 * @throws SystemError `ARCHIVE_UNAVAILABLE` (retryable) if the database cannot be reached or the lock is not had
 *   within `lockTimeoutMs`; `SystemError('INTERNAL')` (not retryable) if a migration fails (nothing is applied).
 */
export async function migrateArchive(databaseUrl: string, options: MigrateArchiveOptions = {}): Promise<string[]> {
  const log = options.log ?? (() => {});
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    application_name: 'stepwise-migrate',
  });
  client.on('error', () => {}); // a dropped connection surfaces as the failing query's error
  try {
    await client.connect();
  } catch (err) {
    throw toArchiveError(err);
  }
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 60_000);
    try {
      const applied = await runner({
        dbClient: client,
        dir: ARCHIVE_MIGRATIONS_DIR,
        direction: 'up',
        migrationsTable: ARCHIVE_MIGRATIONS_TABLE,
        checkOrder: true,
        singleTransaction: true,
        noLock: true, // we hold our own (waiting) lock; node-pg-migrate's would fail a concurrent caller
        logger: { debug: log, info: log, warn: log, error: log },
      });
      return applied.map((m) => m.name);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [ARCHIVE_MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } catch (err) {
    throw toArchiveError(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Polls `pg_try_advisory_lock` every 100 ms until it is had or `timeoutMs` passes. */
async function acquireLock(client: pg.Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [ARCHIVE_MIGRATION_LOCK_KEY]);
    if (res.rows[0]?.ok === true) return;
    if (Date.now() >= deadline) {
      throw new SystemError('ARCHIVE_UNAVAILABLE', `another process has been migrating the archive for over ${timeoutMs} ms`);
    }
    await sleep(100);
  }
}
