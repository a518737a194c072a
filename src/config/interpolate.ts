/**
 * Environment interpolation of agent YAML: `$VAR`, `${VAR}`, `${VAR:-default}`, and `$$` for a literal dollar.
 *
 * Applied to string scalars of the parsed YAML document (never to keys), before schema validation, so every problem
 * still has a position. A `$` not followed by a name, `{` or `$` (e.g. `$5`) is kept as written.
 *
 * Pure apart from the `yaml` node types: the environment is passed in.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node, type Scalar } from 'yaml';

/** Matches `$$`, `${NAME}`, `${NAME:-default}` (default may be empty, no `}` inside) and `$NAME`. */
const REFERENCE = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Result of interpolating one string. */
export interface InterpolatedString {
  value: string;
  /** Variables referenced without a default that are unset, in order of appearance, without repeats. */
  missing: string[];
  /** True when the text contained at least one reference or `$$` escape. */
  changed: boolean;
  /** Every variable referenced (set or not, with or without default), without repeats. */
  variables: string[];
}

/**
 * Replaces references in `text` from `env`. `${VAR:-default}` uses the default when VAR is unset or empty (as in a
 * POSIX shell); `$VAR` and `${VAR}` with VAR unset are reported in `missing` and replaced by an empty string.
 * An empty but set variable is used as is.
 */
export function interpolateString(text: string, env: NodeJS.ProcessEnv): InterpolatedString {
  const missing: string[] = [];
  const variables: string[] = [];
  let changed = false;
  const value = text.replace(REFERENCE, (_match, dollar: string | undefined, braced, fallback, bare) => {
    changed = true;
    if (dollar) return '$';
    const name = (braced ?? bare) as string;
    if (!variables.includes(name)) variables.push(name);
    const found = env[name];
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
    if (found === undefined) {
      if (!missing.includes(name)) missing.push(name);
      return '';
    }
    return found;
  });
  return { value, missing, changed, variables };
}

/** An unset variable found in the document: where (key path and the scalar's source offset) and which. */
export interface InterpolationIssue {
  /** Key path of the scalar, e.g. `['llm', 'model']`. */
  path: (string | number)[];
  /** Source offset of the scalar (for line/column), if known. */
  offset?: number;
  variable: string;
}

/** What {@link interpolateDocument} found: unset variables, and the paths of scalars that took a variable's value. */
export interface DocumentInterpolation {
  unset: InterpolationIssue[];
  /** Key paths of every scalar whose text contained a reference (not just `$$`). */
  interpolated: (string | number)[][];
}

/**
 * Interpolates every string scalar of `doc` in place. Plain (unquoted) scalars whose text changed are re-typed like
 * YAML would (`max_iter: $N` with N=5 is the number 5; `true`/`false` are booleans); quoted and block scalars stay
 * strings. Aliased nodes are visited once.
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv): DocumentInterpolation {
  const result: DocumentInterpolation = { unset: [], interpolated: [] };
  const seen = new Set<unknown>();
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (node === null || node === undefined || seen.has(node) || isAlias(node)) return;
    seen.add(node);
    if (isScalar(node)) {
      interpolateScalar(node, path, env, result);
    } else if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        visit(pair.value, [...path, String(key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(doc.contents as Node | null, []);
  return result;
}

function interpolateScalar(
  node: Scalar,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  out: DocumentInterpolation,
): void {
  if (typeof node.value !== 'string') return;
  const result = interpolateString(node.value, env);
  for (const variable of result.missing) out.unset.push({ path, offset: node.range?.[0], variable });
  if (!result.changed) return;
  if (result.variables.length > 0) out.interpolated.push(path);
  node.value = node.type === 'PLAIN' ? retype(result.value) : result.value;
}

/** YAML core-schema typing of a plain scalar's text: integers, floats and booleans; anything else stays a string. */
function retype(text: string): string | number | boolean {
  if (/^[-+]?\d+$/.test(text) || /^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'True' || text === 'TRUE') return true;
  if (text === 'false' || text === 'False' || text === 'FALSE') return false;
  return text;
}
