/**
 * Locating and checking agent YAML: maps key paths to `file:line:col`, turns zod issues into {@link ConfigIssue}s,
 * and runs the checks zod cannot express (alias conflicts, cross references, reachability).
 *
 * Key paths use the keys as written in the YAML (`steps[2].paths[0].to` when the file uses NOMOS aliases).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import type { RawAgent } from './schema.js';

/** A key path into the YAML document, e.g. `['steps', 2, 'routes', 0, 'target']`. */
export type KeyPath = (string | number)[];

/** A problem located by key path only; {@link YamlLocator.toIssue} adds file, line and column. */
export interface PathIssue {
  path: KeyPath;
  message: string;
  /** Default `error`. */
  severity?: 'error' | 'warning';
  /** Point at the key itself (`key`) or at its value (`value`, the default). */
  at?: 'key' | 'value';
}

/** Formats a key path as `steps[2].routes[0].target` (root: empty string). */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Finds nodes of one parsed YAML document by key path and reports their 1-based line and column. */
export class YamlLocator {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /**
   * Line and column of the node at `path` (its key with `at: 'key'`). When the path does not exist, the position of
   * the deepest existing ancestor: the key naming the map that lacks the key, or the sequence item / document.
   */
  position(path: KeyPath, at: 'key' | 'value' = 'value'): { line: number; column: number } | undefined {
    let node: unknown = this.doc.contents;
    let offset = (node as Node | null)?.range?.[0];
    let lastKeyOffset: number | undefined;
    for (const [index, segment] of path.entries()) {
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: unknown;
      let keyOffset: number | undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair) {
          next = pair.value;
          keyOffset = (pair.key as Node).range?.[0];
        }
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
      }
      if (next === undefined && keyOffset === undefined) {
        // Missing: point at the key naming the map that lacks it (or at the sequence item / document).
        offset = lastKeyOffset ?? offset;
        break;
      }
      lastKeyOffset = keyOffset;
      node = next;
      const valueOffset = (next as Node | null)?.range?.[0];
      const wantKey = index === path.length - 1 && at === 'key' && keyOffset !== undefined;
      offset = wantKey ? keyOffset : (valueOffset ?? keyOffset ?? offset);
    }
    if (offset === undefined) return undefined;
    const pos = this.lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** Whether a node exists at `path`. */
  has(path: KeyPath): boolean {
    return this.doc.hasIn(path);
  }

  /** A located {@link ConfigIssue}. */
  toIssue(issue: PathIssue): ConfigIssue {
    const pos = this.position(issue.path, issue.at);
    return {
      file: this.file,
      ...(pos ? { line: pos.line, column: pos.column } : {}),
      path: formatKeyPath(issue.path),
      message: issue.message,
      severity: issue.severity ?? 'error',
    };
  }
}

type ZodIssue = z.core.$ZodIssue;

/**
 * Flattens zod issues into path issues: one per unknown key (pointing at the key), "missing required key" for absent
 * fields, and, for unions, the issues of the branch that fits best (fewest problems at the union's own level).
 *
 * @param has whether the YAML has a node at a path (to tell "missing" from "wrong").
 */
