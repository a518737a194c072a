/**
 * API key auth for tests of per-user binding: keys `alice-key` and `bob-key` bound to users alice and bob
 * (`sessions:read`, `sessions:write`), `write-key` without a user (`sessions:write`), `admin-key` (`admin`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '../../api/auth/keys.js';
import { loadApiConfig } from '../../api/config.js';
import type { AuthOptions } from '../../api/plugins/auth.js';

/** The auth options of the keys above, loaded from a keys file written to a temp dir. */
export function boundAuth(): AuthOptions {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-keys-'));
  const path = join(dir, 'keys.json');
  writeFileSync(
    path,
    JSON.stringify([
      { id: 'alice-app', hash: hashApiKey('alice-key'), scopes: ['sessions:read', 'sessions:write'], user_id: 'alice' },
      { id: 'bob-app', hash: hashApiKey('bob-key'), scopes: ['sessions:read', 'sessions:write'], user_id: 'bob' },
      { id: 'writer', hash: hashApiKey('write-key'), scopes: ['sessions:write'] },
      { id: 'ops', hash: hashApiKey('admin-key'), scopes: ['admin'] },
    ]),
  );
  return loadApiConfig({ STEPWISE_API_KEYS_FILE: path }).auth!;
}
