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

describe('stepwise chat: /rewind N and /fork N', () => {
  it('rewinds the session, forks it, and goes on in the fork; a bad turn is an error line, the chat goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-chat-travel-'));
    writeFileSync(join(dir, 'script.yaml'), stringify(['first', 'second', 'third', 'fourth'].map((r) => ({ action: 'RESPOND', response: r }))));
    writeFileSync(join(dir, 'agent.yaml'), stringify({ name: 'traveller', start_step_id: 'main', steps: [{ step_id: 'main', description: 'main' }], llm: { provider: 'scripted', script: './script.yaml' } }));
    const { code, out, err } = await chat(join(dir, 'agent.yaml'), 'a\nb\n/rewind 1\nb again\n/rewind 9\n/fork 1\nin the fork\n');
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ turn: 1, reply: 'first' });
    expect(lines[1]).toMatchObject({ turn: 2, reply: 'second' });
    expect(lines[2]).toEqual({ rewound: { toTurn: 1, fromTurn: 2, branch: expect.stringMatching(/^r1-/), source: 'live' } });
    // Turn 2 again, from the state after turn 1: the scripted model answers decision #1 as before.
    expect(lines[3]).toMatchObject({ turn: 2, reply: 'second' });
    expect(lines[3].events.find((e: { type: string }) => e.type === 'user_message')).toMatchObject({ text: 'b again' });
    expect(err).toContain('error: session');
    expect(lines[4]).toEqual({ forked: { sessionId: expect.stringContaining('-fork1-'), parentSessionId: expect.any(String), forkedAtTurn: 1 } });
    expect(lines[5]).toMatchObject({ turn: 2, reply: 'second' });
    expect(lines[5].events.find((e: { type: string }) => e.type === 'user_message')).toMatchObject({ text: 'in the fork' });
  });
});
