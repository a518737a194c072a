/**
 * A step's `answer_model`, normalised to one JSON Schema object (Node: the file form reads the disk).
 *
 * Accepted forms:
 * 1. a JSON Schema object (it has `type` or `properties`), used as written;
 * 2. a field map: `{ name: string, qty: integer?, tags: string[] }` (a trailing `?` marks an optional field), or
 *    `{ name: { type: string, description?: ..., optional?: true } }`; becomes a closed object schema;
 * 3. a path (relative to the YAML) of a `.json` file holding a JSON Schema.
 * The result must be readable by `z.fromJSONSchema` (the engine builds the RESPOND schema with it) and compile in ajv.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { compileJsonSchema } from '../../activities/tools.js';
import type { JsonSchema } from './agent.js';

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
 * @param baseDir directory of the YAML file, for the path form.
 * Never throws: problems come back as issues.
 */
export function normalizeAnswerModel(raw: unknown, baseDir: string): AnswerModelResult {
  let schema: JsonSchema;
  if (typeof raw === 'string') {
    const loaded = readSchemaFile(resolve(baseDir, raw), raw);
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

function readSchemaFile(abs: string, written: string): { schema: JsonSchema } | { message: string } {
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch {
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

/** Builds `{type: 'object', properties, required, additionalProperties: false}` from a field map. */
function fieldMapSchema(fields: Record<string, unknown>, issues: AnswerModelIssue[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    let typeText: unknown = spec;
    let description: unknown;
    let optional = false;
    if (isPlainObject(spec)) {
      const extra = Object.keys(spec).filter((k) => !['type', 'description', 'optional'].includes(k));
      if (extra.length > 0) {
        issues.push({ path: [name, extra[0] as string], at: 'key', message: `unknown key "${extra[0]}" (use type, description, optional)` });
        continue;
      }
      typeText = spec.type;
      description = spec.description;
      if (spec.optional !== undefined && typeof spec.optional !== 'boolean') {
        issues.push({ path: [name, 'optional'], message: '`optional` must be true or false' });
        continue;
      }
      optional = spec.optional === true;
      if (description !== undefined && typeof description !== 'string') {
        issues.push({ path: [name, 'description'], message: '`description` must be a string' });
        continue;
      }
    }
    if (typeof typeText !== 'string') {
      issues.push({ path: isPlainObject(spec) ? [name, 'type'] : [name], message: `field type must be one of ${FIELD_TYPES.join(', ')}` });
      continue;
    }
    if (typeText.endsWith('?')) {
      optional = true;
      typeText = typeText.slice(0, -1).trim();
    }
    if (!(FIELD_TYPES as readonly string[]).includes(typeText as string)) {
      issues.push({
        path: isPlainObject(spec) ? [name, 'type'] : [name],
        message: `unknown field type "${String(typeText)}" (use ${FIELD_TYPES.join(', ')}, with ? for optional)`,
      });
      continue;
    }
    const property = fieldTypeSchema(typeText as FieldType);
    if (typeof description === 'string') property.description = description;
    properties[name] = property;
    if (!optional) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
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
