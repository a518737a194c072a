/**
 * The conformance suite of the archive's file table (`src/archive/files.ts`), run against every store that has it:
 * ids derived from the bytes, one row per file per session, sessions kept apart, bytes returned exactly, bad input
 * refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../archive/file-ids.js';
import { type FileArchive, hasFiles } from '../../src/archive/files.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import { PDF_MINIMAL, PNG_1X1 } from '../support/model-attachments.js';
import { expectCode } from './conformance.js';

export function describeFileArchiveConformance(backend: string, createStore: () => Promise<ArchiveStore>): void {
  describe(`FileArchive conformance: ${backend}`, () => {
    let store: ArchiveStore & FileArchive;
    beforeEach(async () => {
      const created = await createStore();
      if (!hasFiles(created)) throw new Error(`${backend} has no file table`);
      store = created;
    });
    afterEach(async () => {
      await store.close();
    });

    it('stores a file and reads it back byte for byte, with its id from the SHA-256 of the bytes', async () => {
      const info = await store.putFile({ sessionId: 's1', mediaType: 'image/png', name: 'cat.png', bytes: PNG_1X1 });
      const sha = sha256Hex(PNG_1X1);
      expect(info).toEqual({ fileId: `f-${sha.slice(0, 32)}`, sessionId: 's1', mediaType: 'image/png', name: 'cat.png', size: PNG_1X1.length, sha256: sha, createdAt: expect.any(String) });
      expect(new Date(info.createdAt).toISOString()).toBe(info.createdAt);
      const file = await store.getFile('s1', info.fileId);
      expect(file).toEqual({ ...info, bytes: expect.any(Uint8Array) });
      expect(Buffer.compare(Buffer.from(file!.bytes), PNG_1X1)).toBe(0);
    });

    it('is idempotent: the same bytes again in a session are the same row (the first name and type kept)', async () => {
      const first = await store.putFile({ sessionId: 's1', mediaType: 'image/png', name: 'cat.png', bytes: PNG_1X1 });
      const again = await store.putFile({ sessionId: 's1', mediaType: 'image/png', name: 'renamed.png', bytes: Buffer.from(PNG_1X1) });
      expect(again).toEqual(first);
      const other = await store.putFile({ sessionId: 's1', mediaType: 'application/pdf', bytes: PDF_MINIMAL });
      expect(other.fileId).not.toBe(first.fileId);
      expect('name' in other).toBe(false);
    });

    it('keeps sessions apart: a file of one session is not found in another', async () => {
      const info = await store.putFile({ sessionId: 's1', mediaType: 'image/png', bytes: PNG_1X1 });
      expect(await store.getFile('s2', info.fileId)).toBeNull();
      expect(await store.getFile('s1', 'f-00000000000000000000000000000000')).toBeNull();
      const second = await store.putFile({ sessionId: 's2', mediaType: 'image/png', bytes: PNG_1X1 });
      expect(second.fileId).toBe(info.fileId);
      expect(second.sessionId).toBe('s2');
    });

    it('refuses invalid records with INVALID_REQUEST', async () => {
      await expectCode(store.putFile({ sessionId: 'bad id!', mediaType: 'image/png', bytes: PNG_1X1 }), 'INVALID_REQUEST');
      await expectCode(store.putFile({ sessionId: 's1', mediaType: 'png', bytes: PNG_1X1 }), 'INVALID_REQUEST');
      await expectCode(store.putFile({ sessionId: 's1', mediaType: 'image/png', bytes: 'not bytes' as unknown as Uint8Array }), 'INVALID_REQUEST');
    });
  });
}
