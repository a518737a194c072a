/**
 * A step's `answer_model`, normalised to one JSON Schema object (Node: the file form reads the disk).
 *
 * Accepted forms:
 * 1. a JSON Schema object (it has `type` or `properties`), used as written;
 * 2. a field map: `{ name: string, qty: integer?, tags: string[] }` (a trailing `?` marks an optional field), or
 *    `{ name: { type: string, description?: ..., optional?: true } }`; becomes a closed object schema;
 *    NOMOS's field maps are read too: `{ name: { type: str, description?, optional?, is_list?, default? } }`, where
 *    `type` is a Python type expression (`str`, `int`, `List[str]`, `Literal["a", "b"]`, see `./python-type.ts`) or a
 *    nested model `{ name, params: <field map> }`;
 * 3. a schema name from the agent's `schemas:` section (NOMOS: `answer_model: itinerary`, or `itinerary.Model` for a
 *    definition inside it), which names a `.json` JSON Schema file;
 * 4. a path (relative to the YAML) of a `.json` file holding a JSON Schema.
 * The result must be readable by `z.fromJSONSchema` (the engine builds the RESPOND schema with it) and compile in ajv.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { compileJsonSchema } from './json-schema.js';
import type { JsonSchema } from './agent.js';
import type { ConfigFiles } from './config-files.js';
import { parsePythonType } from './python-type.js';

/** Field types a field map may use. */
export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'string[]', 'number[]', 'object'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A problem at a path relative to `answer_model` (e.g. `['qty']` for a bad field type). */
export interface AnswerModelIssue {
  path: (string | number)[];
  message: string;
  /** Point at the key (unknown keys) rather than its value. */
  at?: 'key';
}

/** Normalised schema (absent when there are issues) and the issues found. */
export interface AnswerModelResult {
  schema?: JsonSchema;
  issues: AnswerModelIssue[];
}

/**
 * Normalises one `answer_model` value.
 *
 * @param raw the value as parsed from YAML (string or object).
 * @param files the YAML file's folder and how to read files in it, for the path form.
 * Never throws: problems come back as issues.
 */
export function normalizeAnswerModel(raw: unknown, files: ConfigFiles, schemas: Record<string, string> = {}): AnswerModelResult {
  let schema: JsonSchema;
  const [schemaName, modelName, ...rest] = typeof raw === 'string' ? raw.split('.') : [];
  if (typeof raw === 'string' && schemaName !== undefined && schemaName in schemas && rest.length === 0) {
    const file = schemas[schemaName] as string;
    if (!file.endsWith('.json')) {
      return { issues: [{ path: [], message: `schema "${schemaName}" is ${file}: only JSON Schema (.json) schema files are supported (Python models are not; convert to JSON Schema)` }] };
    }
    const loaded = readSchemaFile(files, resolve(files.baseDir, file), file);
    if ('message' in loaded) return { issues: [{ path: [], message: loaded.message }] };
    const picked = pickModel(loaded.schema, schemaName, modelName);
    if (typeof picked === 'string') return { issues: [{ path: [], message: picked }] };
    schema = picked;
  } else if (typeof raw === 'string') {
    const loaded = readSchemaFile(files, resolve(files.baseDir, raw), raw);
    if ('message' in loaded) return { issues: [{ path: [], message: loaded.message }] };
    schema = loaded.schema;
  } else if (isPlainObject(raw)) {
    if ('type' in raw || 'properties' in raw) {
      schema = structuredClone(raw);
    } else {
      const issues: AnswerModelIssue[] = [];
      schema = fieldMapSchema(raw, issues);
      if (issues.length > 0) return { issues };
    }
  } else {
    return { issues: [{ path: [], message: 'answer_model must be a JSON Schema object, a field map or a file path' }] };
  }
  const problem = checkSchema(schema);
  return problem ? { issues: [{ path: [], message: problem }] } : { schema, issues: [] };
}

/**
 * `schema` or `schema.Model`: the whole file, unless a model is named that is not the file itself (its `title` or the
 * schema name, case-insensitively): then the definition of that name under `$defs` / `definitions`, with the file's
 * definitions carried along so references still resolve.
 */
