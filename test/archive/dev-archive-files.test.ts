/**
 * The file table on `stepwise dev`'s embedded archive (PGlite served to the unchanged `pg` code, cli/dev-archive.ts):
 * the migration applies and `bytea` round-trips through its socket server, so uploads work in `stepwise dev` without
 * `DATABASE_URL`. The file conformance suite, on one embedded database.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { migrateArchive } from '../../archive/migrate.js';
import { createPgArchive } from '../../archive/pg-store.js';
import { type DevArchive, startDevArchive } from '../../cli/dev-archive.js';
import { describeFileArchiveConformance } from './files-conformance.js';

let dev: DevArchive;

beforeAll(async () => {
  dev = await startDevArchive(mkdtempSync(join(tmpdir(), 'stepwise-dev-files-')));
  await migrateArchive(dev.databaseUrl);
}, 60_000);
afterAll(async () => {
  await dev?.stop();
});

describeFileArchiveConformance('PgArchiveStore on the embedded PGlite archive', async () => {
  const client = new pg.Client({ connectionString: dev.databaseUrl });
  await client.connect();
  await client.query('TRUNCATE stepwise_files');
  await client.end();
  return createPgArchive(dev.databaseUrl, { maxConnections: 2 });
});
