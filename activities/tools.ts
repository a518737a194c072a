/**
 * Tool execution (Node): the registry the `runTool` activity uses, and the import of tool modules.
 *
 * Arguments are validated before `execute` runs (zod `safeParse` for zod schemas, ajv for JSON Schema objects);
 * invalid arguments, a throwing tool and a non-JSON result all become `{ ok: false, error }` results the model sees.
 * Only an unknown tool name fails the activity (non-retryable `TOOL_NOT_FOUND`: this worker lacks the tool).
 */
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { JsonSchema, ToolDescriptor } from '../src/config/agent.js';
import type { ToolCallRequest, ToolCallResult } from '../src/engine/types.js';
import { compileJsonSchema } from '../src/config/json-schema.js';
import { toolIdempotencyKey, type ToolContext, type ToolDefinition } from '../src/tools.js';

/** True for a zod schema (zod v4 instances carry `_zod`). */
function isZodSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value && typeof (value as z.ZodType).safeParse === 'function';
}

/**
 * The JSON Schema of a tool's arguments as the model sees it: `z.toJSONSchema` of a zod schema (unrepresentable parts
 * become `{}`), or a copy of a plain JSON Schema object; `$schema` removed.
 *
 * @throws Error if `parameters` is neither a zod schema nor an object.
 */
export function toolParametersJsonSchema(parameters: unknown): JsonSchema {
  let schema: JsonSchema;
  if (isZodSchema(parameters)) {
    schema = z.toJSONSchema(parameters, { unrepresentable: 'any', io: 'input' }) as JsonSchema;
  } else if (typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters)) {
    schema = structuredClone(parameters) as JsonSchema;
  } else {
    throw new Error('`parameters` must be a zod schema or a JSON Schema object');
  }
  delete schema.$schema;
  return schema;
}

/**
 * Checks the shape of one exported tool (name, description, parameters, execute) and that its JSON Schema compiles.
 * @returns a readable problem, or undefined when the tool is usable.
 */
export function checkToolDefinition(tool: unknown): string | undefined {
  if (typeof tool !== 'object' || tool === null) return 'a tool must be an object';
  const t = tool as Partial<ToolDefinition>;
  if (typeof t.name !== 'string' || t.name.length === 0) return 'a tool needs a non-empty string `name`';
  if (typeof t.description !== 'string') return `tool ${t.name}: \`description\` must be a string`;
  if (typeof t.execute !== 'function') return `tool ${t.name}: \`execute\` must be a function`;
  try {
    if (!isZodSchema(t.parameters)) compileJsonSchema(toolParametersJsonSchema(t.parameters));
    else toolParametersJsonSchema(t.parameters);
  } catch (err) {
    return `tool ${t.name}: invalid \`parameters\`: ${(err as Error).message}`;
  }
  return undefined;
}

let hooksRegistered = false;

/**
 * Registers `./tool-module-hooks.mjs` once per process: `.ts` tool modules in a folder without a `package.json` load as
 * ES modules, and their bare imports (`zod`) fall back to Stepwise's own `node_modules`.
 */
function registerToolModuleHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  register(new URL('./tool-module-hooks.mjs', import.meta.url));
}

/**
 * Imports a tool module (`.ts` works because the process runs under tsx) and returns its `tools` export.
 *
 * @param absPath absolute path of a `.ts`, `.js` or `.mjs` file.
 * @throws Error (config problem, not retryable) if the import fails or `tools` is missing, not an array, or holds an
 *   invalid tool; the message says which.
 */
