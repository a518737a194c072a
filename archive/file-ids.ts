/**
 * Ids of stored files (`src/archive/files.ts`): derived from the bytes, so both stores give the same file the same id
 * and a retried upload finds the row it wrote before.
 */
import { createHash } from 'node:crypto';

/** Lower-case hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The id of a file with SHA-256 `sha256` (hex): `f-` and the hash's first 32 hex digits (128 bits). Ids are scoped
 * to their session (the key is session + id), so one file stored in two sessions is two rows with the same id.
 */
export function fileIdOf(sha256: string): string {
  return `f-${sha256.slice(0, 32)}`;
}
