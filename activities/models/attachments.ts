/**
 * Files in prompts: which providers take them, resolving a prompt's file references (`src/engine/files.ts`) to bytes
 * or URLs just before the provider call, and the content parts each API wants. Resolved bytes live only in the
 * activity's memory: they never return to the workflow.
 *
 * Provider shapes (official SDK types, openai v6 and @anthropic-ai/sdk v1):
 * - Chat Completions: images as `{type: 'image_url', image_url: {url}}` (an `http(s)` URL or a `data:` URL); PDFs as
 *   `{type: 'file', file: {file_data: <data: URL>, filename}}` (inline only: Chat Completions takes no file URL).
 *   https://platform.openai.com/docs/guides/images-vision, https://platform.openai.com/docs/guides/pdf-files
 * - Responses: `{type: 'input_image', image_url, detail: 'auto'}`, `{type: 'input_file', file_data | file_url, filename}`.
 * - Anthropic Messages: `{type: 'image', source: {type: 'base64', media_type, data} | {type: 'url', url}}` (JPEG, PNG,
 *   GIF, WebP) and `{type: 'document', source: ...}` for PDFs. https://docs.anthropic.com/en/docs/build-with-claude/vision
 */
import { ApplicationFailure } from '@temporalio/common';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import type { LlmConfig } from '../../src/config/agent.js';
import { type FileArchive, hasFiles } from '../../src/archive/files.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import { FILE_PROVIDERS, type FileRef, isImage, takesFiles } from '../../src/engine/files.js';
import type { ChatMessage } from '../../src/engine/types.js';
import { isStepwiseError } from '../../src/errors.js';

/** Failure type of a prompt with files its model cannot take (non-retryable: the same prompt fails again). */
export const FILES_NOT_SUPPORTED = 'FILES_NOT_SUPPORTED';

/** Image types Anthropic takes (https://docs.anthropic.com/en/docs/build-with-claude/vision). */
export const ANTHROPIC_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** A reference resolved for one call: the user's `url`, or the stored bytes as base64 `data`. */
export type ResolvedFile = FileRef & ({ url: string; data?: undefined } | { data: string; url?: undefined });

/** Resolved files of a prompt, by file id. */
export type ResolvedFiles = ReadonlyMap<string, ResolvedFile>;

/** No files (the converters' default). */
export const NO_FILES: ResolvedFiles = new Map();

/** Every file reference of a prompt's messages (first occurrence of each id). */
export function filesOf(messages: ChatMessage[]): FileRef[] {
  const seen = new Map<string, FileRef>();
  for (const m of messages) for (const f of m.files ?? []) if (!seen.has(f.fileId)) seen.set(f.fileId, f);
  return [...seen.values()];
}

/** The failure for a file `provider` cannot take. */
export function filesNotSupported(provider: string, why: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FILES_NOT_SUPPORTED, message: `the ${provider} model cannot take this file: ${why}`, nonRetryable: true });
}

/** Characters of base64 a {@link StoredFileCache} holds at most by default: 64 Mi (48 MiB of files). */
export const DEFAULT_FILE_CACHE_CHARS = 64 * 1024 * 1024;

/**
 * The worker's recently read stored files, base64, least recently used dropped first past `maxChars`. Safe to keep:
 * a file id names its bytes (their SHA-256), so an entry is never stale. Spares the archive a read per decision when
 * a turn decides several times, or later turns send the same image again.
 */
export class StoredFileCache {
  readonly #entries = new Map<string, string>();
  #chars = 0;

  constructor(readonly maxChars = DEFAULT_FILE_CACHE_CHARS) {}

  get(sessionId: string, fileId: string): string | undefined {
    const key = `${sessionId}\n${fileId}`;
    const data = this.#entries.get(key);
    if (data === undefined) return undefined;
    this.#entries.delete(key); // move to the newest end
    this.#entries.set(key, data);
    return data;
  }

