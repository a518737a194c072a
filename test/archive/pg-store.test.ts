/**
 * PgArchiveStore against a real throwaway PostgreSQL (test/support/postgres.ts): the conformance suite, plus what
 * only a database can show (migrations, concurrent writers, an unreachable server).
 */
import { readdirSync } from 'node:fs';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_MIGRATIONS_DIR, ARCHIVE_MIGRATIONS_TABLE, migrateArchive } from '../../archive/migrate.js';
import { createPgArchive, PgArchiveStore } from '../../archive/pg-store.js';
import { findPostgresBinDir, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { describeArchiveConformance, expectCode, makeTurn, turnRecord } from './conformance.js';
import { describeFileArchiveConformance } from './files-conformance.js';

let server: TestPostgres;
/** One migrated database shared by the store tests, emptied before each (tests in a file run one at a time). */
let archiveUrl: string;

beforeAll(async () => {
  server = await startTestPostgres();
  archiveUrl = await server.createDatabase();
  await migrateArchive(archiveUrl);
});

afterAll(async () => {
  await server?.stop();
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** An empty archive: TRUNCATE is ~100x cheaper than CREATE DATABASE, and as isolating for sequential tests. */
async function freshStore(options?: Parameters<typeof createPgArchive>[1]) {
  await withClient(archiveUrl, (c) => c.query('TRUNCATE stepwise_files, stepwise_branch_turns, stepwise_branches, stepwise_turn_states, stepwise_events, stepwise_turns, stepwise_sessions'));
  return createPgArchive(archiveUrl, options);
}

describeArchiveConformance('PgArchiveStore', () => freshStore());
describeFileArchiveConformance('PgArchiveStore', () => freshStore());

describe('test PostgreSQL helper', () => {
  it('fails loudly, naming the install script, when the server binaries are missing', () => {
    expect(() => findPostgresBinDir('/nonexistent/postgresql')).toThrow(/\.ci\/install-postgres\.sh/);
    expect(findPostgresBinDir()).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
  });

  it('serves only 127.0.0.1 on its own port, not the distribution cluster', async () => {
    expect(server.port).not.toBe(5432);
    await withClient(server.databaseUrl, async (c) => {
      const res = await c.query(`SELECT current_setting('listen_addresses') AS l, current_setting('port')::int AS p`);
      expect(res.rows[0]).toEqual({ l: '127.0.0.1', p: server.port });
    });
  });
});

/** Every migration file's name, in the order they run (node-pg-migrate: by file name). */
const MIGRATIONS = readdirSync(ARCHIVE_MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.slice(0, -'.sql'.length))
  .sort();

describe('archive migrations', () => {
  it('create the tables, keys and indexes in an empty database; re-running is a no-op', async () => {
    const url = await server.createDatabase();
    expect(await migrateArchive(url)).toEqual(MIGRATIONS);

    const store = createPgArchive(url);
    await store.recordTurn(turnRecord('s1', makeTurn(1, 0)));
    await store.close();

    expect(await migrateArchive(url)).toEqual([]);
    await withClient(url, async (c) => {
      const tables = await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
      expect(tables.rows.map((r) => r.tablename)).toEqual([
        'stepwise_branch_turns',
        'stepwise_branches',
        'stepwise_events',
        'stepwise_files',
        'stepwise_migrations',
        'stepwise_sessions',
        'stepwise_turn_states',
        'stepwise_turns',
      ]);
      const ran = await c.query(`SELECT name FROM ${ARCHIVE_MIGRATIONS_TABLE} ORDER BY name`);
      expect(ran.rows).toEqual(MIGRATIONS.map((name) => ({ name })));
      const indexes = await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename LIKE 'stepwise_%'`);
      const defs = Object.fromEntries(indexes.rows.map((r) => [r.indexname, r.indexdef as string]));
      expect(defs.stepwise_turns_session_turn_key).toMatch(/UNIQUE.*\(session_id, turn\)/);
      expect(defs.stepwise_files_pkey).toMatch(/UNIQUE.*\(session_id, file_id\)/);
      expect(defs.stepwise_events_session_seq_key).toMatch(/UNIQUE.*\(session_id, seq\)/);
      expect(defs.stepwise_sessions_updated_idx).toMatch(/\(updated_at DESC, session_id DESC\)/);
      expect(defs.stepwise_sessions_agent_updated_idx).toMatch(/\(agent_name, updated_at DESC, session_id DESC\)/);
      expect(defs.stepwise_sessions_status_updated_idx).toMatch(/\(status, updated_at DESC, session_id DESC\)/);
      expect(defs.stepwise_sessions_user_updated_idx).toMatch(/\(user_id, updated_at DESC, session_id DESC\)/);
      const types = await c.query(
        `SELECT table_name || '.' || column_name AS col, data_type FROM information_schema.columns
         WHERE table_name LIKE 'stepwise_%' AND table_name <> 'stepwise_migrations'
           AND column_name IN ('event', 'answer', 'metadata', 'updated_at', 'finished_at', 'user_id', 'name')`,
      );
      expect(Object.fromEntries(types.rows.map((r) => [r.col, r.data_type]))).toEqual({
        'stepwise_events.event': 'jsonb',
        'stepwise_turns.answer': 'jsonb',
        'stepwise_sessions.metadata': 'jsonb',
        'stepwise_sessions.user_id': 'text',
        'stepwise_sessions.name': 'text',
        'stepwise_files.name': 'text',
        'stepwise_sessions.updated_at': 'timestamp with time zone',
        'stepwise_turns.finished_at': 'timestamp with time zone',
      });
      // The data written between the two runs is still there.
      expect((await c.query('SELECT count(*)::int AS n FROM stepwise_events')).rows[0].n).toBe(3);
    });
  });

  it('migrate down and up again cleanly', async () => {
    const url = await server.createDatabase();
    await migrateArchive(url);
    const down = await runner({
      databaseUrl: url, dir: ARCHIVE_MIGRATIONS_DIR, direction: 'down', count: Infinity,
      migrationsTable: ARCHIVE_MIGRATIONS_TABLE, log: () => {},
    });
    expect(down.map((m) => m.name)).toEqual([...MIGRATIONS].reverse());
    await withClient(url, async (c) => {
      const left = await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> $1`, [ARCHIVE_MIGRATIONS_TABLE]);
      expect(left.rows).toEqual([]);
    });
    expect(await migrateArchive(url)).toEqual(MIGRATIONS);
  });

  it('lets concurrent migrators (worker and API starting together) take turns instead of failing', async () => {
    const url = await server.createDatabase();
    const results = await Promise.all([migrateArchive(url), migrateArchive(url), migrateArchive(url)]);
    expect(results.flat()).toEqual(MIGRATIONS);
  });
});

describe('PgArchiveStore under concurrency and outages', () => {
  it('keeps one row and no duplicate events when the same turn is recorded concurrently', async () => {
    const store = await freshStore({ maxConnections: 8 });
    const url = archiveUrl;
    try {
      const rec = turnRecord('s1', makeTurn(1, 0));
      await Promise.all(Array.from({ length: 8 }, () => store.recordTurn(rec)));
      // Different turns of one session written at once all land, and the session row ends at the newest.
      await Promise.all([2, 3, 4, 5].map((n) => store.recordTurn(turnRecord('s1', makeTurn(n, (n - 1) * 3), 2))));
      await withClient(url, async (c) => {
        const counts = await c.query(
          `SELECT (SELECT count(*)::int FROM stepwise_turns) AS turns, (SELECT count(*)::int FROM stepwise_events) AS events,
                  (SELECT count(DISTINCT seq)::int FROM stepwise_events) AS seqs, (SELECT count(*)::int FROM stepwise_sessions) AS sessions`,
        );
        expect(counts.rows[0]).toEqual({ turns: 5, events: 15, seqs: 15, sessions: 1 });
      });
      expect(await store.getSession('s1')).toMatchObject({ turnCount: 5, lastSeq: 14, updatedAt: turnRecord('s1', makeTurn(5, 12)).finishedAt });
    } finally {
      await store.close();
    }
  });

  it('reports an unreachable database as ARCHIVE_UNAVAILABLE (retryable), without the URL password', async () => {
    const dead = 'postgres://postgres:s3cret@127.0.0.1:1/nowhere'; // port 1: nothing listens
    const store = createPgArchive(dead, { connectionTimeoutMs: 2_000 });
    try {
      const err = await store.getSession('s1').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ARCHIVE_UNAVAILABLE' });
      expect(String((err as Error).message)).not.toContain('s3cret');
      await expectCode(store.recordTurn(turnRecord('s1', makeTurn(1, 0))), 'ARCHIVE_UNAVAILABLE');
    } finally {
      await store.close();
    }
    await expectCode(migrateArchive(dead, { connectionTimeoutMs: 2_000 }), 'ARCHIVE_UNAVAILABLE');
  });

  it('survives a connection lost between two statements of a write (ARCHIVE_UNAVAILABLE, no uncaught error event)', async () => {
    // Found by the chaos suite (seed 7007): a PostgreSQL kill while a worker's archive write held a connection
    // between statements killed the worker with an unhandled 'error' event (pg-pool unhooks its listener on checkout).
    const url = await server.createDatabase();
    await migrateArchive(url);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
    let killed = false;
    // The first transaction's BEGIN succeeds; then its backend is terminated and the write waits until the client
    // has heard of it, idle, before its next statement. (`pool.query` checks out with a callback: left alone.)
    (pool as { connect: unknown }).connect = async (...args: unknown[]) => {
      if (args.length > 0 || killed) return connect(...args);
      const client = await connect();
      const query = client.query.bind(client) as (text: string) => Promise<pg.QueryResult>;
      (client as { query: unknown }).query = async (text: string, ...rest: unknown[]) => {
        const result = await (query as (...a: unknown[]) => Promise<pg.QueryResult>)(text, ...rest);
        if (!killed && text === 'BEGIN') {
          killed = true;
          const lost = new Promise((resolve) => client.once('end', resolve));
          await withClient(url, (c) => c.query('SELECT pg_terminate_backend($1)', [(client as unknown as { processID: number }).processID]));
          await lost;
        }
        return result;
      };
      return client;
    };
    const store = new PgArchiveStore(pool, { ownsPool: true });
    try {
      await expectCode(store.recordTurn(turnRecord('s1', makeTurn(1, 0))), 'ARCHIVE_UNAVAILABLE');
      expect(killed).toBe(true);
      // The pool dropped the broken connection: the write goes through when sent again.
      await store.recordTurn(turnRecord('s1', makeTurn(1, 0)));
      expect(await store.getSession('s1')).toMatchObject({ turnCount: 1 });
    } finally {
      await store.close();
    }
  });
});
