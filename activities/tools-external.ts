/**
 * Tool sources declared in YAML (Node): NOMOS `tools.external_tools` (alias `ext`) and `tools.mcp_servers`.
 *
 * - `@api/<url template>` → one HTTP tool named `name` (see `./tools-http.ts`); with `map`, one tool per map key,
 *   each `"<METHOD> <path>"` relative to the tag's URL.
 * - `@mcp/<http(s) url>` with `name` → the MCP server's tools over streamable HTTP, named `<name>__<tool>`.
 * - `tools.mcp_servers[]` → MCP servers over stdio (`command`) or streamable HTTP (`url`), same naming.
 * - NOMOS `tools.servers[]` (`name`, `url`, `path`, `transport`, `use`, `exclude`) → MCP servers over streamable
 *   HTTP (SSE when `transport` says `sse`).
 * - `@pkg`, `@crewai`, `@langchain` (Python-only sources) → a warning when a tool module already provides a tool of
 *   that `name` (its TypeScript port), otherwise a config error naming the tool and the way forward.
 *
 * A step may list a source's group name (an MCP server name, or an `@api` `name` with `map`) to get all of its tools;
 * NOMOS's `@mcp/<server>` and `@mcp/<server>/<tool>` step entries work too.
 */
import { resolve } from 'node:path';
import { parseDuration } from '../src/config/normalize.js';
import type { RawAgent, RawExternalTool } from '../src/config/schema.js';
import type { PathIssue } from '../src/config/validate.js';
import type { ToolDefinition } from '../src/tools.js';
import { httpTool, type HttpMethod, type HttpToolSpec } from './tools-http.js';
import { MCP_TOOL_SEPARATOR, McpToolSource, type McpServerConfig } from './tools-mcp.js';

/** Tags NOMOS runs in Python; Stepwise cannot load them. */
export const PYTHON_ONLY_TAGS = ['pkg', 'crewai', 'langchain'] as const;

/** What {@link loadExternalTools} found. */
export interface ExternalTools {
  definitions: ToolDefinition[];
  /** Group name → the tool names it stands for (for `available_tools` expansion). */
  groups: Record<string, string[]>;
  /** Connected MCP servers (close them when the agent is dropped). */
  sources: McpToolSource[];
  issues: PathIssue[];
  /** Remote MCP servers left unchecked (validation only, see {@link ExternalToolOptions.deferUnreachable}). */
  unreachable: string[];
}

/** Options of {@link loadExternalTools}. */
export interface ExternalToolOptions {
  /** Tools the agent's tool modules define: a Python-only entry of one of these names is its TypeScript port. */
  moduleToolNames?: ReadonlySet<string>;
  /**
   * Validation only (`stepwise validate`): a remote MCP server (`url`) that cannot be reached is a warning and its
   * name is listed in {@link ExternalTools.unreachable}, instead of an error. Loading for a worker or the API keeps it
   * an error (fail fast: the agent's tools would be missing).
   */
  deferUnreachable?: boolean;
}

/**
 * Resolves `external_tools`/`ext` and `mcp_servers`, connecting to every MCP server to list its tools.
 * Never throws for config problems or unreachable servers: they come back as path issues (errors, or warnings as
 * described in {@link ExternalToolOptions}).
 *
 * @param baseDir directory of the YAML (base of a stdio server's `cwd`).
 */
