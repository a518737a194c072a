/**
 * `GET /sessions/:sessionId/files/:fileId`: a file attached to one of the session's messages, as stored (docs/rest-api.md
 * "Files and images"). Scoped like every session route: a credential bound to a user reads only its own sessions'
 * files (`../auth/user-binding.ts` checks `:sessionId`), scope `sessions:read`.
 *
 * Served with its media type, `X-Content-Type-Options: nosniff` and (but for PDFs) a sandboxing
 * `Content-Security-Policy`, so a file is never run as a page of the API's origin; images and PDFs inline, anything
 * else as a download. `Cache-Control: private, immutable`: a file id names its bytes (SHA-256), so they never change.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hasFiles } from '../../src/archive/files.js';
import { FileId, isImage } from '../../src/engine/files.js';
import { CallerError, SystemError } from '../../src/errors.js';
import { SessionId } from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';

export const FileParams = z.object({ sessionId: SessionId, fileId: FileId });

/** `Content-Security-Policy` of a served file: nothing loads, nothing runs (`sandbox`), whatever the file holds. */
export const FILE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";

/** `Content-Disposition` of a stored file: inline for images and PDFs, else attachment; the name RFC 6266-encoded. */
export function contentDisposition(mediaType: string, name: string | undefined): string {
  const kind = isImage({ mediaType }) || mediaType === 'application/pdf' ? 'inline' : 'attachment';
  if (!name) return kind;
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const fileRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/sessions/:sessionId/files/:fileId',
    {
      schema: {
        tags: ['sessions'],
        summary: "A file attached to one of the session's messages (its bytes, with its media type)",
        description:
          'Files stored from uploads (`files[].data`, multipart parts, AI SDK `data:` URLs); files given by URL are ' +
          'not stored (their reference carries the `url`). 404 NOT_FOUND when the session has no such file; 503 ' +
          'FILE_STORAGE_UNAVAILABLE without an archive (or while it is down).',
        params: FileParams,
        response: { 200: { description: 'the file', content: { '*/*': { schema: z.string() } } }, ...errorReplies(404, 503) },
      },
    },
    async (request, reply) => {
      const { sessionId, fileId } = request.params;
      if (!hasFiles(app.archive)) throw new SystemError('FILE_STORAGE_UNAVAILABLE', 'this server stores no files (no archive: set DATABASE_URL)', { retryAfterSeconds: 60 });
      const file = await app.archive.getFile(sessionId, fileId);
      if (!file) throw new CallerError('NOT_FOUND', `session ${sessionId} has no file ${fileId}`);
      // A sandboxing CSP for everything but PDFs (they keep the API's own CSP): browsers' PDF viewers do not run in a
      // sandboxed document, and a PDF (served as application/pdf, nosniff) is never read as a page of this origin.
      if (file.mediaType !== 'application/pdf') reply.header('content-security-policy', FILE_CSP);
      return reply
        .header('content-type', file.mediaType)
        .header('content-length', String(file.bytes.byteLength))
        .header('content-disposition', contentDisposition(file.mediaType, file.name))
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header('etag', `"${file.sha256}"`)
        // Bytes, not the JSON the typed replies describe: Fastify sends a Buffer as is (no serializer runs).
        .send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength) as unknown as string);
    },
  );
};

export default fileRoutes;
