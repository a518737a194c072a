/** `$VAR` interpolation of strings and YAML documents. */
import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { interpolateDocument, interpolateString } from '../../src/config/interpolate.js';

describe('interpolateString', () => {
  const env = { NAME: 'Ada', EMPTY: '', MODEL_2: 'gpt' };

  it('replaces ${VAR} anywhere, and $VAR only as a whole value (NOMOS)', () => {
    expect(interpolateString('hi $NAME and ${NAME}!', env)).toEqual({ value: 'hi $NAME and Ada!', missing: [], changed: true, variables: ['NAME'] });
    expect(interpolateString('$NAME', env)).toEqual({ value: 'Ada', missing: [], changed: true, variables: ['NAME'] });
    expect(interpolateString('${MODEL_2}-mini', env).value).toBe('gpt-mini');
    expect(interpolateString('$MODEL_2-mini', env).value).toBe('$MODEL_2-mini');
    expect(interpolateString('Prices in $USD', {}).value).toBe('Prices in $USD');
  });

  it('keeps an unset whole-value $VAR as written and says so (NOMOS keeps it silently)', () => {
    expect(interpolateString('$FRONTEND_URL', {})).toEqual({ value: '$FRONTEND_URL', missing: [], kept: 'FRONTEND_URL', changed: false, variables: ['FRONTEND_URL'] });
  });

  it('uses ${VAR:-default} when VAR is unset or empty, the value otherwise', () => {
    expect(interpolateString('${NOPE:-fallback}', env).value).toBe('fallback');
    expect(interpolateString('${EMPTY:-fallback}', env).value).toBe('fallback');
    expect(interpolateString('${NAME:-fallback}', env).value).toBe('Ada');
    expect(interpolateString('${NOPE:-}', env)).toEqual({ value: '', missing: [], changed: true, variables: ['NOPE'] });
  });

  it('escapes $$ and keeps a $ not followed by a name', () => {
    expect(interpolateString('costs $$5 or $5, $$NAME', env).value).toBe('costs $5 or $5, $NAME');
    expect(interpolateString('no references', env)).toEqual({ value: 'no references', missing: [], changed: false, variables: [] });
    expect(interpolateString('$$HOME', env).variables).toEqual([]);
  });

  it('lists unset variables once each, in order', () => {
    const r = interpolateString('${B} ${A} ${B}', {});
    expect(r.missing).toEqual(['B', 'A']);
    expect(r.value).toBe('  ');
  });
});

describe('interpolateDocument', () => {
  it('interpolates string scalars in place, re-types plain scalars and reports unset variables with path and offset', () => {
    const text = 'name: $N\nmax_iter: $ITER\nquoted: "$ITER"\nflag: ${FLAG:-true}\nsteps:\n  - desc: "${MISSING}"\n$KEY: kept\n';
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc });
    const { unset, interpolated } = interpolateDocument(doc, { N: 'bot', ITER: '7' });
    expect(doc.toJS()).toEqual({ name: 'bot', max_iter: 7, quoted: '7', flag: true, steps: [{ desc: '' }], $KEY: 'kept' });
    expect(unset).toHaveLength(1);
    expect(unset[0]).toMatchObject({ path: ['steps', 0, 'desc'], variable: 'MISSING' });
    expect(lc.linePos(unset[0]?.offset as number).line).toBe(6);
    expect(interpolated).toEqual([['name'], ['max_iter'], ['quoted'], ['flag'], ['steps', 0, 'desc']]);
  });
});
