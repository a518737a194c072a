/**
 * `stepwise dev` without `DATABASE_URL` (issue 19): the real command, a child process in a fresh directory, on the test
 * run's Temporal server. It opens the embedded archive (PGlite under `.stepwise/archive`, served to the unchanged `pg`
 * code), so `GET /sessions` lists a session, and lists it again after a restart, with its history; `--no-archive`
 * turns it off (503 ARCHIVE_UNAVAILABLE), and time travel reads the embedded archive's snapshots.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { responses, writeAgent } from '../support/int-agent.js';
import { closedPort } from '../support/net.js';
import { temporalServer } from '../support/temporal.js';

const root = join(import.meta.dirname, '..', '..');
const cwd = mkdtempSync(join(tmpdir(), 'stepwise-dev-archive-'));
const running: ChildProcess[] = [];

/** Starts `stepwise dev` in `cwd` and resolves with its API URL and its output so far. */
async function startDev(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ url: string; output: () => string; child: ChildProcess }> {
  let output = '';
  const child = spawn(process.execPath, [join(root, 'bin/stepwise.js'), 'dev', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  for (const deadline = Date.now() + 150_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const url = output.match(/API:\s+(\S+?)\/?\n/)?.[1];
    if (url) return { url, output: () => output, child };
    if (child.exitCode !== null) break;
  }
  throw new Error(`stepwise dev did not print its URL:\n${output}`);
}

async function stopDev(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 30_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
};

afterAll(async () => {
  for (const child of running) await stopDev(child);
  rmSync(cwd, { recursive: true, force: true });
});

describe('`stepwise dev` with its embedded archive (real command, PGlite, real Temporal)', () => {
  it('lists sessions after a restart; --no-archive turns it off', { timeout: 420_000 }, async () => {
    const temporal = temporalServer();
    const agent = await writeAgent('embedded', responses(20));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      STEPWISE_TASK_QUEUE: `stepwise-dev-archive-${process.pid}`,
      PORT: String(await closedPort()),
      DATABASE_URL: '',
      STEPWISE_AGENTS: agent.dir,
    };
    const sessionId = `embedded-${Date.now().toString(36)}`;

    const first = await startDev(env);
    expect(first.output()).toMatch(/archive:\s+on \(embedded PGlite in \.stepwise\/archive/);
    expect(existsSync(join(cwd, '.stepwise', 'archive'))).toBe(true);
    const created = await json(`${first.url}/sessions`, { method: 'POST', body: JSON.stringify({ agentId: 'embedded', sessionId, message: 'hello' }) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await json(`${first.url}/sessions/${sessionId}/messages`, { method: 'POST', body: JSON.stringify({ text: 'again', messageId: 'm2' }) })).status).toBe(200);
    await expect.poll(async () => (await json(`${first.url}/sessions`)).body?.sessions?.map((s: { sessionId: string }) => s.sessionId), { timeout: 10_000 }).toContain(sessionId);
    await stopDev(first.child);
    expect(first.child.exitCode).toBe(0);

    const second = await startDev(env);
    const listed = await json(`${second.url}/sessions`);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions).toEqual([expect.objectContaining({ sessionId, agentName: 'embedded', turnCount: 2 })]);
    const history = await json(`${second.url}/sessions/${sessionId}/history`);
    expect(history.body).toMatchObject({ source: 'archive', turns: [{ turn: 1, reply: 'reply 0' }, { turn: 2, reply: 'reply 1' }] });
    // Time travel reads the embedded archive's snapshots (the run holds them too; a fork at 1 works either way).
    const forked = await json(`${second.url}/sessions/${sessionId}/fork`, { method: 'POST', body: JSON.stringify({ atTurn: 1, sessionId: `${sessionId}-fork` }) });
    expect(forked.status, JSON.stringify(forked.body)).toBe(201);
    expect(forked.body).toMatchObject({ parentSessionId: sessionId, forkedAtTurn: 1, turns: 1 });
    await stopDev(second.child);

    const off = await startDev(env, ['--no-archive']);
    expect(off.output()).toMatch(/archive:\s+off/);
    expect((await json(`${off.url}/sessions`)).body.error.code).toBe('ARCHIVE_UNAVAILABLE');
    await stopDev(off.child);
  });
});
