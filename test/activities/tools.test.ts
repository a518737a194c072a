/**
 * ToolRegistry: argument validation (zod and JSON Schema) before execute, tool errors as results, context passing,
 * JSON-only results, TOOL_NOT_FOUND; and tool module import (.ts and .mjs fixtures).
 */
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkToolDefinition, importToolModule, ToolRegistry } from '../../activities/tools.js';
import type { ToolCallRequest } from '../../src/engine/types.js';
import { defineTool, type ToolContext } from '../../src/tools.js';

const TOOLS = join(import.meta.dirname, '..', 'fixtures', 'config', 'tools');

function request(tool: string, args: Record<string, unknown>, callId = 't1.0'): ToolCallRequest {
  return { sessionId: 's-1', agentName: 'shop', stepId: 'browse', callId, tool, arguments: args };
}

async function fixtureRegistry() {
  const shop = await importToolModule(join(TOOLS, 'shop-tools.ts'));
  const math = await importToolModule(join(TOOLS, 'math-tools.mjs'));
  const shopMod = (await import(join(TOOLS, 'shop-tools.ts'))) as { calls: unknown[] };
  const mathMod = (await import(join(TOOLS, 'math-tools.mjs'))) as { calls: unknown[] };
  return { registry: new ToolRegistry([...shop, ...math]), shopCalls: shopMod.calls, mathCalls: mathMod.calls };
}

describe('ToolRegistry with zod parameters (.ts module)', () => {
  it('runs a valid call with defaults applied and passes the context', async () => {
    const { registry, shopCalls } = await fixtureRegistry();
    const controller = new AbortController();
    const before = shopCalls.length;
    const result = await registry.run(request('add_to_cart', { item: 'hat' }, 't3.1'), controller.signal);
    expect(result).toEqual({ callId: 't3.1', tool: 'add_to_cart', ok: true, result: { added: 'hat', qty: 1 } });
    expect(shopCalls).toHaveLength(before + 1);
    expect(shopCalls.at(-1)).toMatchObject({
      tool: 'add_to_cart',
      args: { item: 'hat', qty: 1 },
      sessionId: 's-1',
      stepId: 'browse',
      agentName: 'shop',
      callId: 't3.1',
      idempotencyKey: 's-1/t3.1',
      signal: controller.signal,
    });
  });

  it('returns ok:false with a readable message for invalid arguments and does not call execute', async () => {
    const { registry, shopCalls } = await fixtureRegistry();
    const before = shopCalls.length;
    const result = await registry.run(request('add_to_cart', { item: '', qty: 'two' }), new AbortController().signal);
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.error).toMatch(/^invalid arguments for add_to_cart: item: .*; qty: .*expected number/);
    expect(shopCalls).toHaveLength(before);
  });

  it('turns a throwing tool into ok:false with its message', async () => {
    const { registry } = await fixtureRegistry();
    const result = await registry.run(request('checkout', {}), new AbortController().signal);
    expect(result).toEqual({ callId: 't1.0', tool: 'checkout', ok: false, error: 'tool checkout failed: payment service unavailable' });
  });
});

describe('ToolRegistry with JSON Schema parameters (.mjs module)', () => {
  it('validates with ajv before execute', async () => {
    const { registry, mathCalls } = await fixtureRegistry();
    const signal = new AbortController().signal;
    expect(await registry.run(request('add', { a: 2, b: 3 }), signal)).toMatchObject({ ok: true, result: { sum: 5 } });
    const before = mathCalls.length;
    const bad = await registry.run(request('add', { a: 'x', c: 1 }), signal);
    expect(bad.ok).toBe(false);
    expect(bad.ok === false && bad.error).toMatch(/^invalid arguments for add: /);
    expect(bad.ok === false && bad.error).toContain('a: must be number');
    expect(bad.ok === false && bad.error).toContain("must have required property 'b'");
    expect(mathCalls).toHaveLength(before);
  });

  it('rejects a result that is not JSON', async () => {
    const { registry } = await fixtureRegistry();
    const result = await registry.run(request('now_map', {}), new AbortController().signal);
    expect(result).toMatchObject({ ok: false, error: 'tool now_map returned a non-JSON result: result is a Map' });
  });
});

describe('ToolRegistry', () => {
  const seen: ToolContext[] = [];
  const echo = defineTool({
    name: 'echo',
    description: 'echoes',
    parameters: z.object({ text: z.string() }),
    execute: (args, ctx) => {
      seen.push(ctx);
      return { text: args.text, when: new Date(0), missing: undefined };
    },
  });

  it('fails a call to an unknown tool with a non-retryable TOOL_NOT_FOUND', async () => {
    const registry = new ToolRegistry([echo]);
    const err = await registry.run(request('nope', {}), new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('TOOL_NOT_FOUND');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toContain('nope');
  });

  it('returns JSON-round-tripped results (Date → string, undefined dropped; undefined result → null)', async () => {
    const registry = new ToolRegistry([echo, { name: 'void', description: '', parameters: {}, execute: () => undefined }]);
    const signal = new AbortController().signal;
    expect(await registry.run(request('echo', { text: 'hi' }), signal)).toMatchObject({
      ok: true,
      result: { text: 'hi', when: '1970-01-01T00:00:00.000Z' },
    });
    expect(seen.at(-1)?.signal).toBe(signal);
    expect(await registry.run(request('void', {}), signal)).toMatchObject({ ok: true, result: null });
  });

  it('rethrows when the call was aborted (cancellation is Temporal’s to handle)', async () => {
    const controller = new AbortController();
    const slow = defineTool({
      name: 'slow',
      description: '',
      parameters: z.object({}),
      execute: (_args, ctx) =>
        new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    const registry = new ToolRegistry([slow]);
    const pending = registry.run(request('slow', {}), controller.signal);
    controller.abort(new Error('cancelled by Temporal'));
    await expect(pending).rejects.toThrow('cancelled by Temporal');
  });

  it('uses descriptor overrides and rejects duplicate names and bad schemas', () => {
    const registry = new ToolRegistry([echo], { descriptors: [{ name: 'echo', description: 'custom', parameters: {} }] });
    expect(registry.descriptors()).toEqual([{ name: 'echo', description: 'custom', parameters: {} }]);
    expect(registry.has('echo')).toBe(true);
    expect(registry.has('other')).toBe(false);
    expect(() => new ToolRegistry([echo, echo])).toThrow(/duplicate tool name echo/);
    const bad = { name: 'bad', description: '', parameters: { type: 'object', properties: 5 }, execute: () => 1 };
    expect(checkToolDefinition(bad)).toMatch(/tool bad: invalid `parameters`/);
    expect(() => new ToolRegistry([bad])).toThrow(/invalid `parameters`/);
    expect(checkToolDefinition({ name: 'x', description: 'd', parameters: {} })).toMatch(/execute/);
  });

  it('describes zod parameters by their input shape', () => {
    const registry = new ToolRegistry([
      defineTool({ name: 'opt', description: '', parameters: z.object({ n: z.number().default(1) }), execute: () => 1 }),
    ]);
    expect(registry.descriptors()[0]?.parameters).toEqual({
      type: 'object',
      properties: { n: { type: 'number', default: 1 } },
    });
  });
});