  set(sessionId: string, fileId: string, data: string): void {
    if (data.length > this.maxChars) return;
    const key = `${sessionId}\n${fileId}`;
    this.#chars -= this.#entries.get(key)?.length ?? 0;
    this.#entries.delete(key);
    this.#entries.set(key, data);
    this.#chars += data.length;
    for (const [oldest, value] of this.#entries) {
      if (this.#chars <= this.maxChars) break;
      this.#entries.delete(oldest);
      this.#chars -= value.length;
    }
  }

  /** Base64 characters held. */
  get chars(): number {
    return this.#chars;
  }
}

/**
 * Resolves the file references of `messages` for a call to `llm`: URLs pass as given, stored files are read from
 * `cache`, else `archive` (base64). Nothing to resolve: an empty map, without touching the archive.
 *
 * @throws ApplicationFailure non-retryable {@link FILES_NOT_SUPPORTED} when `llm`'s provider takes no files;
 *   `FILE_STORAGE_UNAVAILABLE` (non-retryable) when a stored file is named but this worker has no archive;
 *   `NOT_FOUND` (non-retryable) when the archive has no such file for the session; `ARCHIVE_UNAVAILABLE`
 *   (retryable) when the archive is down.
 */
export async function resolveFiles(
  messages: ChatMessage[],
  llm: LlmConfig,
  sessionId: string,
  archive: ArchiveStore | undefined,
  cache?: StoredFileCache,
): Promise<ResolvedFiles> {
  const refs = filesOf(messages);
  const out = new Map<string, ResolvedFile>();
  if (refs.length === 0) return out;
  if (!takesFiles(llm)) {
    throw filesNotSupported(llm.provider, `only ${FILE_PROVIDERS.join(', ')} models take files (the message has ${refs.length})`);
  }
  for (const ref of refs) {
    if (ref.url) {
      out.set(ref.fileId, { ...ref, url: ref.url });
      continue;
    }
    if (!hasFiles(archive)) {
      throw ApplicationFailure.create({ type: 'FILE_STORAGE_UNAVAILABLE', message: `file ${ref.fileId} is stored, but this worker has no archive to read it from (set DATABASE_URL)`, nonRetryable: true });
    }
    const { url: _none, ...stored } = ref;
    let data = cache?.get(sessionId, ref.fileId);
    if (data === undefined) {
      data = Buffer.from((await readStored(archive, sessionId, ref.fileId)).bytes).toString('base64');
      cache?.set(sessionId, ref.fileId, data);
    }
    out.set(ref.fileId, { ...stored, data });
  }
  return out;
}

async function readStored(archive: FileArchive, sessionId: string, fileId: string) {
  let stored;
  try {
    stored = await archive.getFile(sessionId, fileId);
  } catch (err) {
    if (!isStepwiseError(err)) throw err;
    throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: err.code !== 'ARCHIVE_UNAVAILABLE' });
  }
  if (!stored) throw ApplicationFailure.create({ type: 'NOT_FOUND', message: `file ${fileId} of session ${sessionId} is not in the archive`, nonRetryable: true });
  return stored;
}

/** The resolved file of `ref`. @throws Error when it was not resolved (a caller bug: resolve before converting). */
function resolved(ref: FileRef, files: ResolvedFiles): ResolvedFile {
  const file = files.get(ref.fileId);
  if (!file) throw new Error(`file ${ref.fileId} was not resolved before the request was built`);
  return file;
}

function dataUrl(file: ResolvedFile & { data: string }): string {
  return `data:${file.mediaType};base64,${file.data}`;
}

const isPdf = (f: FileRef) => f.mediaType === 'application/pdf';

/** Chat Completions content of a user message with files: its text, then one part per file. Throws as resolution. */
export function openAIChatParts(message: ChatMessage, files: ResolvedFiles, provider: string): OpenAI.ChatCompletionContentPart[] {
  const parts: OpenAI.ChatCompletionContentPart[] = [{ type: 'text', text: message.content }];
  for (const ref of message.files ?? []) {
    const file = resolved(ref, files);
    if (isImage(file)) parts.push({ type: 'image_url', image_url: { url: file.url ?? dataUrl(file) } });
    else if (isPdf(file) && file.data !== undefined) parts.push({ type: 'file', file: { file_data: dataUrl(file), filename: file.name ?? `${file.fileId}.pdf` } });
    else if (isPdf(file)) throw filesNotSupported(provider, 'Chat Completions takes PDFs inline only, not by URL (upload the file, or use api_type: responses)');
    else throw filesNotSupported(provider, `it takes images and PDFs, not ${file.mediaType}`);
  }
  return parts;
}

/** Responses content of a user message with files: `input_text`, then `input_image` / `input_file` parts. */
export function responsesParts(message: ChatMessage, files: ResolvedFiles, provider: string): OpenAI.Responses.ResponseInputContent[] {
  const parts: OpenAI.Responses.ResponseInputContent[] = [{ type: 'input_text', text: message.content }];
  for (const ref of message.files ?? []) {
    const file = resolved(ref, files);
    const name = file.name ?? file.fileId;
    if (isImage(file)) parts.push({ type: 'input_image', image_url: file.url ?? dataUrl(file), detail: 'auto' });
    else if (isPdf(file)) parts.push({ type: 'input_file', filename: name, ...(file.url !== undefined ? { file_url: file.url } : { file_data: dataUrl(file) }) });
    else throw filesNotSupported(provider, `it takes images and PDFs, not ${file.mediaType}`);
  }
  return parts;
}

/** Anthropic content blocks of a user message's files: `image` and `document` blocks (text is the caller's). */
export function anthropicFileBlocks(message: ChatMessage, files: ResolvedFiles, provider: string): Anthropic.ContentBlockParam[] {
  return (message.files ?? []).map((ref): Anthropic.ContentBlockParam => {
    const file = resolved(ref, files);
    if (isImage(file)) {
      if (!ANTHROPIC_IMAGE_TYPES.has(file.mediaType)) throw filesNotSupported(provider, `it takes JPEG, PNG, GIF and WebP images, not ${file.mediaType}`);
      const media = file.mediaType as Anthropic.Base64ImageSource['media_type'];
      return { type: 'image', source: file.url !== undefined ? { type: 'url', url: file.url } : { type: 'base64', media_type: media, data: file.data } };
    }
    if (isPdf(file)) {
      return { type: 'document', source: file.url !== undefined ? { type: 'url', url: file.url } : { type: 'base64', media_type: 'application/pdf', data: file.data } };
    }
    throw filesNotSupported(provider, `it takes images and PDFs, not ${file.mediaType}`);
  });
}
