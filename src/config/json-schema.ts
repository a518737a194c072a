/**
 * JSON Schema compilation (pure: ajv compiles in memory), shared by config validation (`answer_model`, tool
 * parameters) and the tool activities that validate arguments at call time.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { JsonSchema } from './agent.js';

const ajvDraft07 = new Ajv({ allErrors: true, strict: false, useDefaults: true });
const ajv2020 = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });

/**
 * Compiles a JSON Schema object with ajv (draft 2020-12 when `$schema` says so, as `z.toJSONSchema` emits; draft-07
 * otherwise). Compiled validators are cached by ajv per schema object.
 *
 * @throws Error if the schema is not a valid JSON Schema (message from ajv); a config problem, not retryable.
 */
export function compileJsonSchema(schema: JsonSchema): ValidateFunction {
  const draft2020 = typeof schema.$schema === 'string' && schema.$schema.includes('2020-12');
  return (draft2020 ? ajv2020 : ajvDraft07).compile(schema);
}
