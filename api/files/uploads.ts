/**
 * Files attached to a message, from the request to the references the workflow gets (docs/rest-api.md "Files and
 * images"): limits checked (count, media type, size), the agent's model checked to take files, inline bytes stored
 * in the archive's file table, URLs passed as given. Only {@link FileRef}s leave this module: bytes never reach a
 * workflow payload.
 *
 * Three ways in, one {@link Upload} each: JSON `files: [{mediaType, url} | {mediaType, data}]` ({@link FileInput}),
 * multipart file parts (`./multipart.ts`) and AI SDK `file` parts (`data:` or `http(s)` URLs, {@link uploadOfUrl}).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hasFiles } from '../../src/archive/files.js';
import { type AgentSnapshot, getLlm } from '../../src/config/agent.js';
import { type FileRef, MAX_FILE_NAME_CHARS, MAX_FILE_URL_CHARS, MediaType, takesFiles } from '../../src/engine/files.js';
import { CallerError, isStepwiseError, SystemError } from '../../src/errors.js';

/** A file as the request gave it: by URL, or its bytes. */
export type Upload = { mediaType: string; name?: string } & ({ url: string; bytes?: undefined } | { bytes: Uint8Array; url?: undefined });

const Base64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HttpUrl = z.url({ protocol: /^https?$/ }).max(MAX_FILE_URL_CHARS);

/**
 * A file in a JSON message body: `{mediaType, url}` (an `http(s)` URL the model's provider fetches) or
 * `{mediaType, data}` (the bytes in base64, or a `data:` URL), with an optional `name`.
 */
export const FileInput = z
  .strictObject({
    mediaType: MediaType,
    name: z.string().min(1).max(MAX_FILE_NAME_CHARS).optional(),
    url: HttpUrl.optional(),
    data: z.string().min(1).optional(),
  })
  .refine((f) => (f.url === undefined) !== (f.data === undefined), { message: 'give either url or data' });
export type FileInput = z.infer<typeof FileInput>;

