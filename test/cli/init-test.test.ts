/**
 * `stepwise init` and `stepwise test` as users run them (child processes through bin/stepwise.js): the scaffold
 * chats and passes its own tests at once; failures exit 1 with a JUnit failure; config errors exit 2; an LLM judge
 * (the OpenAI SDK against the local fake model server) judges expectations and plays the user in a scenario.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'stepwise.js');

/** Runs the command without blocking this process (the fake model server lives here; vitest's RPC must go on). */
function stepwise(args: string[], cwd: string, opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a printed command line through `sh`, as a user pasting it would. */
function shell(line: string, cwd: string) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn('sh', ['-c', line], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
    child.stdin.end();
  });
}

async function scaffold(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'stepwise-init-')), 'shop-bot');
  const out = await stepwise(['init', dir], root);
  expect(out.status).toBe(0);
  expect(out.stdout).toContain('created agent "shop-bot"');
  return dir;
}

// Each case spawns the CLI (tsx compiles on start: seconds each on a loaded machine).
describe('stepwise init', { timeout: 180_000 }, () => {
  it('scaffolds an agent that `stepwise chat` runs at once', async () => {
    const dir = await scaffold();
    const chat = await stepwise(['chat', 'config.agent.yaml'], dir, { input: readFileSync(join(dir, 'conversation.txt'), 'utf8') });
    expect(chat.stderr).toBe('');
    expect(chat.status).toBe(0);
    expect(chat.stdout.trim().split('\n')).toEqual([
      'Hello! How can I help you today?',
      'Order A1 has shipped. Anything else I can do?',
      'Thanks for stopping by. Goodbye!',
    ]);
    expect((await stepwise(['validate', 'config.agent.yaml'], dir)).status).toBe(0);
  });

  it('prints next steps that run exactly as printed, from where the user is', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'stepwise-init-cwd-'));
    const out = await stepwise(['init', 'shop bot'], cwd);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/created agent "shop-bot" in .*: .*tests\.agent\.yaml, package\.json\n/);
    const [chat, test] = out.stdout.trim().split('\n').slice(1).map((line) => line.trim());
    expect(chat).toMatch(/ chat /);
    expect(test).toMatch(/ test /);
    const chatRun = await shell(chat!, cwd);
    expect(chatRun.stderr).toBe('');
    expect(chatRun.stdout).toContain('Thanks for stopping by. Goodbye!');
    const testRun = await shell(test!, cwd);
    expect(testRun.stdout).toContain('4 tests: 4 passed');
    expect(testRun.status).toBe(0);
  });

  it('refuses to overwrite an existing scaffold', async () => {
    const dir = await scaffold();
    const again = await stepwise(['init', dir], root);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('not overwriting config.agent.yaml');
  });
});

