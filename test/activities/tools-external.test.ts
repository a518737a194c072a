import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpTool, httpToolParameters } from '../../activities/tools-http.js';
import { ToolRegistry } from '../../activities/tools.js';
import { loadAgent, validateAgentFile } from '../../runtime/agents/load.js';
import { everythingStdio, startEverythingHttp } from '../support/mcp-everything.js';

const ctx = { sessionId: 's1', stepId: 'start', agentName: 'a', callId: 't1.1' };
const signal = new AbortController().signal;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url!.startsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such user');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('HTTP tools', () => {
  it('fills URL placeholders (encoded), sends other arguments as the query string', async () => {
    const tool = httpTool({ name: 'get_user', description: 'd', method: 'GET', url: `${base}/users/{user_id}`, query: { v: 2 } });
    expect(httpToolParameters({ name: 'x', description: '', method: 'GET', url: `${base}/users/{user_id}` })).toEqual({
      type: 'object',
      properties: { user_id: { type: 'string' } },
      required: ['user_id'],
      additionalProperties: true,
    });
    const registry = new ToolRegistry([tool]);
    const out = await registry.run({ ...ctx, tool: 'get_user', arguments: { user_id: 'a b/c', fields: 'name' } }, signal);
    expect(out).toEqual({ callId: 't1.1', tool: 'get_user', ok: true, result: { ok: true, path: '/users/a%20b%2Fc?v=2&fields=name' } });
    const missing = await registry.run({ ...ctx, tool: 'get_user', arguments: {} }, signal);
    expect(missing).toMatchObject({ ok: false });
  });

  it('POSTs a JSON body template with templated headers', async () => {
    const tool = httpTool({
      name: 'create',
      description: 'd',
      method: 'POST',
      url: `${base}/orders`,
      headers: { authorization: 'Bearer tok-123', 'x-session': '{session}' },
      body: { item: '{item}', qty: '{qty}', note: 'for {item}' },
      parameters: { type: 'object', properties: { item: { type: 'string' }, qty: { type: 'integer' }, session: { type: 'string' } }, required: ['item', 'qty'] },
    });
    const out = await new ToolRegistry([tool]).run({ ...ctx, tool: 'create', arguments: { item: 'latte', qty: 2, session: 's-9' } }, signal);
    expect(out.ok).toBe(true);
    const req = seen.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toBe('Bearer tok-123');
    expect(req.headers['x-session']).toBe('s-9');
    expect(JSON.parse(req.body)).toEqual({ item: 'latte', qty: 2, note: 'for latte' });
  });

  it('a non-2xx answer is a tool error with status and body excerpt', async () => {
    const tool = httpTool({ name: 'gone', description: 'd', method: 'GET', url: `${base}/missing/{id}` });
    const out = await new ToolRegistry([tool]).run({ ...ctx, tool: 'gone', arguments: { id: '7' } }, signal);
    expect(out.ok).toBe(false);
    expect(out.ok === false && out.error).toMatch(/HTTP 404 .*no such user/);
  });
});

describe('HTTP tools: Idempotency-Key', () => {
  it('sends <sessionId>/<callId> on every request, so two sessions\' t1.1 calls get different keys', async () => {
    const tool = httpTool({ name: 'order', description: 'd', method: 'POST', url: `${base}/orders`, body: { item: '{item}' } });
    const registry = new ToolRegistry([tool]);
    const keyOf = async (sessionId: string) => {
      const out = await registry.run({ ...ctx, sessionId, callId: 't1.1', tool: 'order', arguments: { item: 'latte' } }, signal);
      expect(out.ok).toBe(true);
      return seen.at(-1)!.headers['idempotency-key'];
    };
    expect(await keyOf('alice')).toBe('alice/t1.1');
    expect(await keyOf('bob')).toBe('bob/t1.1');
    // A GET carries it too (the header is harmless where the API ignores it).
    const get = httpTool({ name: 'look', description: 'd', method: 'GET', url: `${base}/users/{id}` });
    const out = await new ToolRegistry([get]).run({ ...ctx, sessionId: 'carol', callId: 't4.2', tool: 'look', arguments: { id: '1' } }, signal);
    expect(out.ok).toBe(true);
    expect(seen.at(-1)!.headers['idempotency-key']).toBe('carol/t4.2');
  });

  it('a header the tool declares (any case) replaces it, without a second value', async () => {
    const tool = httpTool({
      name: 'own_key',
      description: 'd',
      method: 'POST',
      url: `${base}/orders`,
      headers: { 'Idempotency-Key': 'order-{item}', 'Content-Type': 'application/json; charset=utf-8' },
    });
    const out = await new ToolRegistry([tool]).run({ ...ctx, tool: 'own_key', arguments: { item: 'latte' } }, signal);
    expect(out.ok).toBe(true);
    expect(seen.at(-1)!.headers['idempotency-key']).toBe('order-latte');
    expect(seen.at(-1)!.headers['content-type']).toBe('application/json; charset=utf-8');
  });
});

