/**
 * The example agents' scripted conversations, run through the real `stepwise chat` command (a child process, stdin
 * lines in, JSON lines out): every turn must succeed without a fallback reply, and the last one must END the session.
 * A line that answers an approval question (`approve <tool> ...? [y/N]` on stderr) is not a message.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TurnResult } from '../../src/engine/types.js';

const root = join(import.meta.dirname, '..', '..');
const examples = [
  // The barista's place_order needs approval: its conversation answers the question with a `y` line.
  { name: 'barista', config: 'examples/barista/barista.agent.yaml', conversation: 'examples/barista/conversation.txt', approvals: ['place_order'] },
  { name: 'support', config: 'examples/support/support.agent.yaml', conversation: 'examples/support/conversation.txt', approvals: [] },
];

/** Tools asked about on stderr, in order. */
const approvalPrompts = (stderr: string) => [...stderr.matchAll(/approve (\w+) \(call [^)]+\)/g)].map((m) => m[1]);

function chat(config: string, input: string, json: boolean) {
  const args = ['bin/stepwise.js', 'chat', ...(json ? ['--json'] : []), config];
  const env = { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' };
  return spawnSync(process.execPath, args, { cwd: root, input, encoding: 'utf8', env, timeout: 60_000 });
}

describe('example conversations through `stepwise chat`', () => {
  for (const ex of examples) {
    it(`${ex.name}: the scripted conversation runs to the end`, () => {
      const input = readFileSync(join(root, ex.conversation), 'utf8');
      const lines = input.split('\n').filter((l) => l.trim());
      const out = chat(ex.config, input, true);
      expect(out.stderr).not.toMatch(/error/i);
      expect(out.status).toBe(0);
      expect(approvalPrompts(out.stderr)).toEqual(ex.approvals);
      const turns = out.stdout.trim().split('\n').map((l) => TurnResult.parse(JSON.parse(l)));
      expect(turns).toHaveLength(lines.length - ex.approvals.length);
      const decided = turns.flatMap((t) => t.events.filter((e) => e.type === 'approval_decided'));
      expect(decided.map((e) => [e.tool, e.decision, e.approver])).toEqual(ex.approvals.map((tool) => [tool, 'approve', 'terminal']));
      for (const t of turns) {
        expect(t.events.some((e) => e.type === 'reply' && e.fallback)).toBe(false);
        expect(t.events.some((e) => e.type === 'turn_failed')).toBe(false);
      }
      expect(turns.at(-1)!.ended).toBe(true);
      expect(turns.slice(0, -1).every((t) => !t.ended)).toBe(true);
    });
  }

  it('plain mode prints one reply per line', () => {
    const input = readFileSync(join(root, examples[0].conversation), 'utf8');
    const out = chat(examples[0].config, input, false);
    expect(out.status).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(input.split('\n').filter((l) => l.trim()).length - approvalPrompts(out.stderr).length);
    expect(lines.every((l) => l.length > 0)).toBe(true);
  });

  it('an invalid config exits non-zero with file and line', () => {
    const out = chat('test/fixtures/config/broken/unknown-key.agent.yaml', 'hi\n', false);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/unknown-key\.agent\.yaml:\d+/);
  });
});
