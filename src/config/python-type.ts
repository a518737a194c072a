/**
 * Python type expressions as NOMOS configs write them (`tool_defs` argument `type`, answer-model field `type`),
 * translated to JSON Schema.
 *
 * NOMOS parses these strings with `ast` against a fixed table (`nomos/utils/utils.py` `parse_type`): `str`, `int`,
 * `float`, `bool`, `List`, `Dict`, `Tuple`, `Union`, `Literal`, `Optional`, and the JSON names `string`, `integer`,
 * `number`, `boolean`, `array`, `object`. This module accepts the same vocabulary (plus `Any`, `None`, and the
 * lowercase generics `list[...]`, `dict[...]`) and nothing else: an unknown name is an error, never a guess.
 *
 * Pure.
 */
import type { JsonSchema } from './agent.js';

/** A parsed type: its JSON Schema, and whether it admits "absent" (`Optional[...]`, `Union[..., None]`). */
export interface PythonType {
  schema: JsonSchema;
  optional: boolean;
}

type Node = { name: string; args: Node[] } | { literal: string | number | boolean | null };

const SIMPLE: Record<string, JsonSchema> = {
  str: { type: 'string' },
  string: { type: 'string' },
  int: { type: 'integer' },
  integer: { type: 'integer' },
  float: { type: 'number' },
  number: { type: 'number' },
  bool: { type: 'boolean' },
  boolean: { type: 'boolean' },
  List: { type: 'array' },
  list: { type: 'array' },
  array: { type: 'array' },
  Tuple: { type: 'array' },
  tuple: { type: 'array' },
  Dict: { type: 'object' },
  dict: { type: 'object' },
  object: { type: 'object' },
  Any: {},
  None: { type: 'null' },
};

/**
 * Parses a Python type expression.
 *
 * @throws Error with a readable message for text that is not a type expression NOMOS accepts (config error).
 */
export function parsePythonType(text: string): PythonType {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (t: string) => {
    if (tokens[pos] !== t) throw new Error(`invalid type "${text}": expected "${t}"${tokens[pos] ? ` at "${tokens[pos]}"` : ''}`);
    pos++;
  };
  const parseNode = (): Node => {
    const t = peek();
    if (t === undefined) throw new Error(`invalid type "${text}": unexpected end`);
    pos++;
    if (/^["']/.test(t)) return { literal: t.slice(1, -1) };
    if (/^-?\d+(\.\d+)?$/.test(t)) return { literal: Number(t) };
    if (t === 'True' || t === 'False') return { literal: t === 'True' };
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(t)) throw new Error(`invalid type "${text}": unexpected "${t}"`);
    const name = t.replace(/^(typing|builtins)\./, '');
    const args: Node[] = [];
    if (peek() === '[') {
      pos++;
      args.push(parseNode());
      while (peek() === ',') {
        pos++;
        args.push(parseNode());
      }
      expect(']');
    }
    return { name, args };
  };
  const node = parseNode();
  if (pos !== tokens.length) throw new Error(`invalid type "${text}": unexpected "${tokens[pos]}"`);
  return toSchema(node, text);
}

function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[[\],|]|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?|\S)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[1] as string);
  // `int | None` (PEP 604) reads as Union[int, None].
  const bar = out.indexOf('|');
  if (bar > 0) return ['Union', '[', ...out.map((t) => (t === '|' ? ',' : t)), ']'];
  return out;
}

function toSchema(node: Node, text: string): PythonType {
  if ('literal' in node) throw new Error(`invalid type "${text}": a literal value outside Literal[...]`);
  const { name, args } = node;
  const sub = (n: Node) => toSchema(n, text);
  switch (name) {
    case 'Optional': {
      if (args.length !== 1) throw new Error(`invalid type "${text}": Optional takes one type`);
      return { schema: sub(args[0] as Node).schema, optional: true };
    }
    case 'Union': {
      const parts = args.filter((a) => !('name' in a && a.name === 'None'));
      const optional = parts.length < args.length;
      const schemas = parts.map((a) => sub(a).schema);
      if (schemas.length === 0) throw new Error(`invalid type "${text}": Union needs a type`);
      return { schema: schemas.length === 1 ? (schemas[0] as JsonSchema) : { anyOf: schemas }, optional };
    }
    case 'Literal': {
      const values = args.map((a) => {
        if (!('literal' in a)) throw new Error(`invalid type "${text}": Literal takes values`);
        return a.literal;
      });
      if (values.length === 0) throw new Error(`invalid type "${text}": Literal needs a value`);
      const kinds = new Set(values.map((v) => (v === null ? 'null' : typeof v)));
      const type = kinds.size === 1 ? { string: 'string', number: 'number', boolean: 'boolean', null: 'null' }[[...kinds][0] as string] : undefined;
      return { schema: { ...(type ? { type } : {}), enum: values }, optional: false };
    }
    case 'List':
    case 'list':
    case 'Tuple':
    case 'tuple':
    case 'Set':
    case 'set': {
      const items = args.length === 1 ? sub(args[0] as Node).schema : undefined;
      return { schema: { type: 'array', ...(items ? { items } : {}) }, optional: false };
    }
    case 'Dict':
    case 'dict': {
      const values = args[1] ? sub(args[1]).schema : undefined;
      return { schema: { type: 'object', ...(values ? { additionalProperties: values } : {}) }, optional: false };
    }
    default: {
      const simple = SIMPLE[name];
      if (!simple || args.length > 0) {
        throw new Error(`invalid type "${text}": unknown type "${name}" (use str, int, float, bool, List[...], Dict[...], Optional[...], Union[...], Literal[...])`);
      }
      return { schema: { ...simple }, optional: name === 'None' };
    }
  }
}