export function zodPathIssues(
  issues: readonly ZodIssue[],
  has: (path: KeyPath) => boolean,
  prefix: KeyPath = [],
  suggest?: (path: KeyPath, key: string) => string | undefined,
): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as KeyPath)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = suggest?.(path, key);
        out.push({ path: [...path, key], message: `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`, at: 'key' });
      }
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      out.push(...unionIssues(issue, path, has, suggest));
    } else if (issue.code === 'invalid_type' && !has(path) && path.length > 0) {
      out.push({ path, message: `missing required key "${String(path[path.length - 1])}"`, at: 'key' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function unionIssues(
  issue: z.core.$ZodIssueInvalidUnion,
  path: KeyPath,
  has: (p: KeyPath) => boolean,
  suggest?: (path: KeyPath, key: string) => string | undefined,
): PathIssue[] {
  const score = (branch: readonly ZodIssue[]) =>
    branch.reduce((sum, i) => sum + (i.path.length === 0 ? 10 : 1), 0);
  const rootTypeErrors = issue.errors.map((b) => b.find((i) => i.path.length === 0 && i.code === 'invalid_type'));
  if (rootTypeErrors.every(Boolean)) {
    if (!has(path)) return [{ path, message: `missing required key "${String(path[path.length - 1])}"`, at: 'key' }];
    const expected = [...new Set(rootTypeErrors.map((i) => (i as z.core.$ZodIssueInvalidType).expected))];
    const names = expected.map((e) => (e === 'record' ? 'object' : e));
    return [{ path, message: `invalid value: expected ${names.join(' or ')}` }];
  }
  let best = issue.errors[0] as readonly ZodIssue[];
  for (const branch of issue.errors) if (score(branch) < score(best)) best = branch;
  return zodPathIssues(best, has, path, suggest);
}

const STEP_ALIASES: [string, string][] = [
  ['step_id', 'id'],
  ['description', 'desc'],
  ['routes', 'paths'],
  ['available_tools', 'tools'],
  ['examples', 'eg'],
];
const ROUTE_ALIASES: [string, string][] = [
  ['target', 'to'],
  ['condition', 'when'],
];
/** NOMOS `ToolsConfig` aliases. */
export const TOOLS_ALIASES: [string, string][] = [
  ['tool_files', 'files'],
  ['external_tools', 'ext'],
  ['tool_defs', 'defs'],
];
const FLOW_ALIASES: [string, string][] = [
  ['flow_id', 'id'],
  ['description', 'desc'],
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function conflicts(obj: unknown, pairs: [string, string][], path: KeyPath, out: PathIssue[]): void {
  if (!isObject(obj)) return;
  for (const [name, alias] of pairs) {
    if (name in obj && alias in obj) {
      out.push({ path: [...path, alias], at: 'key', message: `both "${name}" and its alias "${alias}" are given; keep one` });
    }
  }
}

/**
 * Alias checks on the plain parsed document (run whether or not the schema accepted it): a field and its alias both
 * given, and a step, route or flow without its id/target under either name.
 */
export function aliasIssues(doc: unknown): PathIssue[] {
  const out: PathIssue[] = [];
  if (!isObject(doc)) return out;
  const steps = Array.isArray(doc.steps) ? doc.steps : [];
  steps.forEach((step, i) => {
    conflicts(step, STEP_ALIASES, ['steps', i], out);
    if (!isObject(step)) return;
    if (!('step_id' in step) && !('id' in step)) out.push({ path: ['steps', i], message: 'a step needs "step_id" (or "id")' });
    for (const key of ['routes', 'paths']) {
      const routes = step[key];
      if (!Array.isArray(routes)) continue;
      routes.forEach((route, j) => {
        conflicts(route, ROUTE_ALIASES, ['steps', i, key, j], out);
        if (isObject(route) && !('target' in route) && !('to' in route)) {
          out.push({ path: ['steps', i, key, j], message: 'a route needs "target" (or "to")' });
        }
      });
    }
  });
  const flows = Array.isArray(doc.flows) ? doc.flows : [];
  flows.forEach((flow, i) => {
    conflicts(flow, FLOW_ALIASES, ['flows', i], out);
    if (isObject(flow) && !('flow_id' in flow) && !('id' in flow)) {
      out.push({ path: ['flows', i], message: 'a flow needs "flow_id" (or "id")' });
    }
  });
  conflicts(doc.tools, TOOLS_ALIASES, ['tools'], out);
  const defsKey = isObject(doc.tools) ? keyOf(doc.tools, 'tool_defs', 'defs') : 'tool_defs';
  const toolDefs = isObject(doc.tools) && isObject(doc.tools[defsKey]) ? doc.tools[defsKey] : {};
  for (const [name, def] of Object.entries(toolDefs)) {
    conflicts(def, [['description', 'desc']], ['tools', defsKey, name], out);
    const args = isObject(def) && Array.isArray(def.args) ? def.args : [];
    args.forEach((arg, k) => conflicts(arg, [['description', 'desc']], ['tools', defsKey, name, 'args', k], out));
  }
  return out;
}

/** Key used for an aliased field in a raw object (the canonical name unless only the alias is present). */
export function keyOf(obj: object, name: string, alias: string): string {
  return name in obj ? name : alias in obj ? alias : name;
}

/** What the cross-reference checks need besides the document. */
export interface CrossRefContext {
  /** Names of loaded tools; `undefined` skips tool checks (a tool module failed to load). */
  toolNames?: ReadonlySet<string>;
  /** Names in the llm map (`global` for a single config). */
  llmNames: ReadonlySet<string>;
  /**
   * MCP servers whose tools were not listed (unreachable while only validating): a step tool naming one — `<server>`,
   * `<server>__<tool>`, or NOMOS's `@mcp/<server>[/<tool>]` — is not required among the loaded tools.
   */
  deferredServers?: ReadonlySet<string>;
}

/** Where README explains tools NOMOS received as Python objects (`Agent.from_config(..., tools=[...])`). */
export const TOOL_MODULE_HELP = 'README.md#moving-from-nomos';

/**
 * The one message of an unknown tool, at its first reference: what to do (NOMOS agents often received tools as Python
 * objects, which a YAML file cannot name), the loaded tools, and how many other references there are.
 */
function unknownToolMessage(tool: string, otherReferences: number, loaded: ReadonlySet<string>): string {
  const known = [...loaded].join(', ') || 'none';
  const others = otherReferences === 0 ? '' : `; referenced ${otherReferences} more time${otherReferences === 1 ? '' : 's'}`;
  return (
    `unknown tool "${tool}" (loaded tools: ${known}${others}). If NOMOS received it as a Python object ` +
    `(Agent.from_config(..., tools=[...])), write a TypeScript module exporting a tool named "${tool}" and list it ` +
    `under tools.files (see ${TOOL_MODULE_HELP})`
  );
}

/**
 * Checks references between parts of a schema-valid document: start step, duplicate step/flow ids, route targets,
 * step tools (one issue per unknown tool, at its first reference, counting the others), flow enters/exits, named
 * llms, `tool_defs` names (errors); steps no route path reaches from the start step (warnings).
 */
export function crossReferenceIssues(raw: RawAgent, ctx: CrossRefContext): PathIssue[] {
  const out: PathIssue[] = [];
  /** Unknown tools and the paths of their references, in config order (one issue per tool, at its first use). */
  const missingTools = new Map<string, KeyPath[]>();
  const stepIds = new Map<string, number>();
  raw.steps.forEach((step, i) => {
    const key = keyOf(step, 'step_id', 'id');
    const id = (step.step_id ?? step.id) as string;
    if (stepIds.has(id)) {
      out.push({ path: ['steps', i, key], message: `duplicate step id "${id}" (also steps[${stepIds.get(id)}])` });
    } else stepIds.set(id, i);
  });
  if (!stepIds.has(raw.start_step_id)) {
    out.push({ path: ['start_step_id'], message: `start step "${raw.start_step_id}" is not a step (steps: ${[...stepIds.keys()].join(', ')})` });
  }
  raw.steps.forEach((step, i) => {
    const routesKey = keyOf(step, 'routes', 'paths');
    (step.routes ?? step.paths ?? []).forEach((route, j) => {
      const target = route.target ?? route.to;
      if (target !== undefined && !stepIds.has(target)) {
        out.push({ path: ['steps', i, routesKey, j, keyOf(route, 'target', 'to')], message: `route target "${target}" is not a step` });
      }
    });
    const toolsKey = keyOf(step, 'available_tools', 'tools');
    if (ctx.toolNames) {
      (step.available_tools ?? step.tools ?? []).forEach((tool, k) => {
        const server = /^@mcp\/([^/]+)(?:\/[^/]+)?$/.exec(tool)?.[1] ?? tool.split('__')[0]!;
        if (ctx.deferredServers?.has(server)) return;
        if (!ctx.toolNames?.has(tool)) missingTools.set(tool, [...(missingTools.get(tool) ?? []), ['steps', i, toolsKey, k]]);
      });
    }
    const llm = step.overrides?.llm;
    if (llm !== undefined && !ctx.llmNames.has(llm)) {
      out.push({ path: ['steps', i, 'overrides', 'llm'], message: `unknown llm "${llm}" (llm names: ${[...ctx.llmNames].join(', ')})` });
    }
  });
  for (const [tool, [first, ...others]] of missingTools) out.push({ path: first!, message: unknownToolMessage(tool, others.length, ctx.toolNames!) });
  const flowIds = new Map<string, number>();
  (raw.flows ?? []).forEach((flow, i) => {
    const id = (flow.flow_id ?? flow.id) as string;
    if (flowIds.has(id)) {
      out.push({ path: ['flows', i, keyOf(flow, 'flow_id', 'id')], message: `duplicate flow id "${id}" (also flows[${flowIds.get(id)}])` });
    } else flowIds.set(id, i);
    for (const key of ['enters', 'exits'] as const) {
      flow[key].forEach((stepId, k) => {
        if (!stepIds.has(stepId)) out.push({ path: ['flows', i, key, k], message: `flow "${id}" ${key} unknown step "${stepId}"` });
      });
    }
    const llm = flow.components?.memory?.llm;
    if (typeof llm === 'string' && !ctx.llmNames.has(llm)) {
      out.push({ path: ['flows', i, 'components', 'memory', 'llm'], message: `unknown llm "${llm}" (llm names: ${[...ctx.llmNames].join(', ')})` });
    }
  });
  if (ctx.toolNames && raw.tools) {
    const defsKey = keyOf(raw.tools, 'tool_defs', 'defs');
    for (const name of Object.keys(raw.tools.tool_defs ?? raw.tools.defs ?? {})) {
      if (!ctx.toolNames.has(name)) {
        out.push({ path: ['tools', defsKey, name], at: 'key', message: `${defsKey} names unknown tool "${name}"` });
      }
    }
  }
  if (stepIds.has(raw.start_step_id)) out.push(...unreachableSteps(raw, stepIds));
  out.push(...autoFlowIssues(raw));
  return out;
}

/**
 * NOMOS's step rules (`Step.model_post_init`, nomos/models/agent.py): an `auto_flow` step never answers the user, so it
 * needs a route or a tool to act with, and cannot offer `quick_suggestions`.
 */
function autoFlowIssues(raw: RawAgent): PathIssue[] {
  const out: PathIssue[] = [];
  raw.steps.forEach((step, i) => {
    if (!step.auto_flow) return;
    const id = step.step_id ?? step.id;
    if ((step.routes ?? step.paths ?? []).length === 0 && (step.available_tools ?? step.tools ?? []).length === 0) {
      out.push({ path: ['steps', i, 'auto_flow'], message: `auto_flow step "${id}" needs at least one route or tool` });
    }
    const quick = step.quick_suggestions;
    if (quick === true || (Array.isArray(quick) && quick.length > 0)) {
      out.push({ path: ['steps', i, 'quick_suggestions'], message: `auto_flow step "${id}" cannot have quick_suggestions` });
    }
  });
  return out;
}

function unreachableSteps(raw: RawAgent, stepIds: Map<string, number>): PathIssue[] {
  const reached = new Set<string>([raw.start_step_id]);
  const queue = [raw.start_step_id];
  while (queue.length > 0) {
    const step = raw.steps[stepIds.get(queue.shift() as string) as number];
    for (const route of step?.routes ?? step?.paths ?? []) {
      const target = route.target ?? route.to;
      if (target !== undefined && stepIds.has(target) && !reached.has(target)) {
        reached.add(target);
        queue.push(target);
      }
    }
  }
  const out: PathIssue[] = [];
  raw.steps.forEach((step, i) => {
    const id = (step.step_id ?? step.id) as string;
    if (!reached.has(id) && stepIds.get(id) === i) {
      out.push({
        path: ['steps', i, keyOf(step, 'step_id', 'id')],
        severity: 'warning',
        message: `step "${id}" is unreachable: no route leads to it from start step "${raw.start_step_id}"`,
      });
    }
  });
  return out;
}
