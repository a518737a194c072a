/**
 * `superviseChildren` with real processes (test/support/supervised-process.ts): a signal to the one pid of the owner
 * stops its children and then the owner; a child that ignores signals is killed after the grace period; a vanished
 * parent (npx's shell killed by a SIGTERM to npm) counts as SIGTERM; a graceful stop runs instead of forwarding.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = join(import.meta.dirname, '..', 'support', 'supervised-process.ts');

/** Whether a process with this pid exists (signal 0 checks without signalling). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the fixture (optionally under `sh -c`, as npx runs a bin) and resolves once it printed its pids. */
async function startFixture(mode: string, viaShell = false) {
  const node = [process.execPath, '--import', 'tsx', fixture, mode];
  // The trailing `:` keeps the shell from exec'ing node, so node's parent is the shell, as under `npm exec`.
  const proc: ChildProcess = viaShell
    ? spawn('sh', ['-c', `${node.map((a) => `'${a}'`).join(' ')}; :`], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  for (const deadline = Date.now() + 60_000; !stdout.includes('\n'); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`fixture did not start: ${stdout}`);
  }
  const pids = JSON.parse(stdout.split('\n')[0]!) as { pid: number; children: number[] };
  return { proc, pids, output: () => stdout };
}

/** Resolves once none of `pids` runs; rejects after `timeoutMs`. */
async function gone(pids: number[], timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; pids.some(running); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error(`still running: ${pids.filter(running).join(', ')}`);
  }
}

describe('superviseChildren', { timeout: 90_000 }, () => {
  it('a SIGTERM to the owner pid alone is forwarded to its children; the owner exits 143 once they are gone', async () => {
    const { proc, pids } = await startFixture('forward');
    expect(pids.children).toHaveLength(2);
    expect(pids.children.every(running)).toBe(true);
    const exited = once(proc, 'exit');
    process.kill(pids.pid, 'SIGTERM');
    expect(await exited).toEqual([143, null]);
    await gone(pids.children);
  });

  it('SIGINT: a child that ignores signals gets SIGKILL after the grace period; the owner exits 130', async () => {
    const { proc, pids } = await startFixture('stubborn');
    const exited = once(proc, 'exit');
    const sent = Date.now();
    process.kill(pids.pid, 'SIGINT');
    expect(await exited).toEqual([130, null]);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(450);
    await gone(pids.children);
  });

  it('stops when its parent is gone (a SIGTERM to the shell between npm and node)', async () => {
    const { proc, pids } = await startFixture('forward', true);
    expect(proc.pid).not.toBe(pids.pid);
    process.kill(proc.pid!, 'SIGTERM'); // the shell dies at once; node is reparented
    await gone([pids.pid, ...pids.children]);
  });

  it('runs the graceful stop instead of forwarding, then lets the owner end normally', async () => {
    const { proc, pids, output } = await startFixture('graceful');
    const exited = once(proc, 'exit');
    process.kill(pids.pid, 'SIGINT');
    expect(await exited).toEqual([0, null]);
    expect(output()).toContain('stopped gracefully');
    await gone(pids.children);
  });
});
