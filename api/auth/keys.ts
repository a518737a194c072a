/**
 * API keys: scopes, the hashed keys file, and matching a presented key against the configured ones.
 *
 * Keys are never stored in clear: the keys file holds `sha256:<hex>` of each key (`stepwise hash-key` prints it).
 * A presented key is hashed with SHA-256 (node:crypto) and compared with every configured hash with
 * `timingSafeEqual`, so neither the match nor its position leaks through timing. SHA-256 without salt is enough
 * here because API keys are long random strings (not passwords); `stepwise hash-key` generates 32 random bytes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { StepwiseError } from '../../src/errors.js';

/** What a credential may do. `admin` includes the other two. */
export const Scope = z.enum(['sessions:read', 'sessions:write', 'admin']);
export type Scope = z.infer<typeof Scope>;

/** Every scope, in the order of {@link Scope}. */
export const ALL_SCOPES: Scope[] = [...Scope.options];

/** Who made a request, as `request.principal` (see CONTRACTS.md "Auth"). */
export interface Principal {
  /** Key id from the keys file, `env-<n>` for the n-th `STEPWISE_API_KEYS` key, or `jwt:<sub>` for a JWT. */
  keyId: string;
  scopes: Scope[];
  /** When set, this credential acts for that user only: its sessions carry this userId and it sees no other's. */
  userId?: string;
}

/** `sha256:` + 64 lowercase hex digits. */
const KeyHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:" followed by 64 lowercase hex digits');

/** One entry of the keys file (`STEPWISE_API_KEYS_FILE`). Unknown fields are rejected. */
export const ApiKeyEntry = z.strictObject({
  /** Names the key in logs and rate limits (never the key itself). */
  id: z.string().min(1).max(128),
  /** `sha256:<hex>` of the key, as printed by `stepwise hash-key`. */
  hash: KeyHash,
  scopes: z.array(Scope).min(1),
  /** Binds the key to one user (AgentOS/OmniAgent `user_id`): see {@link Principal.userId}. */
  user_id: z.string().min(1).max(128).optional(),
});
export type ApiKeyEntry = z.infer<typeof ApiKeyEntry>;

/** The keys file: a YAML or JSON list of {@link ApiKeyEntry}, ids unique. */
export const ApiKeysFile = z
  .array(ApiKeyEntry)
  .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, 'key ids must be unique');
export type ApiKeysFile = z.infer<typeof ApiKeysFile>;

/** `sha256:<hex>` of `key` (UTF-8). */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random API key: `sw_` + 43 base64url characters (32 random bytes). */
export function generateApiKey(): string {
  return `sw_${randomBytes(32).toString('base64url')}`;
}

/**
 * Reads and validates a keys file.
 * @throws StepwiseError INVALID_CONFIG (not retryable) for an unreadable file or an invalid entry, naming the path.
 */
export function readApiKeysFile(path: string): ApiKeyEntry[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new StepwiseError('INVALID_CONFIG', `STEPWISE_API_KEYS_FILE ${path}: ${(err as Error).message}`);
  }
  const result = ApiKeysFile.safeParse(parsed ?? []);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new StepwiseError('INVALID_CONFIG', `STEPWISE_API_KEYS_FILE ${path}: ${problems.join('; ')}`, { issues: problems });
  }
  return result.data;
}

/** Entries for the comma-separated plain keys of `STEPWISE_API_KEYS`: ids `env-1`, `env-2`..., every scope, no user. */
export function plainKeyEntries(list: string): ApiKeyEntry[] {
  return list
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0)
    .map((key, i) => ({ id: `env-${i + 1}`, hash: hashApiKey(key), scopes: ALL_SCOPES }));
}

/**
 * Returns a matcher of presented keys against `entries`. Every entry is compared (no early exit), each in constant
 * time, so the time taken does not depend on which key matched.
 */
export function apiKeyMatcher(entries: readonly ApiKeyEntry[]): (key: string) => Principal | undefined {
  const hashes = entries.map((e) => Buffer.from(e.hash, 'utf8'));
  return (key) => {
    const presented = Buffer.from(hashApiKey(key), 'utf8');
    let found: ApiKeyEntry | undefined;
    entries.forEach((entry, i) => {
      if (timingSafeEqual(hashes[i]!, presented) && !found) found = entry;
    });
    if (!found) return undefined;
    return { keyId: found.id, scopes: found.scopes, ...(found.user_id ? { userId: found.user_id } : {}) };
  };
}
