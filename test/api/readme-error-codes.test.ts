/**
 * Every stable error code must be documented in the error table of docs/rest-api.md, under its "Error codes" heading
 * (after fastify/fastify's errors-doc test), and the table must name no code that does not exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, HTTP_STATUS } from '../../src/errors.js';

const PAGE = fileURLToPath(new URL('../../docs/rest-api.md', import.meta.url));
/** A table row whose first cell is a code and second its status, e.g. "| `SESSION_ENDED` | 409 | ... |". */
const ROW = /^\|\s*`?([A-Z][A-Z_]*)`?\s*\|\s*(\d{3})\s*\|/gm;
/** Rows for failure types that are not API codes: the session workflow's own failure (the API answers TURN_FAILED). */
const NOT_API_CODES = ['INTERNAL_ERROR'];

/** The text of the "## Error codes" section: from its heading to the next heading of the same or a higher level. */
function errorSection(): string {
  const page = existsSync(PAGE) ? readFileSync(PAGE, 'utf8') : '';
  const start = /^## Error codes[ \t]*$/m.exec(page);
  if (!start) return '';
  const rest = page.slice(start.index + start[0].length);
  const end = /^#{1,2} /m.exec(rest);
  return end ? rest.slice(0, end.index) : rest;
}

describe('docs/rest-api.md error table', () => {
  it('exists, with an "Error codes" section', () => {
    expect(existsSync(PAGE), 'docs/rest-api.md is missing').toBe(true);
    expect(errorSection(), 'docs/rest-api.md has no "## Error codes" section').not.toBe('');
  });

  it.each(ERROR_CODES.map((c) => [c]))('documents %s with its HTTP status', (code) => {
    const rows = [...errorSection().matchAll(ROW)].filter((m) => m[1] === code);
    expect(rows, `docs/rest-api.md#error-codes has no row for ${code}`).toHaveLength(1);
    expect(Number(rows[0]![2])).toBe(HTTP_STATUS[code]);
  });

  it('lists only codes that exist', () => {
    const known: readonly string[] = [...ERROR_CODES, ...NOT_API_CODES];
    const listed = [...errorSection().matchAll(ROW)].map((m) => m[1]!);
    expect(listed.filter((c) => !known.includes(c))).toEqual([]);
  });
});