export async function loadExternalTools(raw: RawAgent, baseDir: string, options: ExternalToolOptions = {}): Promise<ExternalTools> {
  const out: ExternalTools = { definitions: [], groups: {}, sources: [], issues: [], unreachable: [] };
  const tools = raw.tools ?? {};
  if (tools.external_tools && tools.ext) {
    out.issues.push({ path: ['tools', 'ext'], message: 'use either "external_tools" or its alias "ext", not both' });
  }
  const listKey = tools.external_tools ? 'external_tools' : 'ext';
  const servers: [McpServerConfig, (string | number)[]][] = [];
  (tools.external_tools ?? tools.ext ?? []).forEach((entry, i) => {
    const path = ['tools', listKey, i];
    const resolved = resolveExternalTool(entry, path, out.issues, options.moduleToolNames ?? new Set());
    if (resolved?.kind === 'api') {
      out.definitions.push(...resolved.specs.map(httpTool));
      if (resolved.group) out.groups[resolved.group] = resolved.specs.map((s) => s.name);
    } else if (resolved?.kind === 'mcp') servers.push([resolved.server, path]);
  });
  (tools.servers ?? []).forEach((s, i) => {
    // NOMOS `tools.servers`: `url` (+ `path`), `use` (allow-list), `exclude` (deny-list; applied after listing).
    const url = s.path ? `${s.url.replace(/\/+$/, '')}/${s.path.replace(/^\/+/, '')}` : s.url;
    servers.push([
      { name: s.name, url, ...(s.transport ? { transport: s.transport } : {}), ...(s.use ? { tools: s.use } : {}), ...(s.exclude ? { exclude: s.exclude } : {}) },
      ['tools', 'servers', i],
    ]);
  });
  (tools.mcp_servers ?? []).forEach((s, i) => {
    servers.push([{ ...s, ...(s.cwd ? { cwd: resolve(baseDir, s.cwd) } : {}) }, ['tools', 'mcp_servers', i]]);
  });
  const names = new Set<string>();
  for (const [server, path] of servers) {
    if (names.has(server.name)) {
      out.issues.push({ path: [...path, 'name'], message: `duplicate MCP server name "${server.name}"` });
      continue;
    }
    names.add(server.name);
    try {
      const source = await McpToolSource.connect(server);
      out.sources.push(source);
      const defs = source.definitions();
      out.definitions.push(...defs);
      out.groups[server.name] = defs.map((d) => d.name);
    } catch (err) {
      if (options.deferUnreachable && server.url !== undefined) {
        out.unreachable.push(server.name);
        out.issues.push({
          path,
          severity: 'warning',
          message: `${(err as Error).message}; its tools were not checked (a worker or the API refuses to load the agent until the server answers)`,
        });
      } else out.issues.push({ path, message: (err as Error).message });
    }
  }
  return out;
}

type Resolved = { kind: 'api'; specs: HttpToolSpec[]; group?: string } | { kind: 'mcp'; server: McpServerConfig };

function resolveExternalTool(
  entry: RawExternalTool,
  path: (string | number)[],
  issues: PathIssue[],
  moduleToolNames: ReadonlySet<string>,
): Resolved | undefined {
  const slash = entry.tag.indexOf('/');
  const type = entry.tag.slice(1, slash);
  const target = entry.tag.slice(slash + 1);
  const label = entry.name ?? entry.tag;
  if ((PYTHON_ONLY_TAGS as readonly string[]).includes(type)) {
    if (entry.name !== undefined && moduleToolNames.has(entry.name)) {
      issues.push({
        path: [...path, 'tag'],
        severity: 'warning',
        message: `external tool ${entry.name} (${entry.tag}) is a Python ${type} tool: the tool module's TypeScript ${entry.name} is used instead`,
      });
      return undefined;
    }
    issues.push({
      path: [...path, 'tag'],
      message:
        `external tool ${label} (${entry.tag}) is a Python ${type} tool, which NOMOS loads in Python; Stepwise runs ` +
        'TypeScript tools: write it as a tool module listed under `tools.tool_files` (export const tools = [...]), ' +
        'or serve it from an MCP server (`tools.mcp_servers` or `@mcp/<url>`)',
    });
    return undefined;
  }
  if (type === 'mcp') {
    if (!entry.name) {
      issues.push({ path, message: `MCP external tool ${entry.tag} needs \`name\` (as in NOMOS): its tools are named <name>__<tool>` });
      return undefined;
    }
    if (!/^https?:\/\//.test(target)) {
      issues.push({
        path: [...path, 'tag'],
        message: `MCP external tool ${entry.name}: expected \`@mcp/<http(s) URL>\`; declare stdio servers under \`tools.mcp_servers\` with \`command\` and \`args\``,
      });
      return undefined;
    }
    if (!/^[A-Za-z0-9_-]+$/.test(entry.name)) {
      issues.push({ path: [...path, 'name'], message: 'an MCP server name may use letters, digits, `_` and `-` only' });
      return undefined;
    }
    return { kind: 'mcp', server: { name: entry.name, url: target, ...(entry.headers ? { headers: entry.headers } : {}) } };
  }
  if (type !== 'api') {
    issues.push({ path: [...path, 'tag'], message: `unknown external tool type "@${type}" (supported: @api, @mcp; Python-only: @pkg, @crewai, @langchain)` });
    return undefined;
  }
  return resolveApiTool(entry, target, path, issues);
}

