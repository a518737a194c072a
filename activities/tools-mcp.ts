/**
 * Model Context Protocol servers as tool sources (Node), through the official `@modelcontextprotocol/sdk` client:
 * stdio (`command` + `args`, a child process) or streamable HTTP (`url`; the legacy SSE transport when asked).
 *
 * {@link McpToolSource.connect} connects and lists the server's tools (at agent load, i.e. worker start); each tool
 * becomes a {@link ToolDefinition} named `<server>__<tool>` whose `execute` sends `tools/call`, so MCP tools run in
 * the `runTool` activity like any other tool. Tool errors (`isError`) become tool errors the model sees.
 */
// The SDK is imported on first connect, so workers whose agents declare no MCP server never load it (start-up time).
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ToolDefinition } from '../src/tools.js';

/** Separator between server and tool name in the registered tool name (`everything__echo`). */
export const MCP_TOOL_SEPARATOR = '__';

/** Connect + list timeout: 30 s (a stdio server started with `node` is ready in well under a second). */
export const MCP_CONNECT_TIMEOUT_MS = 30_000;

/** Timeout of one `tools/call`: 10 minutes, reset by progress notifications (the activity's own timeout is shorter). */
export const MCP_CALL_TIMEOUT_MS = 10 * 60_000;

/** How to reach one MCP server (resolved from `tools.mcp_servers[]` or an `@mcp/<url>` external tool). */
export interface McpServerConfig {
  name: string;
  /** stdio: the executable and its arguments. */
  command?: string;
  args?: string[];
  /** stdio: variables added to the SDK's safe default environment (PATH, HOME, ...). */
  env?: Record<string, string>;
  /** stdio: working directory (absolute). */
  cwd?: string;
  /** streamable HTTP endpoint. */
  url?: string;
  headers?: Record<string, string>;
  /** Only these tools (server-side names); default all. */
  tools?: string[];
  /** Not these tools (NOMOS `exclude`). */
  exclude?: string[];
  /** HTTP transport as NOMOS writes it: anything containing `sse` uses the legacy SSE transport. */
  transport?: string;
}

interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** One connected MCP server. Create with {@link McpToolSource.connect}; call {@link close} when done. */
export class McpToolSource {
  readonly config: McpServerConfig;
  #client: Client | undefined;
  #tools: McpToolInfo[] = [];
  #stderrTail = '';

  private constructor(config: McpServerConfig) {
    this.config = config;
  }

  /**
   * Connects to the server and lists its tools (every page).
   *
   * @throws Error naming the server when it cannot be started/reached or does not answer within
   *   {@link MCP_CONNECT_TIMEOUT_MS}, or when an allow-listed tool does not exist.
   */
  static async connect(config: McpServerConfig): Promise<McpToolSource> {
    const source = new McpToolSource(config);
    try {
      await source.#connect();
      const tools: McpToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await source.#client!.listTools(cursor ? { cursor } : {}, { timeout: MCP_CONNECT_TIMEOUT_MS });
        tools.push(...(page.tools as McpToolInfo[]));
        cursor = page.nextCursor;
      } while (cursor);
      const missing = (config.tools ?? []).filter((t) => !tools.some((x) => x.name === t));
      if (missing.length > 0) {
        throw new Error(`has no tool ${missing.join(', ')} (it offers: ${tools.map((t) => t.name).join(', ')})`);
      }
      source.#tools = tools.filter((t) => (!config.tools || config.tools.includes(t.name)) && !config.exclude?.includes(t.name));
      return source;
    } catch (err) {
      await source.close();
      const tail = source.#stderrTail.trim() ? ` (server stderr: ${source.#stderrTail.trim().slice(-300)})` : '';
      throw new Error(`MCP server ${config.name} (${describe(config)}): ${(err as Error).message}${tail}`);
    }
  }

  /** The server's tools as Stepwise tool definitions (`<server>__<tool>`, JSON Schema parameters). */
  definitions(): ToolDefinition[] {
    return this.#tools.map((tool) => ({
      name: `${this.config.name}${MCP_TOOL_SEPARATOR}${tool.name}`,
      description: tool.description ?? '',
      parameters: { type: 'object', ...tool.inputSchema },
      execute: (args: Record<string, unknown>, context) => this.call(tool.name, args, context.signal),
    }));
  }

  /**
   * Calls one tool (reconnecting first if the connection was closed, e.g. a crashed stdio server).
   *
   * @returns `structuredContent` when the server sends it; else one text item as a string (parsed when it is JSON),
   *   or an array of content items (images/audio summarised by MIME type and size, never their bytes).
   * @throws Error with the tool's text when the result has `isError` (the registry shows it to the model).
   */
  async call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    if (!this.#client) await this.#connect();
    const result = await this.#client!.callTool({ name: tool, arguments: args }, undefined, {
      ...(signal ? { signal } : {}),
      timeout: MCP_CALL_TIMEOUT_MS,
      resetTimeoutOnProgress: true,
    });
    const content = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
    if (result.isError) {
      const text = content.map((c) => (typeof c.text === 'string' ? c.text : '')).join('\n').trim();
      throw new Error(text || 'the MCP tool reported an error');
    }
    if (result.structuredContent !== undefined) return result.structuredContent;
    const items = content.map(summariseContent);
    if (items.length === 1 && typeof items[0] === 'string') return parseMaybeJson(items[0]);
    return items;
  }

  /** Closes the connection (stops a stdio server). Never throws. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client({ name: 'stepwise', version: '1' });
    const transport = await this.#transport();
    transport.onclose = () => {
      if (this.#client === client) this.#client = undefined;
    };
    await client.connect(transport, { timeout: MCP_CONNECT_TIMEOUT_MS });
    this.#client = client;
  }

  async #transport(): Promise<Transport> {
    const c = this.config;
    if (c.url && /sse/i.test(c.transport ?? '')) {
      const { SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js');
      return new SSEClientTransport(new URL(c.url), c.headers ? { requestInit: { headers: c.headers } } : undefined);
    }
    if (c.url) {
      const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
      return new StreamableHTTPClientTransport(new URL(c.url), c.headers ? { requestInit: { headers: c.headers } } : undefined);
    }
    const { getDefaultEnvironment, StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const transport = new StdioClientTransport({
      command: c.command!,
      args: c.args ?? [],
      env: { ...getDefaultEnvironment(), ...(c.env ?? {}) },
      ...(c.cwd ? { cwd: c.cwd } : {}),
      stderr: 'pipe',
    });
    // Keep the last few KB of the server's stderr for error messages (and so the pipe never fills up).
    transport.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-2_000);
    });
    return transport;
  }
}

function describe(c: McpServerConfig): string {
  return c.url ? c.url : [c.command, ...(c.args ?? [])].join(' ');
}

function summariseContent(item: Record<string, unknown>): unknown {
  if (item.type === 'text' && typeof item.text === 'string') return item.text;
  if ((item.type === 'image' || item.type === 'audio') && typeof item.data === 'string') {
    return { type: item.type, mimeType: item.mimeType, bytes: Math.floor((item.data.length * 3) / 4) };
  }
  if (item.type === 'resource' && item.resource && typeof item.resource === 'object') {
    const r = item.resource as Record<string, unknown>;
    return { type: 'resource', uri: r.uri, ...(typeof r.text === 'string' ? { text: r.text } : {}) };
  }
  return item;
}

function parseMaybeJson(text: string): unknown {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return text;
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}
