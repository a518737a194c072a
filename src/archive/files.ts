/**
 * The archive's file table: the bytes of files users attach to their messages (docs/rest-api.md "Files and images").
 * An optional capability of an {@link ArchiveStore} ({@link hasFiles}): both the PostgreSQL store (`archive/pg-files.ts`,
 * table `stepwise_files`) and the in-memory store have it.
 *
 * Files are kept here, outside Temporal: workflow history holds only a reference (`src/engine/files.ts`), which the
 * `decide` activity resolves with {@link FileArchive.getFile}. A file's id is derived from its session and the
 * SHA-256 of its bytes (`archive/file-ids.ts`), so storing the same file again in a session (a retried message, the
 * same image twice) returns the same id and keeps one row.
 */
import { z } from 'zod';
import { FileId, MediaType, MAX_FILE_NAME_CHARS } from '../engine/files.js';
import { SessionId } from '../session/contract.js';
import type { ArchiveStore } from './store.js';

/** `putFile` input: the file of one session. `bytes` is the whole content. */
export const FileRecord = z.object({
  sessionId: SessionId,
  mediaType: MediaType,
  name: z.string().min(1).max(MAX_FILE_NAME_CHARS).optional(),
  bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes must be a Uint8Array'),
});
export type FileRecord = z.infer<typeof FileRecord>;

/** What a stored file is, without its bytes: `size` in bytes, `sha256` in lower-case hex, `createdAt` ISO-8601 UTC. */
export const StoredFileInfo = z.object({
  fileId: FileId,
  sessionId: z.string(),
  mediaType: z.string(),
  name: z.string().optional(),
  size: z.number().int().min(0),
  sha256: z.string(),
  createdAt: z.string(),
});
export type StoredFileInfo = z.infer<typeof StoredFileInfo>;

/** A stored file with its bytes (`getFile`). */
export type StoredFile = StoredFileInfo & { bytes: Uint8Array };

/**
 * Stores and reads the files of sessions. Errors are StepwiseErrors: `ARCHIVE_UNAVAILABLE` (retryable: the database
 * is down or slow), `INVALID_REQUEST` (not retryable: a record that fails {@link FileRecord}).
 */
export interface FileArchive {
  /**
   * Stores a file of `record.sessionId` and returns what was stored. Idempotent: the same bytes in the same session
   * give the same `fileId` (the first stored row wins; its name and media type are kept).
   */
  putFile(record: FileRecord): Promise<StoredFileInfo>;
  /** The file with `fileId` of `sessionId` with its bytes, or null when that session has no such file. */
  getFile(sessionId: string, fileId: string): Promise<StoredFile | null>;
}

/** Whether `store` can hold files (both stores Stepwise ships can). */
export function hasFiles(store: ArchiveStore | undefined): store is ArchiveStore & FileArchive {
  return !!store && typeof (store as Partial<FileArchive>).putFile === 'function' && typeof (store as Partial<FileArchive>).getFile === 'function';
}
