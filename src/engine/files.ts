/**
 * File references: the attachments of a user message (images, PDFs) as they travel through the session workflow.
 *
 * A reference names a file; it never holds its bytes. The API stores an uploaded file in the archive's file table
 * (`src/archive/files.ts`) and passes `{fileId, mediaType, name?, size?}`; a file the user gave by URL travels as
 * `{fileId, mediaType, url}`. The `decide` activity resolves references to bytes or URLs just before the provider
 * call (`activities/models/attachments.ts`), so workflow history, continue-as-new state and the archive's events only
 * ever hold these few hundred bytes per file (docs/rest-api.md "Files and images").
 *
 * Pure: plain JSON, one zod schema per object (STYLE.md 3-4).
 */
import { z } from 'zod';

/** Most files one user message may carry. The API's `STEPWISE_MAX_FILES_PER_MESSAGE` may only lower it. */
export const MAX_FILES_PER_MESSAGE = 8;

/** Longest file URL accepted, in characters (a common URL length limit of browsers and CDNs). */
export const MAX_FILE_URL_CHARS = 2_048;

/** Longest file name kept, in characters (most file systems' limit, 255 bytes, for ASCII names). */
export const MAX_FILE_NAME_CHARS = 255;

/** File ids: 1-128 characters of letters, digits, `_`, `-`, `.`, `:` (like message ids). */
export const FileId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ - . : only (1-128 chars)');

/**
 * A media type without parameters (`image/png`, `application/pdf`): RFC 6838 §4.2 restricted names, lower case (at
 * most 127 characters each side; here 255 in all).
 */
export const MediaType = z
  .string()
  .max(255)
  .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, 'a media type such as image/png (lower case, no parameters)');

/**
 * A file attached to a user message. `url` set: the file is at that `http(s)` URL (the provider fetches it); absent:
 * `fileId` names a file stored in the archive for this session. `size` is in bytes (stored files). Strict: a
 * reference with any other field (e.g. inline `data`) is refused, so bytes cannot ride into workflow history.
 */
export const FileRef = z.strictObject({
  fileId: FileId,
  mediaType: MediaType,
  name: z.string().min(1).max(MAX_FILE_NAME_CHARS).optional(),
  url: z.url({ protocol: /^https?$/ }).max(MAX_FILE_URL_CHARS).optional(),
  size: z.number().int().min(0).optional(),
});
export type FileRef = z.infer<typeof FileRef>;

/** The attachments of one message: at most {@link MAX_FILES_PER_MESSAGE} references. */
export const FileRefs = z.array(FileRef).max(MAX_FILES_PER_MESSAGE, `at most ${MAX_FILES_PER_MESSAGE} files per message`);

/**
 * Providers whose adapters send files to their models: OpenAI and Azure OpenAI (Chat Completions and Responses) and
 * Anthropic (`activities/models/attachments.ts`). Others (scripted, OpenAI-compatible servers) get none.
 */
export const FILE_PROVIDERS: readonly string[] = ['openai', 'azure', 'anthropic'];

/** Whether a model of `llm.provider` takes files (see {@link FILE_PROVIDERS}). */
export function takesFiles(llm: { provider: string }): boolean {
  return FILE_PROVIDERS.includes(llm.provider);
}

/** Whether a reference is an image (`image/*`), which vision models take as image input. */
export function isImage(file: Pick<FileRef, 'mediaType'>): boolean {
  return file.mediaType.startsWith('image/');
}
