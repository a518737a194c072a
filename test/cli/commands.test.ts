/**
 * The `stepwise` command as users run it (child processes through bin/stepwise.js): help, validate, `dev`'s
 * failure path when no Temporal server can be had, and `api`'s warning when it serves without auth beyond loopback.
 * (`stepwise dev` on a real server is test/web/dev.test.ts.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../support/net.js';

const root = join(import.meta.dirname, '..', '..');

function stepwise(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['bin/stepwise.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TEMPORAL_ADDRESS: '', TEMPORAL_CLI_PATH: '', ...env },
  });
}

describe('stepwise command', () => {
  it('--help lists the commands', () => {
    const out = stepwise(['--help']);
    expect(out.status).toBe(0);
    for (const cmd of ['dev', 'worker', 'api', 'validate', 'chat', 'migrate']) expect(out.stdout).toContain(cmd);
  });

  it('validate prints ok for valid configs and file:line:col path for broken ones, exiting 1', () => {
    const ok = stepwise(['validate', 'examples/barista/barista.agent.yaml', 'examples/support/support.agent.yaml']);
    expect(ok.status).toBe(0);
    expect(ok.stdout.match(/^ok: /gm)).toHaveLength(2);
    const bad = stepwise(['validate', 'test/fixtures/config/broken/unknown-target.agent.yaml']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown-target\.agent\.yaml:\d+:\d+ steps\[\d+\]\.routes\[\d+\]\.target: /);
  });

  it('dev names the three ways forward when the dev server cannot start', () => {
    const out = stepwise(['dev'], { TEMPORAL_CLI_PATH: '/nonexistent/temporal' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('/nonexistent/temporal');
    expect(out.stderr).toContain('TEMPORAL_CLI_PATH=');
    expect(out.stderr).toContain('TEMPORAL_ADDRESS=');
    expect(out.stderr).toContain('docker compose up');
  });

  it('dev reports an unreachable TEMPORAL_ADDRESS the same way', () => {
    const out = stepwise(['dev'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('cannot reach TEMPORAL_ADDRESS=127.0.0.1:1');
    expect(out.stderr).toContain('docker compose up');
  });

  it('api warns when it listens beyond loopback without auth, and not on loopback', async () => {
    /** Output of `stepwise api` up to its "Server listening" line (Temporal unreachable: it serves degraded). */
    const listen = async (host: string): Promise<string> => {
      const env = { ...process.env, STEPWISE_AUTH: 'off', HOST: host, PORT: '0', TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
      const child = spawn(process.execPath, ['bin/stepwise.js', 'api'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b));
      child.stderr.on('data', (b: Buffer) => (out += b));
      try {
        for (const deadline = Date.now() + 30_000; !/Server listening/.test(out) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 300)); // the warning follows the listening line
        return out;
      } finally {
        child.kill('SIGTERM');
      }
    };
    const open = await listen('0.0.0.0');
    expect(open).toMatch(/Server listening/);
    expect(open).toMatch(/listens on a non-loopback address WITHOUT authentication/);
    const loopback = await listen('127.0.0.1');
    expect(loopback).toMatch(/Server listening at http:\/\/127\.0\.0\.1:\d+/);
    expect(loopback).not.toMatch(/WITHOUT authentication/);
  }, 70_000);
});
