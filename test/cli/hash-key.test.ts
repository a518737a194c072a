/** `stepwise hash-key` as users run it: its output is a keys file the API accepts, for the key given on stdin. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiKeyMatcher } from '../../api/auth/keys.js';
import { loadApiConfig } from '../../api/config.js';

const root = join(import.meta.dirname, '..', '..');

function hashKey(args: string[], input: string) {
  return spawnSync(process.execPath, ['bin/stepwise.js', 'hash-key', ...args], { cwd: root, encoding: 'utf8', input, timeout: 60_000 });
}

function keysFileOf(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'stepwise-hash-key-')), 'keys.yaml');
  writeFileSync(path, yaml);
  return path;
}

describe('stepwise hash-key', () => {
  it('prints a keys-file entry for the key on stdin that authenticates that key only', () => {
    const out = hashKey(['--id', 'web', '--scopes', 'sessions:read', '--user-id', 'alice'], 'the-secret\n');
    expect(out.status).toBe(0);
    expect(out.stdout).not.toContain('the-secret');
    const keys = loadApiConfig({ STEPWISE_API_KEYS_FILE: keysFileOf(out.stdout) }).auth!.keys;
    const match = apiKeyMatcher(keys);
    expect(match('the-secret')).toEqual({ keyId: 'web', scopes: ['sessions:read'], userId: 'alice' });
    expect(match('the-secret2')).toBeUndefined();
  });

  it('--new generates a key, printed once above its entry', () => {
    const out = hashKey(['--new', '--id', 'ops', '--scopes', 'admin'], '');
    expect(out.status).toBe(0);
    const key = /API key \(shown once; give it to the client\): (\S+)/.exec(out.stdout)?.[1];
    expect(key).toMatch(/^sw_[\w-]{43}$/);
    const keys = loadApiConfig({ STEPWISE_API_KEYS_FILE: keysFileOf(out.stdout) }).auth!.keys;
    expect(apiKeyMatcher(keys)(key!)).toEqual({ keyId: 'ops', scopes: ['admin'] });
  });

  it('exits 1 with a message for an empty key or an unknown scope', () => {
    const empty = hashKey([], '\n');
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/no key on stdin/);
    const bad = hashKey(['--scopes', 'root'], 'k');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/scopes\.0/);
  });
});
