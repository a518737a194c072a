/**
 * The `stepwise` command as users run it (child processes through bin/stepwise.js): help, validate, and `dev`'s
 * failure path when no Temporal server can be had (the only path this offline machine can reach).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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
});
