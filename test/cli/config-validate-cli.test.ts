/** `stepwise validate` output and exit codes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runValidate } from '../../cli/validate.js';

const FIXTURES = join('test', 'fixtures', 'config');

/** The valid shop fixture sets `llm.fast.temperature`, which NOMOS would ignore. */
const SHOP_NOTE = `${join(FIXTURES, 'valid', 'shop.agent.yaml')}:65:5 llm.fast.temperature: warning: NOMOS ignores llm.fast.temperature (it reads only provider, model, kwargs, embedding_model); Stepwise applies it to every request of this model`;

function capture() {
  const logs: string[] = [];
  const errors: string[] = [];
  return { logs, errors, out: { log: (s: string) => logs.push(s), error: (s: string) => errors.push(s) } };
}

describe('runValidate', () => {
  it('prints ok with counts for a valid file and exits 0', async () => {
    const c = capture();
    const code = await runValidate([join(FIXTURES, 'valid', 'shop.agent.yaml')], c.out, { env: {} });
    expect(code).toBe(0);
    expect(c.errors).toEqual([]);
    expect(c.logs).toEqual([SHOP_NOTE, `ok: ${join(FIXTURES, 'valid', 'shop.agent.yaml')} (agent shop, 4 steps, 1 flows, 4 tools)`]);
  });

  it('prints warnings but still exits 0', async () => {
    const c = capture();
    const file = join(FIXTURES, 'broken', 'unreachable.agent.yaml');
    expect(await runValidate([file], c.out)).toBe(0);
    expect(c.logs).toEqual([
      `${file}:8:9 steps[2].id: warning: step "island" is unreachable: no route leads to it from start step "a"`,
      `ok: ${file} (agent unreachable, 3 steps, 0 flows, 0 tools)`,
    ]);
  });

  it('notes each llm key NOMOS ignores and Stepwise applies (temperature, max_tokens), and exits 0', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'validate-notes-')), 'notes.agent.yaml');
    writeFileSync(
      file,
      [
        'name: notes',
        'start_step_id: a',
        'steps:',
        '  - { step_id: a, description: a }',
        'llm:',
        '  global: { provider: openai, model: gpt-4o-mini, temperature: 0.2, kwargs: { top_p: 0.9 } }',
        '  summarizer: { provider: openai, model: gpt-4o-mini, max_tokens: 512 }',
        '',
      ].join('\n'),
    );
    const c = capture();
    expect(await runValidate([file], c.out, { env: {} })).toBe(0);
    expect(c.errors).toEqual([]);
    expect(c.logs.filter((l) => l.includes('NOMOS ignores'))).toEqual([
      `${file}:6:51 llm.global.temperature: warning: NOMOS ignores llm.global.temperature (it reads only provider, model, kwargs, embedding_model); Stepwise applies it to every request of this model`,
      `${file}:7:55 llm.summarizer.max_tokens: warning: NOMOS ignores llm.summarizer.max_tokens (it reads only provider, model, kwargs, embedding_model); Stepwise applies it to every request of this model`,
    ]);
  });

  it('prints located errors, keeps going over other files, and exits 1', async () => {
    const c = capture();
    const bad = join(FIXTURES, 'broken', 'unknown-target.agent.yaml');
    const good = join(FIXTURES, 'valid');
    expect(await runValidate([bad, good], c.out, { env: {} })).toBe(1);
    expect(c.errors).toEqual([`${bad}:11:17 steps[1].routes[1].target: route target "nowhere" is not a step`]);
    expect(c.logs).toEqual([SHOP_NOTE, `ok: ${join(good, 'shop.agent.yaml')} (agent shop, 4 steps, 1 flows, 4 tools)`]);
  });

  it('exits 1 for a missing path or no paths', async () => {
    const c = capture();
    expect(await runValidate([join(FIXTURES, 'absent.agent.yaml')], c.out)).toBe(1);
    expect(c.errors[0]).toContain('absent.agent.yaml: no such file or directory');
    expect(await runValidate([], capture().out)).toBe(1);
  });
});
