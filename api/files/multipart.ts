/**
 * `multipart/form-data` message bodies (`@fastify/multipart`, busboy underneath): the fields `text` and `messageId`
 * plus any number of file parts, read before validation into the same body the JSON form has, with the files apart
 * (`request.uploads`). Registered by a route plugin ({@link registerMultipartMessages}), so only its routes accept it.
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MediaType } from '../../src/engine/files.js';
import { CallerError, isStepwiseError } from '../../src/errors.js';
import { tooLarge, type Upload } from './uploads.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Files of a multipart message body, in order (null for other bodies). */
    uploads: Upload[] | null;
  }
  interface FastifyContextConfig {
    /** The route takes `multipart/form-data` (read by {@link readMultipartMessage}); others answer it with 415. */
    multipart?: boolean;
  }
}

/** Most non-file fields a multipart message may have (`text`, `messageId`, and a few a client may add). */
const MAX_MULTIPART_FIELDS = 16;

/**
 * Registers `@fastify/multipart` on `app` (a route plugin's own instance) with the API's file limits: file size
 * `maxFileBytes`, `maxFilesPerMessage` files, fields up to the API's body limit each. Only routes with
 * `config: { multipart: true }` take it; the plugin's other routes answer a multipart body with 415
 * UNSUPPORTED_MEDIA_TYPE, as without the parser.
 */
export async function registerMultipartMessages(app: FastifyInstance): Promise<void> {
  const limits = app.fileLimits;
  await app.register(multipart, {
    limits: { fileSize: limits.maxFileBytes, files: limits.maxFilesPerMessage, fields: MAX_MULTIPART_FIELDS, fieldSize: app.initialConfig.bodyLimit },
    throwFileSizeLimit: true,
  });
  app.decorateRequest('uploads', null);
  // The parser now accepts multipart for every route of `app`: those that do not read it refuse it as before.
  app.addHook('preValidation', async (request) => {
    if (request.isMultipart() && request.routeOptions.config?.multipart !== true) {
      const contentType = request.headers['content-type'] ?? '';
      throw new CallerError('UNSUPPORTED_MEDIA_TYPE', `unsupported media type ${contentType}: this route takes application/json`, { contentType, supported: ['application/json'] });
    }
  });
}

/** The media type of a file part: its `Content-Type` without parameters, lower case (`application/octet-stream` if none). */
function mediaTypeOf(mimetype: string | undefined): string {
  const type = (mimetype ?? '').split(';')[0]!.trim().toLowerCase();
  return MediaType.safeParse(type).success ? type : 'application/octet-stream';
}

/**
 * `preValidation` hook: for a multipart request, reads every part; fields become `request.body` (validated by the
 * route's body schema as JSON would be), files `request.uploads`. Other requests pass untouched.
 *
 * @throws CallerError 413 FILE_TOO_LARGE (a file over `maxFileBytes`), 400 INVALID_REQUEST (too many files or fields,
 *   a field repeated, a malformed or cut-short body: whatever the multipart parser refuses).
 */
export async function readMultipartMessage(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  const limits = request.server.fileLimits;
  const fields: Record<string, string> = {};
  const uploads: Upload[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const bytes = new Uint8Array(await part.toBuffer());
        uploads.push({ mediaType: mediaTypeOf(part.mimetype), ...(part.filename ? { name: part.filename.slice(0, 255) } : {}), bytes });
        continue;
      }
      if (part.fieldname in fields) throw new CallerError('INVALID_REQUEST', `multipart field ${part.fieldname} is given twice`);
      fields[part.fieldname] = String(part.value);
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(`file #${uploads.length + 1}`, limits.maxFileBytes);
    if (code === 'FST_FILES_LIMIT') {
      throw new CallerError('INVALID_REQUEST', `at most ${limits.maxFilesPerMessage} files per message (STEPWISE_MAX_FILES_PER_MESSAGE)`, { maxFilesPerMessage: limits.maxFilesPerMessage });
    }
    if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') throw new CallerError('INVALID_REQUEST', `at most ${MAX_MULTIPART_FIELDS} multipart fields`);
    if (isStepwiseError(err)) throw err;
    // Anything else the parser throws is about the body it read (busboy: "Unexpected end of multipart data", ...).
    throw new CallerError('INVALID_REQUEST', `malformed multipart body: ${(err as Error).message ?? String(err)}`);
  }
  request.body = fields;
  request.uploads = uploads;
}