function pickModel(file: JsonSchema, schemaName: string, modelName: string | undefined): JsonSchema | string {
  if (modelName === undefined) return file;
  const self = [schemaName, typeof file.title === 'string' ? file.title : ''].map((n) => n.toLowerCase());
  if (self.includes(modelName.toLowerCase())) return file;
  for (const key of ['$defs', 'definitions'] as const) {
    const defs = file[key] as Record<string, JsonSchema> | undefined;
    const found = defs?.[modelName];
    if (found) return { ...structuredClone(found), [key]: structuredClone(defs) };
  }
  return `schema "${schemaName}" has no model "${modelName}" (no $defs/definitions entry of that name)`;
}

function readSchemaFile(files: ConfigFiles, abs: string, written: string): { schema: JsonSchema } | { message: string } {
  const text = files.readText(abs);
  if (text === undefined) {
    return { message: `answer_model file ${written} not found (looked at ${abs})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { message: `answer_model file ${written} is not valid JSON: ${(err as Error).message}` };
  }
  if (!isPlainObject(parsed)) return { message: `answer_model file ${written} must hold a JSON Schema object` };
  return { schema: parsed };
}

/** Keys of one field in a field map (Stepwise's `type/description/optional`, and NOMOS's `is_list`, `default`). */
const FIELD_KEYS = ['type', 'description', 'optional', 'is_list', 'default'];

/** Builds `{type: 'object', properties, required, additionalProperties: false}` from a field map. */
function fieldMapSchema(fields: Record<string, unknown>, issues: AnswerModelIssue[], prefix: (string | number)[] = []): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const at = [...prefix, name];
    const field = isPlainObject(spec) ? spec : { type: spec };
    const extra = Object.keys(field).filter((k) => !FIELD_KEYS.includes(k));
    if (extra.length > 0) {
      issues.push({ path: [...at, extra[0] as string], at: 'key', message: `unknown key "${extra[0]}" (use ${FIELD_KEYS.join(', ')})` });
      continue;
    }
    for (const flag of ['optional', 'is_list'] as const) {
      if (field[flag] !== undefined && typeof field[flag] !== 'boolean') issues.push({ path: [...at, flag], message: `\`${flag}\` must be true or false` });
    }
    if (field.description !== undefined && typeof field.description !== 'string') {
      issues.push({ path: [...at, 'description'], message: '`description` must be a string' });
    }
    const typePath = isPlainObject(spec) ? [...at, 'type'] : at;
    const typed = fieldType(field.type, typePath, issues);
    if (!typed) continue;
    let property = typed.schema;
    if (field.is_list === true) property = { type: 'array', items: property };
    if (typeof field.description === 'string') property.description = field.description;
    if (field.default !== undefined) property.default = field.default;
    properties[name] = property;
    if (!(typed.optional || field.optional === true || field.default !== undefined)) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/** A field's type: Stepwise's names (`string`, `integer?`, `string[]`), a Python type, or a nested `{name, params}`. */
function fieldType(type: unknown, path: (string | number)[], issues: AnswerModelIssue[]): { schema: JsonSchema; optional: boolean } | undefined {
  if (isPlainObject(type) && isPlainObject(type.params)) {
    return { schema: fieldMapSchema(type.params, issues, [...path, 'params']), optional: false };
  }
  if (typeof type !== 'string') {
    issues.push({ path, message: `field type must be one of ${FIELD_TYPES.join(', ')}, a Python type such as List[str], or {name, params}` });
    return undefined;
  }
  let text = type.trim();
  const optional = text.endsWith('?');
  if (optional) text = text.slice(0, -1).trim();
  if ((FIELD_TYPES as readonly string[]).includes(text)) return { schema: fieldTypeSchema(text as FieldType), optional };
  try {
    const parsed = parsePythonType(text);
    return { schema: parsed.schema, optional: optional || parsed.optional };
  } catch {
    issues.push({ path, message: `unknown field type "${type}" (use ${FIELD_TYPES.join(', ')}, with ? for optional, or a Python type such as str, int, List[str])` });
    return undefined;
  }
}

function fieldTypeSchema(type: FieldType): JsonSchema {
  switch (type) {
    case 'string[]':
      return { type: 'array', items: { type: 'string' } };
    case 'number[]':
      return { type: 'array', items: { type: 'number' } };
    default:
      return { type };
  }
}

/** Returns a problem if zod or ajv cannot read the schema. */
function checkSchema(schema: JsonSchema): string | undefined {
  try {
    z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (err) {
    return `answer_model is not a JSON Schema zod can read: ${(err as Error).message}`;
  }
  try {
    compileJsonSchema(schema);
  } catch (err) {
    return `answer_model is not a valid JSON Schema: ${(err as Error).message}`;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
