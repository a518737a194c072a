/**
 * The `temporal` CLI resolver (cli/temporal-cli.ts): its order, and the `go install` step driven through a stand-in
 * `go` on PATH (the real build runs in `.ci/run` and the global setup, where it takes minutes).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureTemporalCli, findInstalledTemporalCli, TEMPORAL_CLI_MODULE, TemporalCliNotFoundError } from '../../cli/temporal-cli.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'stepwise-cli-'));
}

function executable(path: string, body = '#!/bin/sh\nexit 0\n'): string {
  writeFileSync(path, body);
  chmodSync(path, 0o755);
  return path;
}

describe('temporal CLI resolver', () => {
  it('takes TEMPORAL_CLI_PATH first, then PATH, then .stepwise/bin', () => {
    const explicit = executable(join(dir(), 'my-temporal'));
    const pathDir = dir();
    executable(join(pathDir, 'temporal'));
    const state = dir();
    mkdirSync(join(state, 'bin'));
    executable(join(state, 'bin', 'temporal'));

    expect(findInstalledTemporalCli({ env: { TEMPORAL_CLI_PATH: explicit, PATH: pathDir }, stateDir: state })).toEqual({
      path: explicit,
      source: 'TEMPORAL_CLI_PATH',
    });
    expect(findInstalledTemporalCli({ env: { PATH: pathDir }, stateDir: state })).toEqual({ path: join(pathDir, 'temporal'), source: 'PATH' });
    expect(findInstalledTemporalCli({ env: { PATH: '' }, stateDir: state })).toEqual({ path: join(state, 'bin', 'temporal'), source: 'stepwise-bin' });
    expect(findInstalledTemporalCli({ env: { PATH: '' }, stateDir: dir() })).toBeUndefined();
  });

  it('refuses a TEMPORAL_CLI_PATH that is not an executable file instead of falling through', () => {
    expect(() => findInstalledTemporalCli({ env: { TEMPORAL_CLI_PATH: '/nonexistent/temporal' } })).toThrow(
      'TEMPORAL_CLI_PATH=/nonexistent/temporal is not an executable file',
    );
  });

  it('builds with `go install` into .stepwise/bin, showing progress', async () => {
    const goDir = dir();
    const argsFile = join(goDir, 'args');
    // Stand-in `go`: records its arguments and GOBIN, prints a progress line, writes the binary where GOBIN says.
    executable(
      join(goDir, 'go'),
      `#!/bin/sh\necho "$@ GOBIN=$GOBIN" > ${argsFile}\necho "go: downloading go.temporal.io/server v1.29.1" >&2\nprintf '#!/bin/sh\\n' > "$GOBIN/temporal"\n/bin/chmod +x "$GOBIN/temporal"\n`,
    );
    const state = dir();
    const lines: string[] = [];
    const cli = await ensureTemporalCli({ env: { PATH: goDir }, stateDir: state, download: false, log: (l) => lines.push(l) });
    expect(cli).toEqual({ path: join(state, 'bin', 'temporal'), source: 'go-install' });
    expect(readFileSync(argsFile, 'utf8').trim()).toBe(`install ${TEMPORAL_CLI_MODULE} GOBIN=${join(state, 'bin')}`);
    expect(lines[0]).toContain('building the Temporal dev server, first time only, a few minutes');
    expect(lines.some((l) => l.includes('go: downloading go.temporal.io/server'))).toBe(true);
    // The next call finds the build without building again.
    expect(await ensureTemporalCli({ env: { PATH: '' }, stateDir: state, download: false })).toEqual({ path: cli.path, source: 'stepwise-bin' });
  });

  it('reports what each way answered and the ways forward when all fail', async () => {
    const goDir = dir();
    executable(join(goDir, 'go'), '#!/bin/sh\necho "go: module lookup disabled by GOPROXY=off" >&2\nexit 1\n');
    const failing = ensureTemporalCli({ env: { PATH: goDir }, stateDir: dir(), download: false, log: () => {} });
    await expect(failing).rejects.toBeInstanceOf(TemporalCliNotFoundError);
    const message = ((await failing.catch((e: Error) => e)) as Error).message;
    expect(message).toContain('`temporal` on PATH: not found');
    expect(message).toContain(`go install ${TEMPORAL_CLI_MODULE}: exit code 1: go: module lookup disabled by GOPROXY=off`);
    expect(message).toContain('TEMPORAL_CLI_PATH=/path/to/temporal');
    expect(message).toContain('TEMPORAL_ADDRESS=host:7233');

    const noGo = await ensureTemporalCli({ env: { PATH: '' }, stateDir: dir(), download: false }).catch((e: Error) => e);
    expect((noGo as Error).message).toContain('go install: `go` is not on PATH');
  });
});
