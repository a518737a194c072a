/**
 * `stepwise chat` asks on the terminal about tool calls that need approval (in-process, real loader, real tool module).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseApprovalAnswer, runChat } from '../../cli/chat.js';
import { TurnResult } from '../../src/engine/types.js';

function agentDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-chat-approval-'));
  const call = (text: string) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text } }] });
  writeFileSync(join(dir, 'script.yaml'), stringify([call('one'), { action: 'RESPOND', response: 'did one' }, call('two'), { action: 'RESPOND', response: 'skipped two' }]));
  writeFileSync(join(dir, 'tools.mjs'), `export const tools = [{ name: 'echo', description: 'echoes', parameters: { type: 'object', properties: { text: { type: 'string' } } }, execute: ({ text }) => ({ echo: text }) }];\n`);
  writeFileSync(
    join(dir, 'agent.yaml'),
    stringify({
      name: 'approver',
      start_step_id: 'main',
      steps: [{ step_id: 'main', description: 'main', available_tools: ['echo'] }],
      llm: { provider: 'scripted', script: './script.yaml' },
      tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } },
    }),
  );
  return join(dir, 'agent.yaml');
}

async function chat(config: string, input: string): Promise<{ code: number; out: string; err: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  stdin.end(input);
  const code = await runChat(config, { json: true, input: stdin, output: stdout, errorOutput: stderr, interactive: false });
  return { code, out, err };
}

describe('stepwise chat: approvals on the terminal', () => {
  it('asks for each call needing approval; y approves, n <reason> denies with that reason', async () => {
    const { code, out, err } = await chat(agentDir(), 'do one\ny\ndo two\nn not today\n');
    expect(code).toBe(0);
    expect(err).toContain('approve echo (call t1.1) {"text":"one"}? [y/N, or n <reason>]');
    expect(err).toContain('approve echo (call t2.2) {"text":"two"}?');
    const [first, second] = out.trim().split('\n').map((l) => TurnResult.parse(JSON.parse(l)));
    expect(first).toMatchObject({ reply: 'did one' });
    expect(first!.events.find((e) => e.type === 'tool_result')).toMatchObject({ result: { echo: 'one' } });
    expect(first!.events.find((e) => e.type === 'approval_decided')).toMatchObject({ decision: 'approve', approver: 'terminal' });
    expect(second).toMatchObject({ reply: 'skipped two' });
    expect(second!.events.find((e) => e.type === 'tool_error')).toMatchObject({ message: 'call to echo was denied by approver terminal: not today' });
  });

  it('parses answers', () => {
    expect(parseApprovalAnswer('Y')).toEqual({ decision: 'approve' });
    expect(parseApprovalAnswer('yes')).toEqual({ decision: 'approve' });
    expect(parseApprovalAnswer('')).toEqual({ decision: 'deny' });
    expect(parseApprovalAnswer('no')).toEqual({ decision: 'deny' });
    expect(parseApprovalAnswer('n too expensive')).toEqual({ decision: 'deny', reason: 'too expensive' });
    expect(parseApprovalAnswer('nope, never')).toEqual({ decision: 'deny', reason: 'nope, never' });
  });
});
