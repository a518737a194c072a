/**
 * The PostgreSQL side of the archive's files (`src/archive/files.ts`): table `stepwise_files` (migration
 * `1766000000000_files.sql`), bytes as `bytea`. Used by {@link PgArchiveStore}; errors are mapped by its caller.
 */
import type { Pool } from 'pg';
import { parseArchiveInput } from '../src/archive/store.js';
import { FileRecord, type StoredFile, type StoredFileInfo } from '../src/archive/files.js';
import { fileIdOf, sha256Hex } from './file-ids.js';

interface FileRow {
  session_id: string;
  file_id: string;
  media_type: string;
  name: string | null;
  size: number;
  sha256: string;
  created_at: Date;
  bytes?: Buffer;
}

function infoOf(row: FileRow): StoredFileInfo {
  return {
    fileId: row.file_id,
    sessionId: row.session_id,
    mediaType: row.media_type,
    ...(row.name !== null ? { name: row.name } : {}),
    size: row.size,
    sha256: row.sha256,
    createdAt: row.created_at.toISOString(),
  };
}

/** Inserts the file unless the session has it already, and returns the stored row (the first one wins). */
export async function insertFile(pool: Pool, input: FileRecord): Promise<StoredFileInfo> {
  const r = parseArchiveInput(FileRecord, input, 'file record');
  const sha256 = sha256Hex(r.bytes);
  const fileId = fileIdOf(sha256);
  const res = await pool.query<FileRow>(
    `WITH ins AS (
       INSERT INTO stepwise_files (session_id, file_id, media_type, name, size, sha256, bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (session_id, file_id) DO NOTHING
       RETURNING session_id, file_id, media_type, name, size, sha256, created_at)
     SELECT * FROM ins
     UNION ALL
     SELECT session_id, file_id, media_type, name, size, sha256, created_at FROM stepwise_files
      WHERE session_id = $1 AND file_id = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
    [r.sessionId, fileId, r.mediaType, r.name ?? null, r.bytes.byteLength, sha256, Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength)],
  );
  const row = res.rows[0];
  if (!row) throw new Error(`file ${fileId} of session ${r.sessionId} was neither inserted nor found`);
  return infoOf(row);
}

/** The file with its bytes, or null. */
export async function selectFile(pool: Pool, sessionId: string, fileId: string): Promise<StoredFile | null> {
  const res = await pool.query<FileRow>(
    'SELECT session_id, file_id, media_type, name, size, sha256, created_at, bytes FROM stepwise_files WHERE session_id = $1 AND file_id = $2',
    [sessionId, fileId],
  );
  const row = res.rows[0];
  if (!row?.bytes) return null;
  return { ...infoOf(row), bytes: new Uint8Array(row.bytes) };
}
