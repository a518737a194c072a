/** Zod schema of the agent YAML: durations and the `tools` section (tool files, tool defs, external HTTP/MCP tools). */
import { z } from 'zod';

/** Duration: milliseconds as a number, or a string such as `30m`, `24h`, `2 days` (parsed with `ms`). */
export const RawDuration = z.union([z.number().int().positive(), z.string().min(1)]);

/**
 * NOMOS `tool_defs` entry: description and per-argument overrides. `type` is a Python type expression as NOMOS
 * writes it (`int`, `Optional[str]`, `List[str]`, `Literal["a", "b"]`) and becomes the argument's JSON Schema;
 * `default` fills the argument when the model leaves it out. Stepwise adds approval (`requires_approval: true`, or
 * `approval: {timeout, on_timeout}`; see docs/approvals.md).
 */
export const RawToolDef = z.strictObject({
  requires_approval: z.boolean().optional(),
  approval: z
    .strictObject({
      /** How long a call waits for a decision, or `never`; default `session.approval_timeout` (24 h). */
      timeout: RawDuration.optional(),
      /** What an expired wait decides (default `deny`). */
      on_timeout: z.enum(['deny', 'allow']).optional(),
    })
    .optional(),
  description: z.string().optional(),
  desc: z.string().optional(),
  args: z
    .array(
      z.strictObject({
        key: z.string(),
        desc: z.string().optional(),
        description: z.string().optional(),
        type: z.string().optional(),
        default: z.unknown().optional(),
      }),
    )
    .optional(),
});

/** A tool-source name: used as a prefix of its tool names (`<name>__<tool>`) and as a group name in `tools:`. */
const SourceName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, `_` and `-` only');

/**
 * NOMOS `external_tools` entry (`tag`, `name`, `kwargs`, `map`), plus Stepwise's HTTP fields for `@api` tools.
 * Tags: `@api/<url template>` (HTTP call), `@mcp/<url>` (MCP server over streamable HTTP); `@pkg`, `@crewai` and
 * `@langchain` are Python-only and refused with a config error. See docs/providers-and-tools.md "External tools (HTTP and MCP)".
 */
export const RawExternalTool = z.strictObject({
  tag: z.string().regex(/^@[A-Za-z0-9_-]+\/.+/, 'a tag looks like `@api/<url>` or `@mcp/<url>`'),
  name: z.string().min(1).optional(),
  kwargs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** `@api` with several endpoints: tool name → `"<METHOD> <path>"` relative to the tag's URL. */
  map: z.record(z.string(), z.string().min(1)).optional(),
  description: z.string().optional(),
  /** `@api`: HTTP method (default GET; `kwargs.method` also works). */
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  /** `@api`: request headers; `{arg}` placeholders are filled from the call's arguments. */
  headers: z.record(z.string(), z.string()).optional(),
  /** `@api`: JSON body template; string values `{arg}` are replaced by the argument's value. */
  body: z.unknown().optional(),
  /** `@api`: JSON Schema of the arguments (default: one required string per `{placeholder}`). */
  parameters: z.record(z.string(), z.unknown()).optional(),
  /** `@api`: request timeout (milliseconds or `30s`); default 30 s. */
  timeout: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
});
export type RawExternalTool = z.infer<typeof RawExternalTool>;

/** A Model Context Protocol server: `command` (stdio) or `url` (streamable HTTP). */
export const RawMcpServer = z
  .strictObject({
    name: SourceName,
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    /** Extra environment variables of the stdio server (`$VAR` interpolation applies). */
    env: z.record(z.string(), z.string()).optional(),
    /** Working directory of the stdio server, relative to the YAML. */
    cwd: z.string().optional(),
    url: z.string().url().optional(),
    /** Headers sent to an HTTP server (e.g. `Authorization: Bearer ${TOKEN}`); they stay on the worker. */
    headers: z.record(z.string(), z.string()).optional(),
    /** Only these of the server's tools (default all). */
    tools: z.array(z.string().min(1)).optional(),
  })
  .refine((s) => (s.command === undefined) !== (s.url === undefined), {
    message: 'an MCP server needs exactly one of `command` (stdio) or `url` (streamable HTTP)',
  });
export type RawMcpServer = z.infer<typeof RawMcpServer>;

/** NOMOS MCP server entry under `tools.servers` (`name`, `url`, `path`, `transport`, `use`, `exclude`). */
export const RawNomosServer = z.strictObject({
  type: z.string().optional(),
  name: z.string().min(1),
  url: z.string().min(1),
  path: z.string().optional(),
  transport: z.string().optional(),
  use: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
});

/** `tools:` — NOMOS aliases `files` (tool_files), `ext` (external_tools) and `defs` (tool_defs) are accepted. */
export const RawTools = z.strictObject({
  tool_files: z.array(z.string().min(1)).optional(),
  files: z.array(z.string().min(1)).optional(),
  tool_defs: z.record(z.string(), RawToolDef).optional(),
  defs: z.record(z.string(), RawToolDef).optional(),
  /** Model Context Protocol servers (stdio `command` or streamable HTTP `url`). */
  mcp_servers: z.array(RawMcpServer).optional(),
  external_tools: z.array(RawExternalTool).optional(),
  /** NOMOS alias of `external_tools`. */
  ext: z.array(RawExternalTool).optional(),
  /** NOMOS MCP servers (HTTP). */
  servers: z.array(RawNomosServer).optional(),
});
export type RawTools = z.infer<typeof RawTools>;
