/**
 * `stepwise hash-key`: prints the `STEPWISE_API_KEYS_FILE` entry (YAML) for an API key, so the file never holds keys in
 * clear. The key is read from stdin (never from argv, which other users of the machine can see in `ps`), or generated
 * with `--new` and printed once above its entry.
 */
import { stringify } from 'yaml';
import { ApiKeyEntry, generateApiKey, hashApiKey } from '../api/auth/keys.js';

export interface HashKeyOptions {
  new?: boolean;
  id: string;
  /** Comma-separated scopes. */
  scopes: string;
  userId?: string;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the command. Resolves with the exit code: 0, or 1 for an empty key or invalid options (message on `error`). */
export async function runHashKey(
  opts: HashKeyOptions,
  io: { stdin: NodeJS.ReadableStream; log: (s: string) => void; error: (s: string) => void },
): Promise<number> {
  const key = opts.new ? generateApiKey() : (await readAll(io.stdin)).trim();
  if (!key) {
    io.error('stepwise hash-key: no key on stdin (pipe one in, or use --new to generate one)');
    return 1;
  }
  const entry = ApiKeyEntry.safeParse({
    id: opts.id,
    hash: hashApiKey(key),
    scopes: opts.scopes.split(',').map((s) => s.trim()).filter(Boolean),
    ...(opts.userId ? { user_id: opts.userId } : {}),
  });
  if (!entry.success) {
    io.error(`stepwise hash-key: ${entry.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return 1;
  }
  if (opts.new) io.log(`# new API key (shown once; give it to the client): ${key}`);
  io.log(stringify([entry.data]).trimEnd());
  return 0;
}
