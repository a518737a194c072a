/** NOMOS `tool_defs` applied to the loaded tools' descriptors (descriptions, argument types and defaults). */
import type { ToolDescriptor } from './agent.js';
import { canonicalTools } from './nomos.js';
import { parsePythonType } from './python-type.js';
import type { RawAgent } from './schema.js';
import type { KeyPath, PathIssue } from './validate.js';

/** Default values `tool_defs` gives to tool arguments, by tool name (only tools with at least one). */
export type ToolArgDefaults = Record<string, Record<string, unknown>>;

/**
 * Applies NOMOS `tool_defs` (or its alias `defs`) to descriptors: the tool description, and per argument its
 * description, its `type` (a Python type expression, see `./python-type.ts`; `Optional[...]` makes the argument not
 * required) and its `default` (shown in the schema, and filled in when the model leaves the argument out).
 *
 * An argument the tool's schema does not declare is an error, unless the schema declares no properties at all (an
 * open tool such as an HTTP endpoint): then `tool_defs` defines it.
 */
export function applyToolDefs(descriptors: ToolDescriptor[], tools: NonNullable<RawAgent['tools']> | undefined): {
  descriptors: ToolDescriptor[];
  defaults: ToolArgDefaults;
  issues: PathIssue[];
} {
  const issues: PathIssue[] = [];
  const defaults: ToolArgDefaults = {};
  const { toolDefs, toolDefsKey } = canonicalTools(tools);
  const out = descriptors.map((d) => {
    const def = toolDefs?.[d.name];
    if (!def) return d;
    const parameters = structuredClone(d.parameters);
    const open = parameters.properties === undefined || Object.keys(parameters.properties as object).length === 0;
    const properties = (parameters.properties ?? {}) as Record<string, Record<string, unknown>>;
    let required = Array.isArray(parameters.required) ? [...(parameters.required as string[])] : undefined;
    (def.args ?? []).forEach((arg, k) => {
      const argPath: KeyPath = ['tools', toolDefsKey, d.name, 'args', k];
      let prop = properties[arg.key];
      if (!prop && !open) {
        issues.push({ path: [...argPath, 'key'], message: `tool ${d.name} has no argument "${arg.key}"` });
        return;
      }
      prop ??= properties[arg.key] = {};
      if (arg.type !== undefined) {
        try {
          const parsed = parsePythonType(arg.type);
          for (const key of ['type', 'enum', 'items', 'anyOf', 'additionalProperties']) delete prop[key];
          Object.assign(prop, parsed.schema);
          if (parsed.optional) required = (required ?? []).filter((r) => r !== arg.key);
          else if (open && arg.default === undefined) required = [...new Set([...(required ?? []), arg.key])];
        } catch (err) {
          issues.push({ path: [...argPath, 'type'], message: (err as Error).message });
        }
      }
      const text = arg.description ?? arg.desc;
      if (text !== undefined) prop.description = text;
      if (arg.default !== undefined) {
        prop.default = arg.default;
        (defaults[d.name] ??= {})[arg.key] = arg.default;
        required = required?.filter((r) => r !== arg.key);
      }
    });
    if (open) {
      parameters.type ??= 'object';
      parameters.properties = properties;
    }
    if (required !== undefined) parameters.required = required;
    const description = def.description ?? def.desc ?? d.description;
    return { name: d.name, description, parameters };
  });
  return { descriptors: out, defaults, issues };
}