export async function importToolModule(absPath: string): Promise<ToolDefinition[]> {
  registerToolModuleHooks();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(absPath).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot import tool module: ${(err as Error).message}`);
  }
  const tools = mod.tools;
  if (tools === undefined) throw new Error('tool module has no `tools` export (expected `export const tools = [...]`)');
  if (!Array.isArray(tools)) throw new Error('the `tools` export must be an array of tool definitions');
  for (const [i, tool] of tools.entries()) {
    const problem = checkToolDefinition(tool);
    if (problem) throw new Error(`tools[${i}]: ${problem}`);
  }
  return tools as ToolDefinition[];
}

interface RegisteredTool {
  definition: ToolDefinition;
  descriptor: ToolDescriptor;
  validate(args: unknown): { ok: true; value: unknown } | { ok: false; error: string };
}

/**
 * The tools one agent may call, by name.
 *
 * @param definitions tool definitions (names must be unique).
 * @param options.descriptors descriptors to show instead of the definitions' own (same names), e.g. with `tool_defs`
 *   applied; a tool with a JSON Schema (not zod) `parameters` validates its calls against its descriptor's.
 * @param options.defaults argument defaults by tool name (NOMOS `tool_defs` `default`): filled in, before validation,
 *   for arguments the call leaves out.
 * @throws Error on duplicate names or a tool whose parameters do not compile (see {@link checkToolDefinition}).
 */
export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();
  private readonly defaults: Record<string, Record<string, unknown>>;
  private readonly sources: { close(): Promise<void> }[];

  /**
   * `options.defaults`: argument defaults by tool (NOMOS `tool_defs` `default`), filled in when a call leaves them out;
   * `options.sources`: connections the tools use (MCP servers), closed by {@link close}.
   */
  constructor(
    definitions: ToolDefinition[],
    options: {
      descriptors?: ToolDescriptor[];
      defaults?: Record<string, Record<string, unknown>>;
      sources?: { close(): Promise<void> }[];
    } = {},
  ) {
    this.defaults = options.defaults ?? {};
    this.sources = options.sources ?? [];
    for (const definition of definitions) {
      const problem = checkToolDefinition(definition);
      if (problem) throw new Error(problem);
      if (this.tools.has(definition.name)) throw new Error(`duplicate tool name ${definition.name}`);
      const parameters = toolParametersJsonSchema(definition.parameters);
      const descriptor = options.descriptors?.find((d) => d.name === definition.name) ?? {
        name: definition.name,
        description: definition.description,
        parameters,
      };
      // A JSON Schema tool is checked against its descriptor: the schema the model sees, refined by `tool_defs` (e.g. an
      // `@api` placeholder, a string by default, typed `int` there). A zod schema stays the check: it may transform.
      const schema = isZodSchema(definition.parameters) ? definition.parameters : descriptor.parameters;
      this.tools.set(definition.name, { definition, descriptor, validate: argumentValidator(schema) });
    }
  }

  /** Descriptors of every tool, in registration order. */
  descriptors(): ToolDescriptor[] {
    return [...this.tools.values()].map((t) => t.descriptor);
  }

  /** Closes the tools' connections (stops stdio MCP servers). Never throws. */
  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close().catch(() => undefined)));
  }

  /** Whether a tool of this name is registered. */
  has(name: string): boolean {
    return this.tools.has(name);
  }

  /**
   * Runs one tool call: validates the arguments, then `execute(args, context)`.
   *
   * @returns `{ ok: true, result }` (result JSON-round-tripped; `undefined` becomes `null`), or `{ ok: false, error }`
   *   for invalid arguments (execute not called), anything `execute` throws, or a result that is not JSON.
   * @throws ApplicationFailure non-retryable, type `TOOL_NOT_FOUND`, if the tool is not registered.
   * @throws the abort reason if `signal` is aborted when `execute` fails (cancellation/timeout, for Temporal to handle).
   */
  async run(request: ToolCallRequest, signal: AbortSignal): Promise<ToolCallResult> {
    const tool = this.tools.get(request.tool);
    const base = { callId: request.callId, tool: request.tool };
    if (!tool) {
      throw ApplicationFailure.nonRetryable(
        `tool ${request.tool} is not available on this worker (known: ${[...this.tools.keys()].join(', ') || 'none'})`,
        'TOOL_NOT_FOUND',
      );
    }
    const defaults = this.defaults[request.tool];
    const given = request.arguments;
    const withDefaults =
      defaults && typeof given === 'object' && given !== null && !Array.isArray(given)
        ? { ...structuredClone(defaults), ...(given as Record<string, unknown>) }
        : given;
    const args = tool.validate(withDefaults);
    if (!args.ok) return { ...base, ok: false, error: `invalid arguments for ${request.tool}: ${args.error}`, invalidArguments: true };
    const context: ToolContext = {
      sessionId: request.sessionId,
      stepId: request.stepId,
      agentName: request.agentName,
      callId: request.callId,
      idempotencyKey: toolIdempotencyKey(request.sessionId, request.callId),
      signal,
    };
    let raw: unknown;
    try {
      raw = await tool.definition.execute(args.value, context);
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      return { ...base, ok: false, error: `tool ${request.tool} failed: ${errorMessage(err)}` };
    }
    const json = toJson(raw);
    if (!json.ok) return { ...base, ok: false, error: `tool ${request.tool} returned a non-JSON result: ${json.error}` };
    return { ...base, ok: true, result: json.value };
  }
}

function argumentValidator(parameters: unknown): RegisteredTool['validate'] {
  if (isZodSchema(parameters)) {
    return (args) => {
      const parsed = parameters.safeParse(args);
      if (parsed.success) return { ok: true, value: parsed.data };
      const text = parsed.error.issues
        .slice(0, 6)
        .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
        .join('; ');
      return { ok: false, error: text };
    };
  }
  const validate = compileJsonSchema(toolParametersJsonSchema(parameters));
  return (args) => {
    const copy = structuredClone(args);
    if (validate(copy)) return { ok: true, value: copy };
    const text = (validate.errors ?? [])
      .slice(0, 6)
      .map((e) => `${e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(root)'}: ${e.message ?? 'invalid'}`)
      .join('; ');
    return { ok: false, error: text || 'invalid arguments' };
  };
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * Checks that a value survives JSON without silent loss (Map/Set become `{}`, bigint/circular throw, functions and
 * symbols vanish, NaN becomes null) and returns its JSON round-trip.
 */
function toJson(value: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (value === undefined) return { ok: true, value: null };
  const stack: unknown[] = [];
  const check = (v: unknown, where: string): string | undefined => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean' || v === undefined) return undefined;
    if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${where} is ${v}`;
    if (typeof v !== 'object') return `${where} is a ${typeof v}`;
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return undefined;
    if (v instanceof Map || v instanceof Set) return `${where} is a ${v instanceof Map ? 'Map' : 'Set'}`;
    if (stack.includes(v)) return `${where} is circular`;
    stack.push(v);
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    for (const [k, x] of entries) {
      const problem = check(x, `${where}.${k}`);
      if (problem) return problem;
    }
    stack.pop();
    return undefined;
  };
  const problem = check(value, 'result');
  if (problem) return { ok: false, error: problem };
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(value)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
