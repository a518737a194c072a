/**
 * "Did you mean" for unknown keys: the known keys of the schema object at a key path, and the closest one by
 * Levenshtein distance (`fastest-levenshtein`).
 *
 * Pure (the schema walk reads zod v4's public `_zod.def` descriptors).
 */
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import type { KeyPath } from './validate.js';

type Def = { type: string; [k: string]: unknown };
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** Object schemas reachable at `path` (several when a union is on the way). */
function objectsAt(schema: z.ZodType, path: KeyPath): Def[] {
  let current: Def[] = [defOf(schema)];
  const expand = (defs: Def[]): Def[] =>
    defs.flatMap((d) => {
      if (d.type === 'optional' || d.type === 'nullable' || d.type === 'default' || d.type === 'readonly') return expand([defOf(d.innerType)]);
      if (d.type === 'pipe') return expand([defOf(d.in)]);
      if (d.type === 'union') return expand((d.options as unknown[]).map(defOf));
      return [d];
    });
  for (const segment of path) {
    current = expand(current).flatMap((d) => {
      if (d.type === 'object') {
        const next = (d.shape as Record<string, unknown>)[String(segment)];
        return next ? [defOf(next)] : [];
      }
      if (d.type === 'array' && typeof segment === 'number') return [defOf(d.element)];
      if (d.type === 'record') return [defOf(d.valueType)];
      return [];
    });
  }
  return expand(current).filter((d) => d.type === 'object');
}

/**
 * The known key closest to `key` in the object at `path` of `schema`, if one is close enough to be a likely typo
 * (distance at most 2, or at most a third of the key's length for long keys).
 */
export function suggestKey(schema: z.ZodType, path: KeyPath, key: string): string | undefined {
  const known = [...new Set(objectsAt(schema, path).flatMap((d) => Object.keys(d.shape as object)))];
  if (known.length === 0) return undefined;
  const best = closest(key, known);
  const limit = Math.max(2, Math.floor(key.length / 3));
  return distance(key, best) <= limit ? best : undefined;
}