function resolveApiTool(entry: RawExternalTool, tagTarget: string, path: (string | number)[], issues: PathIssue[]): Resolved | undefined {
  // NOMOS also writes the method into the tag: `@api/GET/https://host/planets/{id}`.
  const tagged = /^(GET|POST|PUT|PATCH|DELETE)\/(https?:\/\/.*)$/i.exec(tagTarget);
  const target = tagged ? tagged[2]! : tagTarget;
  if (!/^https?:\/\//.test(target)) {
    issues.push({ path: [...path, 'tag'], message: `API tool ${entry.name ?? entry.tag}: expected \`@api/<http(s) URL>\`` });
    return undefined;
  }
  const { method: kwMethod, ...query } = entry.kwargs ?? {};
  const method = (entry.method ?? tagged?.[1]?.toUpperCase() ?? (typeof kwMethod === 'string' ? kwMethod.toUpperCase() : 'GET')) as HttpMethod;
  if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
    issues.push({ path: [...path, 'kwargs', 'method'], message: `unsupported HTTP method "${String(kwMethod)}"` });
    return undefined;
  }
  let timeoutMs: number | undefined;
  if (entry.timeout !== undefined) {
    timeoutMs = typeof entry.timeout === 'number' ? entry.timeout : parseDuration(entry.timeout);
    if (timeoutMs === undefined) {
      issues.push({ path: [...path, 'timeout'], message: `invalid duration "${entry.timeout}"` });
      return undefined;
    }
  }
  const common = {
    ...(entry.headers ? { headers: entry.headers } : {}),
    ...(Object.keys(query).length ? { query } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
  if (!entry.map) {
    if (!entry.name) {
      issues.push({ path, message: `API tool ${entry.tag} needs \`name\` (or \`map\` of tool name → endpoint), as in NOMOS` });
      return undefined;
    }
    const spec: HttpToolSpec = {
      name: entry.name,
      description: entry.description ?? `${method} ${target}`,
      method,
      url: target,
      ...common,
      ...(entry.body !== undefined ? { body: entry.body } : {}),
      ...(entry.parameters ? { parameters: entry.parameters } : {}),
    };
    return { kind: 'api', specs: [spec] };
  }
  const specs: HttpToolSpec[] = [];
  for (const [toolName, endpoint] of Object.entries(entry.map)) {
    // `"GET /orders/{id}"`, or NOMOS's `"/GET/orders/{id}"`; a bare path uses the entry's method.
    const m = /^\/?(?:(GET|POST|PUT|PATCH|DELETE)(?:\s+|\/))?(.*)$/i.exec(endpoint.trim())!;
    const url = `${target.replace(/\/+$/, '')}/${m[2]!.replace(/^\/+/, '')}`;
    const toolMethod = (m[1]?.toUpperCase() ?? method) as HttpMethod;
    specs.push({ name: toolName, description: `${toolMethod} ${url}`, method: toolMethod, url, ...common });
  }
  return { kind: 'api', specs, ...(entry.name ? { group: entry.name } : {}) };
}

/**
 * A copy of `raw` whose step tool lists have group names (see {@link ExternalTools.groups}) replaced by the tools
 * they stand for. Names that are both a tool and a group stay a tool.
 */
export function expandToolGroups(raw: RawAgent, groups: Record<string, string[]>, toolNames: ReadonlySet<string>): RawAgent {
  const expandOne = (t: string): string[] => {
    if (toolNames.has(t)) return [t];
    // NOMOS names MCP tools in steps as `@mcp/<server>` (all its tools) or `@mcp/<server>/<tool>`.
    const nomos = /^@mcp\/([^/]+)(?:\/(.+))?$/.exec(t);
    if (nomos) return nomos[2] ? [`${nomos[1]}${MCP_TOOL_SEPARATOR}${nomos[2]}`] : (groups[nomos[1]!] ?? [t]);
    return groups[t] ?? [t];
  };
  const expand = (list: string[] | undefined) => list && [...new Set(list.flatMap(expandOne))];
  return {
    ...raw,
    steps: raw.steps.map((s) => ({
      ...s,
      ...(s.available_tools ? { available_tools: expand(s.available_tools) } : {}),
      ...(s.tools ? { tools: expand(s.tools) } : {}),
    })),
  };
}
