/**
 * Limits on the files users attach to messages (docs/rest-api.md "Files and images"), from the environment:
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `STEPWISE_MAX_FILE_BYTES` | 10 MiB | largest file, in bytes (larger: 413 `FILE_TOO_LARGE`) |
 * | `STEPWISE_MAX_FILES_PER_MESSAGE` | 4 | most files per message (at most `MAX_FILES_PER_MESSAGE`, 8) |
 * | `STEPWISE_ALLOWED_FILE_TYPES` | `image/png,image/jpeg,image/gif,image/webp,application/pdf` | media types accepted (others: 415 `UNSUPPORTED_FILE_TYPE`) |
 *
 * The default size, 10 MiB, keeps a JSON body with four base64 files (4/3 of the bytes each) near 54 MiB. Providers
 * have lower limits for some inputs (Anthropic documents 5 MB per image), which they answer with a 400 the turn
 * shows: set the limit to your provider's.
 */
import { z } from 'zod';
import { MAX_FILES_PER_MESSAGE, MediaType } from '../../src/engine/files.js';
import { StepwiseError } from '../../src/errors.js';

/** Default largest file, in bytes: 10 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Default most files per message. */
export const DEFAULT_MAX_FILES_PER_MESSAGE = 4;
/** Default accepted media types: the images every file-taking provider reads, and PDF. */
export const DEFAULT_ALLOWED_FILE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf'] as const;

/** File limits of one API. Sizes in bytes. */
export interface FileLimits {
  maxFileBytes: number;
  maxFilesPerMessage: number;
  allowedTypes: readonly string[];
}

/** The defaults above. */
export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxFileBytes: DEFAULT_MAX_FILE_BYTES,
  maxFilesPerMessage: DEFAULT_MAX_FILES_PER_MESSAGE,
  allowedTypes: DEFAULT_ALLOWED_FILE_TYPES,
};

const FileEnv = z.object({
  STEPWISE_MAX_FILE_BYTES: z.coerce.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
  STEPWISE_MAX_FILES_PER_MESSAGE: z.coerce.number().int().min(1).max(MAX_FILES_PER_MESSAGE).default(DEFAULT_MAX_FILES_PER_MESSAGE),
  STEPWISE_ALLOWED_FILE_TYPES: z
    .string()
    .transform((v) => v.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(MediaType).min(1))
    .optional(),
});

/**
 * Reads the limits from `env` (empty strings count as unset).
 *
 * @throws StepwiseError INVALID_CONFIG (not retryable) naming each malformed variable.
 */
export function fileLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): FileLimits {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('STEPWISE_') && v !== undefined && v !== ''));
  const parsed = FileEnv.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StepwiseError('INVALID_CONFIG', `invalid environment: ${problems.join('; ')}`, { issues: problems });
  }
  const e = parsed.data;
  return { maxFileBytes: e.STEPWISE_MAX_FILE_BYTES, maxFilesPerMessage: e.STEPWISE_MAX_FILES_PER_MESSAGE, allowedTypes: e.STEPWISE_ALLOWED_FILE_TYPES ?? DEFAULT_ALLOWED_FILE_TYPES };
}

/**
 * Largest JSON body of a route that takes files inline: every file at its limit in base64 (4/3 of the bytes), plus
 * the API's ordinary body limit for the rest (Fastify's 1 MiB default when unset).
 */
export function fileBodyLimitBytes(limits: FileLimits, bodyLimitBytes: number | undefined): number {
  return Math.ceil((limits.maxFileBytes * limits.maxFilesPerMessage * 4) / 3) + (bodyLimitBytes ?? 1024 * 1024);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** File limits of this API (`buildApp`'s `files` option). */
    fileLimits: FileLimits;
  }
}
