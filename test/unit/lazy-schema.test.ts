/**
 * `lazySchema` (src/lazy-schema.ts): the schema is built on first use only, once, and behaves as the schema itself:
 * parsing, composition, `instanceof`, `z.infer`, JSON Schema output.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lazySchema } from '../../src/lazy-schema.js';
import { SessionEvent } from '../../src/engine/schemas/events.js';
import { UserMessage } from '../../src/session/contract.js';

describe('lazySchema', () => {
  it('builds on first use, once, and parses as the schema it stands for', () => {
    let builds = 0;
    const Item = lazySchema(() => (builds++, z.object({ id: z.string().min(1), n: z.number().int() })));
    expect(builds).toBe(0);
    const Page = lazySchema(() => z.object({ items: z.array(Item), next: Item.optional() }));
    expect(builds).toBe(0); // composing inside another lazy schema builds nothing either
    const page: z.infer<typeof Page> = { items: [{ id: 'a', n: 1 }] };
    expect(Page.parse(page)).toEqual(page);
    expect(builds).toBe(1);
    expect(Page.safeParse({ items: [{ id: '', n: 1.5 }] }).error?.issues.map((i) => i.path.join('.'))).toEqual(['items.0.id', 'items.0.n']);
    expect(Item.shape.id).toBeInstanceOf(z.ZodString);
    expect(Item).toBeInstanceOf(z.ZodObject);
    expect(Object.keys(Item.extend({ more: z.boolean() }).shape)).toEqual(['id', 'n', 'more']);
    expect(builds).toBe(1);
  });

  it('gives the same JSON Schema as the schema built at once', () => {
    const eager = z.object({ a: z.object({ id: z.string().min(1) }), b: z.enum(['x', 'y']).optional() });
    const A = lazySchema(() => z.object({ id: z.string().min(1) }));
    const B = lazySchema(() => z.enum(['x', 'y']));
    const lazy = z.object({ a: A, b: B.optional() });
    expect(z.toJSONSchema(lazy)).toEqual(z.toJSONSchema(eager));
    expect(z.toJSONSchema(A)).toEqual(z.toJSONSchema(eager.shape.a));
  });

  it('refuses to stand in for a wrapper schema, whose JSON Schema output needs its identity', () => {
    const Opt = lazySchema(() => z.string().optional() as unknown as z.ZodString);
    expect(() => Opt.parse('x')).toThrow(/cannot stand in for a optional schema/);
  });

  it('the contract and engine schemas parse through their stand-ins (round trip through JSON)', () => {
    const message = { messageId: 'm1', text: 'hello' };
    expect(UserMessage.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
    const event = { seq: 0, turn: 1, at: '2026-12-07T00:00:00.000Z', type: 'user_message', messageId: 'm1', text: 'hello' };
    expect(SessionEvent.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
  });
});