/** Bytes `base64` would decode to (without decoding it). */
function decodedLength(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/**
 * Decodes base64 after a size check, so an oversized body is refused before a buffer is made.
 *
 * @throws CallerError 413 FILE_TOO_LARGE over `maxBytes`; 400 INVALID_REQUEST when `base64` is not base64.
 */
export function decodeBase64(base64: string, maxBytes: number, where: string): Uint8Array {
  const compact = base64.replace(/\s+/g, '');
  if (decodedLength(compact) > maxBytes) throw tooLarge(where, maxBytes);
  if (!Base64.test(compact) || compact.length % 4 === 1) throw new CallerError('INVALID_REQUEST', `${where}: data is not base64`);
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** The error of a file over the size limit (413 FILE_TOO_LARGE, `details.maxFileBytes`). */
export function tooLarge(where: string, maxFileBytes: number): CallerError {
  return new CallerError('FILE_TOO_LARGE', `${where} is larger than ${maxFileBytes} bytes (STEPWISE_MAX_FILE_BYTES)`, { maxFileBytes });
}

/** The upload of a JSON {@link FileInput}. Throws as {@link decodeBase64} and {@link uploadOfUrl}. */
export function uploadOfInput(input: FileInput, maxBytes: number, where: string): Upload {
  const name = input.name === undefined ? {} : { name: input.name };
  if (input.url !== undefined) return { mediaType: input.mediaType, ...name, url: input.url };
  const data = input.data ?? '';
  if (data.startsWith('data:')) return { ...uploadOfUrl(data, input.mediaType, maxBytes, where), ...name };
  return { mediaType: input.mediaType, ...name, bytes: decodeBase64(data, maxBytes, where) };
}

/**
 * The upload of a URL: a `data:` URL (RFC 2397, base64 only) becomes bytes, an `http(s)` URL stays a URL.
 * `mediaType` is the declared one (AI SDK's `mediaType`), checked against a `data:` URL's own.
 *
 * @throws CallerError 400 INVALID_REQUEST for another scheme, a malformed or non-base64 `data:` URL, or a `data:` URL
 *   whose type differs from `mediaType`; 413 FILE_TOO_LARGE as {@link decodeBase64}.
 */
export function uploadOfUrl(url: string, mediaType: string, maxBytes: number, where: string): Upload {
  if (url.startsWith('data:')) {
    const match = /^data:([^;,]*)((?:;[^;,]*)*?);base64,/i.exec(url);
    if (!match) throw new CallerError('INVALID_REQUEST', `${where}: only base64 data: URLs are accepted (data:<type>;base64,...)`);
    const declared = (match[1] ?? '').toLowerCase();
    if (declared && declared !== mediaType) throw new CallerError('INVALID_REQUEST', `${where}: the data: URL is ${declared} but mediaType says ${mediaType}`);
    return { mediaType, bytes: decodeBase64(url.slice(match[0].length), maxBytes, where) };
  }
  const parsed = HttpUrl.safeParse(url);
  if (!parsed.success) throw new CallerError('INVALID_REQUEST', `${where}: a file URL must be http(s) (at most ${MAX_FILE_URL_CHARS} characters) or a base64 data: URL`);
  return { mediaType, url: parsed.data };
}

/** Id of a file given by URL: `u-` and 32 hex digits of the URL's SHA-256 (the same URL, the same id). */
export function urlFileId(url: string): string {
  return `u-${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
}

/**
 * Checks `uploads` against the API's limits and `agent`'s model, stores inline bytes in the archive (deduplicated by
 * session and SHA-256, so a retried message stores nothing twice) and returns the references, in order. Nothing is
 * stored unless every file passes.
 *
 * @throws CallerError 400 INVALID_REQUEST (more than `maxFilesPerMessage`), 415 UNSUPPORTED_FILE_TYPE
 *   (`details.mediaType`, `details.allowed`), 413 FILE_TOO_LARGE, 400 FILES_NOT_SUPPORTED (the agent's model takes no
 *   files; `details.provider`); SystemError 503 FILE_STORAGE_UNAVAILABLE (retryable when the archive is down; no
 *   archive configured: send files by URL).
 */
export async function storeUploads(app: FastifyInstance, sessionId: string, agent: AgentSnapshot, uploads: Upload[]): Promise<FileRef[]> {
  if (uploads.length === 0) return [];
  const limits = app.fileLimits;
  if (uploads.length > limits.maxFilesPerMessage) {
    throw new CallerError('INVALID_REQUEST', `at most ${limits.maxFilesPerMessage} files per message (STEPWISE_MAX_FILES_PER_MESSAGE)`, { maxFilesPerMessage: limits.maxFilesPerMessage });
  }
  uploads.forEach((u, i) => {
    if (!limits.allowedTypes.includes(u.mediaType)) {
      throw new CallerError('UNSUPPORTED_FILE_TYPE', `files[${i}]: ${u.mediaType} is not accepted (STEPWISE_ALLOWED_FILE_TYPES: ${limits.allowedTypes.join(', ')})`, { mediaType: u.mediaType, allowed: limits.allowedTypes });
    }
    if (u.bytes && u.bytes.byteLength > limits.maxFileBytes) throw tooLarge(`files[${i}]`, limits.maxFileBytes);
  });
  const llm = getLlm(agent);
  if (!takesFiles(llm)) {
    throw new CallerError('FILES_NOT_SUPPORTED', `agent ${agent.name}'s model (provider ${llm.provider}) takes no files; openai, azure and anthropic models do`, { provider: llm.provider });
  }
  const refs: FileRef[] = [];
  for (const u of uploads) {
    const name = u.name === undefined ? {} : { name: u.name };
    if (u.url !== undefined) {
      refs.push({ fileId: urlFileId(u.url), mediaType: u.mediaType, ...name, url: u.url });
      continue;
    }
    const stored = await putFile(app, { sessionId, mediaType: u.mediaType, ...name, bytes: u.bytes });
    refs.push({ fileId: stored.fileId, mediaType: u.mediaType, ...name, size: stored.size });
  }
  return refs;
}

async function putFile(app: FastifyInstance, record: { sessionId: string; mediaType: string; name?: string; bytes: Uint8Array }) {
  const archive = app.archive;
  if (!hasFiles(archive)) {
    throw new SystemError('FILE_STORAGE_UNAVAILABLE', 'this server stores no files (no archive: set DATABASE_URL); send files by URL instead', { retryAfterSeconds: 60 });
  }
  try {
    return await archive.putFile(record);
  } catch (err) {
    if (isStepwiseError(err) && err.code === 'ARCHIVE_UNAVAILABLE') {
      throw new SystemError('FILE_STORAGE_UNAVAILABLE', `the file could not be stored: ${err.message}; send the message again`, { retryAfterSeconds: 1 });
    }
    throw err;
  }
}

/**
 * The references of a message's files: JSON `inputs` and multipart `uploads` together, checked and stored by
 * {@link storeUploads} for the agent of `sessionId` (`agent` when the caller knows it, else the session's). `{}` when
 * there are none, so a message without files is the same object as before files existed.
 *
 * @throws as {@link uploadOfInput} and {@link storeUploads}; SESSION_NOT_FOUND from the backend.
 */
export async function messageFiles(
  app: FastifyInstance,
  sessionId: string,
  inputs: FileInput[] | undefined,
  uploads: Upload[] | null,
  agent?: AgentSnapshot,
): Promise<{ files?: FileRef[] }> {
  const max = app.fileLimits.maxFileBytes;
  const all = [...(inputs ?? []).map((f, i) => uploadOfInput(f, max, `files[${i}]`)), ...(uploads ?? [])];
  if (all.length === 0) return {};
  const owner = agent ?? (await agentOfSession(app, sessionId));
  return { files: await storeUploads(app, sessionId, owner, all) };
}

/** The agent of a live session. @throws SESSION_NOT_FOUND, or AGENT_NOT_FOUND when this API no longer serves it. */
async function agentOfSession(app: FastifyInstance, sessionId: string): Promise<AgentSnapshot> {
  const view = await app.backend.state(sessionId);
  const agent = app.agents.get(view.agentName);
  if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${view.agentName} of session ${sessionId} is not loaded by this API`);
  return agent;
}
