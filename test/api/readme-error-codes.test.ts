/**
 * Every stable error code must be documented in README.md's error table (after fastify/fastify's errors-doc test).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, HTTP_STATUS } from '../../src/errors.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

describe('README error table', () => {
  it('exists', () => {
    expect(existsSync(README), 'README.md is missing').toBe(true);
  });

  it.each(ERROR_CODES.map((c) => [c]))('documents %s with its HTTP status', (code) => {
    const readme = existsSync(README) ? readFileSync(README, 'utf8') : '';
    // A table row whose first cell is the code and second its status, e.g. "| `SESSION_ENDED` | 409 | ... |".
    const row = new RegExp(`^\\|\\s*\`?${code}\`?\\s*\\|\\s*(\\d{3})\\s*\\|`, 'm').exec(readme);
    expect(row, `README.md has no error-table row for ${code}`).not.toBeNull();
    expect(Number(row![1])).toBe(HTTP_STATUS[code]);
  });
});
