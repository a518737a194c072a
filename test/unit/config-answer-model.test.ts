/** `answer_model` normalisation: JSON Schema, field maps, file paths; every result readable by z.fromJSONSchema. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { normalizeAnswerModel } from '../../src/config/answer-model.js';
import { nodeConfigFiles } from '../../runtime/agents/config-files.js';

const DIR = nodeConfigFiles(join(import.meta.dirname, '..', 'fixtures', 'config', 'valid'));

describe('normalizeAnswerModel', () => {
  it('turns a field map into a closed object schema (trailing ? = optional)', () => {
    const r = normalizeAnswerModel(
      { name: 'string', qty: 'integer?', price: 'number', gift: 'boolean?', tags: 'string[]', scores: 'number[]', meta: 'object?' },
      DIR,
    );
    expect(r.issues).toEqual([]);
    expect(r.schema).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string' },
        qty: { type: 'integer' },
        price: { type: 'number' },
        gift: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string' } },
        scores: { type: 'array', items: { type: 'number' } },
        meta: { type: 'object' },
      },
      required: ['name', 'price', 'tags', 'scores'],
      additionalProperties: false,
    });
    const answer = z.fromJSONSchema(r.schema as Parameters<typeof z.fromJSONSchema>[0]);
    expect(answer.safeParse({ name: 'a', price: 1, tags: [], scores: [2] }).success).toBe(true);
    expect(answer.safeParse({ name: 'a', price: 1, tags: [], scores: [], extra: 1 }).success).toBe(false);
    expect(answer.safeParse({ name: 'a', price: '1', tags: [], scores: [] }).success).toBe(false);
  });

  it('accepts { type, description, optional } field specs', () => {
    const r = normalizeAnswerModel({ city: { type: 'string', description: 'Where' }, zip: { type: 'string', optional: true } }, DIR);
    expect(r.schema).toEqual({
      type: 'object',
      properties: { city: { type: 'string', description: 'Where' }, zip: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    });
  });

  it('keeps a JSON Schema object as written and reads one from a file relative to the YAML', () => {
    const inline = { type: 'object', properties: { ok: { type: 'boolean' } } };
    expect(normalizeAnswerModel(inline, DIR)).toEqual({ schema: inline, issues: [] });
    const fromFile = normalizeAnswerModel('../schemas/order.json', DIR);
    expect(fromFile.issues).toEqual([]);
    expect(fromFile.schema).toMatchObject({ type: 'object', required: ['orderId'] });
  });

  it('reports problems with their sub-path', () => {
    expect(normalizeAnswerModel({ qty: 'integr' }, DIR).issues).toEqual([
      { path: ['qty'], message: expect.stringContaining('unknown field type "integr"') },
    ]);
    expect(normalizeAnswerModel({ qty: { type: 'integer', optional: 'yes' } }, DIR).issues[0]?.path).toEqual(['qty', 'optional']);
    expect(normalizeAnswerModel({ qty: 3 }, DIR).issues[0]?.path).toEqual(['qty']);
    expect(normalizeAnswerModel('missing.json', DIR).issues[0]?.message).toMatch(/missing\.json not found/);
    expect(normalizeAnswerModel('shop.agent.yaml', DIR).issues[0]?.message).toMatch(/not valid JSON/);
    expect(normalizeAnswerModel({ type: 'wat' }, DIR).issues[0]?.message).toMatch(/zod can read/);
    expect(normalizeAnswerModel({ type: 'object', properties: 5 }, DIR).issues[0]?.message).toMatch(/not a valid JSON Schema/);
    expect(normalizeAnswerModel(['a'], DIR).schema).toBeUndefined();
  });
});