describe('stepwise test', { timeout: 180_000 }, () => {
  it("passes the scaffold's own tests and writes a JUnit report (exit 0)", async () => {
    const dir = await scaffold();
    const out = await stepwise(['test', '--junit', 'reports/junit.xml'], dir);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('4 tests: 4 passed, 0 failed, 0 skipped');
    const xml = readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8');
    expect(xml).toContain('<testsuites tests="4" failures="0"');
    expect(xml).toContain('name="looks_up_an_order"');
  });

  it('exits 1 on a failing case, with the failure in the JUnit report', async () => {
    const dir = await scaffold();
    const tests = parse(readFileSync(join(dir, 'tests.agent.yaml'), 'utf8'));
    tests.unit.looks_up_an_order.expect.step_id = 'greet';
    tests.unit.only_judged = { input: 'hi', expectation: 'Greets' }; // no judge llm: skipped, not failed
    writeFileSync(join(dir, 'tests.agent.yaml'), stringify(tests));
    const out = await stepwise(['test', 'tests.agent.yaml', '--junit', 'junit.xml'], dir);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/FAIL unit\.looks_up_an_order .*expected step greet, at wrap_up/);
    expect(out.stdout).toMatch(/SKIP unit\.only_judged .*needs a judge `llm`/);
    expect(out.stdout).toContain('5 tests: 3 passed, 1 failed, 1 skipped');
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<failure message="expected step greet, at wrap_up/);
    expect(xml).toContain('<skipped/>');
  });

  it('exits 2 on config errors: a missing file, an unknown key, a context naming an unknown step', async () => {
    const dir = await scaffold();
    writeFileSync(join(dir, 'bad.yaml'), stringify({ unit: { a: { input: 'hi', expectaton: 'typo' } } }));
    writeFileSync(join(dir, 'step.yaml'), stringify({ unit: { a: { input: 'hi', context: { current_step_id: 'nowhere' } } } }));
    const [missing, badKey, badStep] = await Promise.all(['nope.yaml', 'bad.yaml', 'step.yaml'].map((f) => stepwise(['test', f], dir)));
    expect(missing).toMatchObject({ status: 2, stderr: expect.stringContaining('not found') });
    expect(badKey).toMatchObject({ status: 2, stderr: expect.stringContaining('expectaton') });
    expect(badStep).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown step "nowhere"') });
  });

  describe('with an LLM judge', () => {
    let server: FakeModelServer;
    beforeAll(async () => {
      server = await startFakeModelServer();
    });
    afterAll(() => server.close());

    const judgeLlm = () => ({ provider: 'openai-compatible', model: 'judge-model', base_url: server.openaiBaseUrl });

    it('judges expectations (invalid inverts) and plays the user in a scenario', async () => {
      const dir = await scaffold();
      const tests = {
        agent: './config.agent.yaml',
        llm: judgeLlm(),
        unit: {
          greets: { input: 'hi', expectation: 'Greets the user', decisions: [{ action: 'RESPOND', response: 'Hello!' }] },
          rude: { input: 'hi', expectation: 'Insults the user', invalid: true, decisions: [{ action: 'RESPOND', response: 'Hello!' }] },
        },
        e2e: { status: { scenario: 'Ask where order A1 is, then leave.', max_turns: 4 } },
      };
      writeFileSync(join(dir, 'tests.agent.yaml'), stringify(tests));
      server.enqueue({ text: JSON.stringify({ passed: true, reason: 'it greets' }) });
      server.enqueue({ text: JSON.stringify({ passed: false, reason: 'no insult' }) });
      for (const input of ['hi', 'where is my order A1?', 'bye']) {
        server.enqueue({ text: JSON.stringify({ decision: 'CONTINUE', input }) });
      }
      const out = await stepwise(['test'], dir);
      expect(out.stderr).toBe('');
      expect(out.stdout).toContain('3 tests: 3 passed, 0 failed, 0 skipped');
      const bodies = server.requests.map((r) => JSON.stringify(r.body));
      expect(bodies[0]).toContain('Expectation: Greets the user');
      expect(bodies[0]).toContain('[agent] Hello!');
      expect(bodies[2]).toContain('Scenario: Ask where order A1 is');
      expect(bodies[4]).toContain('Order A1 has shipped');
      expect(server.pending()).toBe(0);
    });

    it('fails a case the judge rejects, and a scenario the simulated user asserts on', async () => {
      const dir = await scaffold();
      writeFileSync(
        join(dir, 'tests.agent.yaml'),
        stringify({
          llm: judgeLlm(),
          unit: { greets: { input: 'hi', expectation: 'Speaks French', decisions: [{ action: 'RESPOND', response: 'Hello!' }] } },
          e2e: { leave: { scenario: 'Say hi', expectation: 'Agent answers in French' } },
        }),
      );
      server.enqueue({ text: JSON.stringify({ passed: false, reason: 'the reply is English' }) });
      server.enqueue({ text: JSON.stringify({ decision: 'CONTINUE', input: 'hi' }) });
      server.enqueue({ text: JSON.stringify({ decision: 'ASSERT', assertion: 'the agent answered in English' }) });
      const out = await stepwise(['test'], dir);
      expect(out.status).toBe(1);
      expect(out.stdout).toMatch(/FAIL unit\.greets .*judge: the reply is English/);
      expect(out.stdout).toMatch(/FAIL e2e\.leave .*simulated user: the agent answered in English/);
    });

    it('exits 2 when the judge provider has no API key', async () => {
      const dir = await scaffold();
      writeFileSync(join(dir, 'k.yaml'), stringify({ llm: { provider: 'openai', model: 'gpt-4o-mini' }, unit: { a: { input: 'hi', expectation: 'x' } } }));
      const out = await stepwise(['test', 'k.yaml'], dir, { env: { OPENAI_API_KEY: '' } });
      expect(out.status).toBe(2);
      expect(out.stderr).toContain('OPENAI_API_KEY');
    });
  });
});