describe('external_tools and mcp_servers in agent YAML', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepwise-ext-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function agentFile(name: string, tools: string, stepTools: string): Promise<string> {
    const file = join(dir, `${name}.agent.yaml`);
    await writeFile(
      file,
      [
        `name: ${name}`,
        'start_step_id: start',
        'steps:',
        '  - step_id: start',
        '    description: Help.',
        `    available_tools: ${stepTools}`,
        'tools:',
        tools,
      ].join('\n'),
    );
    return file;
  }

  it('loads @api tools (single and map) and an MCP stdio server; a group name stands for its tools', async () => {
    const file = await agentFile(
      'ext',
      [
        '  external_tools:',
        `    - tag: "@api/${base}/users/{user_id}"`,
        '      name: get_user',
        '      description: Look a user up.',
        `    - tag: "@api/${base}"`,
        '      name: shop_api',
        '      map: { list_orders: "GET /orders", cancel_order: "DELETE /orders/{order_id}" }',
        '  mcp_servers:',
        '    - name: everything',
        `      command: ${JSON.stringify(everythingStdio.command)}`,
        `      args: ${JSON.stringify(everythingStdio.args)}`,
        '      tools: [echo, get-sum]',
      ].join('\n'),
      '[get_user, shop_api, everything]',
    );
    const loaded = await loadAgent(file);
    try {
      // llm omitted: NOMOS's default, which is the only warning.
      expect(loaded.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^no llm configured: using NOMOS's default/)]);
      expect(loaded.snapshot.llms.global).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
      expect(loaded.snapshot.steps[0]!.tools).toEqual(['get_user', 'list_orders', 'cancel_order', 'everything__echo', 'everything__get-sum']);
      expect(loaded.snapshot.tools.map((t) => t.name)).toEqual(loaded.snapshot.steps[0]!.tools);
      expect(loaded.snapshot.tools[0]).toMatchObject({ description: 'Look a user up.', parameters: { required: ['user_id'] } });
      const sum = await loaded.tools.run({ ...ctx, tool: 'everything__get-sum', arguments: { a: 1, b: 2 } }, signal);
      expect(JSON.stringify(sum)).toContain('3');
      const cancel = await loaded.tools.run({ ...ctx, tool: 'cancel_order', arguments: { order_id: 'o1' } }, signal);
      expect(cancel).toMatchObject({ ok: true, result: { path: '/orders/o1' } });
      expect(seen.at(-1)!.method).toBe('DELETE');
    } finally {
      await loaded.tools.close();
    }
  }, 60_000);

  it('accepts NOMOS forms: tools.servers (url + path, use/exclude), @mcp/<server>[/<tool>] in steps, /METHOD/path maps', async () => {
    const http = await startEverythingHttp();
    try {
      const file = await agentFile(
        'nomos',
        [
          '  servers:',
          '    - name: everything',
          `      url: ${JSON.stringify(http.url.replace(/\/mcp$/, ''))}`,
          '      path: /mcp',
          '      exclude: [get-env]',
          '  ext:',
          `    - tag: "@api/${base}"`,
          '      map: { get_order: "/GET/orders/{order_id}" }',
        ].join('\n'),
        '["@mcp/everything/echo", get_order]',
      );
      const loaded = await loadAgent(file);
      try {
        expect(loaded.snapshot.steps[0]!.tools).toEqual(['everything__echo', 'get_order']);
        const names = loaded.snapshot.tools.map((t) => t.name);
        expect(names).toContain('everything__get-sum');
        expect(names).not.toContain('everything__get-env');
        const echo = await loaded.tools.run({ ...ctx, tool: 'everything__echo', arguments: { message: 'via nomos' } }, signal);
        expect(echo).toMatchObject({ ok: true, result: 'Echo: via nomos' });
        const order = await loaded.tools.run({ ...ctx, tool: 'get_order', arguments: { order_id: '12' } }, signal);
        expect(order).toMatchObject({ ok: true, result: { path: '/orders/12' } });
        expect(seen.at(-1)!.method).toBe('GET');
      } finally {
        await loaded.tools.close();
      }
    } finally {
      await http.stop();
    }
  }, 60_000);

  it('refuses Python-only tags and bad MCP declarations with located, actionable errors', async () => {
    const file = await agentFile(
      'py',
      [
        '  ext:',
        '    - tag: "@pkg/itertools.combinations"',
        '      name: combinations',
        '    - tag: "@langchain/BingSearchAPIWrapper"',
        '    - tag: "@mcp/https://example.invalid/mcp"',
        '  mcp_servers:',
        '    - name: broken',
        `      command: ${JSON.stringify(process.execPath)}`,
        '      args: ["-e", "process.exit(2)"]',
      ].join('\n'),
      '[combinations]',
    );
    const { snapshot, issues } = await validateAgentFile(file);
    expect(snapshot).toBeUndefined();
    const messages = issues.map((i) => `${i.path}: ${i.message}`);
    expect(messages).toContainEqual(expect.stringMatching(/^tools\.ext\[0\]\.tag: external tool combinations \(@pkg\/itertools\.combinations\) is a Python pkg tool.*tools\.tool_files.*MCP server/));
    expect(messages).toContainEqual(expect.stringMatching(/^tools\.ext\[1\]\.tag: .*Python langchain tool/));
    expect(messages).toContainEqual(expect.stringMatching(/^tools\.ext\[2\]: MCP external tool @mcp\/https:\/\/example\.invalid\/mcp needs `name`/));
    expect(messages).toContainEqual(expect.stringMatching(/^tools\.mcp_servers\[0\]: MCP server broken \(/));
    expect(issues.find((i) => i.path === 'tools.ext[0].tag')!.line).toBe(9);
  }, 60_000);
});
