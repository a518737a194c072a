/**
 * `POST /agents/validate`'s checks (src/config/validate-source.ts) are `stepwise validate`'s: on every example and
 * committed NOMOS config, as written and with a mistake put in, the text check finds the errors the file loader finds,
 * at the same key paths and lines, given the loaded agent's tools and directory. Where it must differ (tool modules,
 * the environment, files outside the agent) is tested in test/api/agent-builder.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgent, validateAgentFile } from '../../runtime/agents/load.js';
import { validateAgentSource } from '../../runtime/agents/validate-source.js';

const root = join(import.meta.dirname, '..', '..');
const agentFiles = (dir: string) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? readdirSync(join(root, dir, e.name)).filter((f) => /\.agent\.ya?ml$/.test(f) && !f.startsWith('tests.')).map((f) => join(dir, e.name, f)) : [],
  );
const FILES = [...agentFiles('examples'), ...agentFiles('test/fixtures/nomos')];
const shape = (issues: { path: string; line?: number; message: string }[]) => issues.map((i) => ({ path: i.path, line: i.line, message: i.message }));

describe('validateAgentSource finds what stepwise validate finds', () => {
  it.each(FILES)('%s', async (file) => {
    const abs = join(root, file);
    const text = readFileSync(abs, 'utf8');
    const byFile = await validateAgentFile(abs, { env: {} });
    const loaded = byFile.snapshot ? await loadAgent(abs, { env: {} }).catch(() => undefined) : undefined;
    const tools = loaded?.snapshot.tools;
    await loaded?.tools.close();
    const byText = validateAgentSource(text, { baseDir: dirname(abs), ...(tools ? { tools } : {}) });
    const fileErrors = byFile.issues.filter((i) => i.severity === 'error');
    if (fileErrors.length === 0) {
      expect(byText.errors).toEqual([]);
    } else {
      // Files that need porting (Python tool modules, unset variables): every error the text check reports is one the
      // file loader reports too (the text check cannot see tool modules, so it may report fewer).
      for (const e of shape(byText.errors)) expect(shape(fileErrors)).toContainEqual(e);
    }

    // The same mistakes in both, one at a time: a route to a step that does not exist (a cross-reference error) and
    // an unknown key (a schema error), with their key paths and lines.
    const variants = [
      { broken: text.replace(/^(\s*)(- )?(target|to): (\S+)/m, '$1$2$3: no_such_step'), expect: 'is not a step' },
      { broken: text.replace(/^start_step_id:/m, 'start_stepid: x\nstart_step_id:'), expect: 'unknown key "start_stepid"' },
    ];
    for (const variant of variants) {
      if (variant.broken === text) continue; // no route to break
      // Beside the original (same relative paths), under a name no agent discovery picks up.
      const brokenFile = join(dirname(abs), `.broken-${process.pid}.yaml`);
      try {
        await writeFile(brokenFile, variant.broken);
        const fromFile = shape((await validateAgentFile(brokenFile, { env: {} })).issues.filter((i) => i.severity === 'error'));
        const fromText = shape(validateAgentSource(variant.broken, { baseDir: dirname(abs), ...(tools ? { tools } : {}) }).errors);
        if (fileErrors.length === 0) expect(fromText).toEqual(fromFile);
        else for (const e of fromText) expect(fromFile).toContainEqual(e);
        if (fileErrors.length === 0) expect(fromText).toContainEqual(expect.objectContaining({ message: expect.stringContaining(variant.expect) }));
      } finally {
        await rm(brokenFile, { force: true });
      }
    }
  });
});
