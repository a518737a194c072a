/**
 * Environment interpolation of agent YAML, compatible with NOMOS and stricter where Stepwise's own syntax is used:
 * - a whole value `$NAME` (NOMOS's form) takes NAME's value; when NAME is unset the text is kept as written, and
 *   the loader warns (NOMOS keeps it silently). A `$NAME` inside longer text ("Prices in $USD") is plain text.
 * - `${NAME}` anywhere in a string takes NAME's value; unset is an error. `${NAME:-default}` uses the default when NAME
 *   is unset or empty. `$$` is a literal dollar.
 *
 * Applied to string scalars of the parsed YAML document (never to keys, never to `api_key` values, which name a
 * variable and must not pull a secret into the snapshot), before schema validation, so every problem still has a
 * position.
 *
 * Pure apart from the `yaml` node types: the environment is passed in.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node, type Scalar } from 'yaml';

/** NOMOS's whole-value reference: the string is exactly `$NAME`. */
const WHOLE_REFERENCE = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/** Matches `$$` and `${NAME}` / `${NAME:-default}` (default may be empty, no `}` inside). */
const BRACED_REFERENCE = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})/g;

/** Result of interpolating one string. */
export interface InterpolatedString {
  value: string;
  /** `${VAR}` references without a default whose variable is unset, in order of appearance, without repeats. */
  missing: string[];
  /** A whole-value `$VAR` whose variable is unset: the text was kept as written. */
  kept?: string;
  /** True when the text contained at least one reference or `$$` escape. */
  changed: boolean;
  /** Every variable referenced (set or not, with or without default), without repeats. */
  variables: string[];
}

/**
 * Replaces references in `text` from `env` (rules in the module comment). `${VAR}` with VAR unset is reported in
 * `missing` and replaced by an empty string; an empty but set variable is used as is.
 */
export function interpolateString(text: string, env: NodeJS.ProcessEnv): InterpolatedString {
  const whole = WHOLE_REFERENCE.exec(text);
  if (whole) {
    const name = whole[1] as string;
    const found = env[name];
    return found === undefined
      ? { value: text, missing: [], kept: name, changed: false, variables: [name] }
      : { value: found, missing: [], changed: true, variables: [name] };
  }
  const missing: string[] = [];
  const variables: string[] = [];
  let changed = false;
  const value = text.replace(BRACED_REFERENCE, (_match, dollar: string | undefined, name: string, fallback: string | undefined) => {
    changed = true;
    if (dollar) return '$';
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
  /** `${VAR}` references to unset variables (errors). */
  unset: InterpolationIssue[];
  /** Whole-value `$VAR` references to unset variables, kept as written (warnings). */
  kept: InterpolationIssue[];
  /** Key paths of every scalar whose text contained a reference (not just `$$`). */
  interpolated: (string | number)[][];
  /** Every variable reference, set or not (one entry per variable and scalar), in document order. */
  references: InterpolationIssue[];
}

/**
 * Interpolates every string scalar of `doc` in place. Plain (unquoted) scalars whose text changed are re-typed like
 * YAML would (`max_iter: $N` with N=5 is the number 5; `true`/`false` are booleans); quoted and block scalars stay
 * strings. Aliased nodes are visited once.
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv): DocumentInterpolation {
  const result: DocumentInterpolation = { unset: [], kept: [], interpolated: [], references: [] };
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
        if (key === 'api_key') continue;
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
  if (result.kept !== undefined) out.kept.push({ path, offset: node.range?.[0], variable: result.kept });
  for (const variable of result.variables) out.references.push({ path, offset: node.range?.[0], variable });
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
