import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpToolSource } from '../../activities/tools-mcp.js';
import { ToolRegistry } from '../../activities/tools.js';
import { everythingStdio, startEverythingHttp, type EverythingHttp } from '../support/mcp-everything.js';

const ctx = { sessionId: 's1', stepId: 'start', agentName: 'a', callId: 't1.1' };

describe.each(['stdio', 'streamable HTTP'] as const)('MCP server-everything over %s', (transport) => {
  let http: EverythingHttp | undefined;
  let source: McpToolSource;

  beforeAll(async () => {
    if (transport === 'stdio') source = await McpToolSource.connect({ name: 'everything', ...everythingStdio });
    else {
      http = await startEverythingHttp();
      source = await McpToolSource.connect({ name: 'everything', url: http.url });
    }
  }, 60_000);

  afterAll(async () => {
    await source?.close();
    await http?.stop();
  });

  it('lists the server tools as <server>__<tool> with their JSON Schemas', () => {
    const defs = source.definitions();
    const names = defs.map((d) => d.name);
    expect(names).toContain('everything__echo');
    expect(names).toContain('everything__get-sum');
    const sum = defs.find((d) => d.name === 'everything__get-sum')!;
    expect(sum.description).toBe('Returns the sum of two numbers');
    expect(sum.parameters).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } });
  });

  it('calls tools through the registry (validated arguments, text and structured results)', async () => {
    const registry = new ToolRegistry(source.definitions());
    const signal = new AbortController().signal;
    const echo = await registry.run({ ...ctx, tool: 'everything__echo', arguments: { message: 'hi there' } }, signal);
    expect(echo).toMatchObject({ ok: true, result: 'Echo: hi there' });
    const sum = await registry.run({ ...ctx, tool: 'everything__get-sum', arguments: { a: 2, b: 40 } }, signal);
    expect(sum.ok).toBe(true);
    expect(sum.ok && JSON.stringify(sum.result)).toContain('42');
    const structured = await registry.run({ ...ctx, tool: 'everything__get-structured-content', arguments: { location: 'New York' } }, signal);
    expect(structured.ok).toBe(true);
    expect(structured.ok && structured.result).toHaveProperty('temperature');
    const bad = await registry.run({ ...ctx, tool: 'everything__get-sum', arguments: { a: 'two' } }, signal);
    expect(bad).toMatchObject({ ok: false });
    expect(bad.ok === false && bad.error).toContain('invalid arguments for everything__get-sum');
  });
});

describe('MCP connection problems', () => {
  it('names the server and its command when it cannot start', async () => {
    await expect(McpToolSource.connect({ name: 'ghost', command: process.execPath, args: ['-e', 'process.exit(3)'] })).rejects.toThrow(
      /MCP server ghost \(.*-e process\.exit\(3\)\)/,
    );
  });

  it('refuses an allow-list naming a tool the server lacks', async () => {
    await expect(McpToolSource.connect({ name: 'everything', ...everythingStdio, tools: ['echo', 'nope'] })).rejects.toThrow(/has no tool nope/);
  }, 30_000);
});
