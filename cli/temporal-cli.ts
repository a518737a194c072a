/**
 * Finding the `temporal` CLI binary, whose `temporal server start-dev` is Temporal's real dev server (SQLite
 * persistence, Web UI). One resolver for `stepwise dev`, the test suite's global setup and `.ci/run`.
 *
 * Order (first that yields an executable file wins):
 * 1. `TEMPORAL_CLI_PATH`;
 * 2. `temporal` on `PATH`;
 * 3. `.stepwise/bin/temporal` (a previous `go install` or download);
 * 4. `@temporalio/testing`'s cached download into `.stepwise/bin/download` (needs the internet);
 * 5. when `go` is on `PATH`: `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into `.stepwise/bin`,
 *    with visible progress (a few minutes the first time; Go's module and build caches make later builds quick).
 * When all fail, {@link TemporalCliNotFoundError} names the ways forward.
 *
 * Node only.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * The Go module built when nothing else is found. v1.5.1 is the newest tag whose go.mod has no `replace` directive
 * (later tags have one, which `go install pkg@version` refuses); it bundles Temporal server 1.29.1.
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** Where a found binary came from. */
export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'stepwise-bin' | 'download' | 'go-install';

export interface TemporalCli {
  /** Absolute path of the executable. */
  path: string;
  source: TemporalCliSource;
}

export interface FindTemporalCliOptions {
  env?: NodeJS.ProcessEnv;
  /** Folder holding `bin/` (default `.stepwise` under the current directory). */
  stateDir?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Try `@temporalio/testing`'s download (default true). */
  download?: boolean;
  /** Build with `go install` when Go is installed (default true). */
  build?: boolean;
}

/** No way to the binary worked; `attempts` says what each way answered. Not retryable without a change. */
export class TemporalCliNotFoundError extends Error {
  override readonly name = 'TemporalCliNotFoundError';
  constructor(readonly attempts: string[]) {
    super(
      [
        'No Temporal CLI (the `temporal` binary that runs Temporal\'s dev server) could be found or built:',
        ...attempts.map((a) => `  - ${a}`),
        'Ways forward:',
        '  1. install Go (1.22+) so Stepwise can build it: go install ' + TEMPORAL_CLI_MODULE,
        '  2. put an installed `temporal` binary on PATH, or set TEMPORAL_CLI_PATH=/path/to/temporal',
        '  3. run against a server you already have: TEMPORAL_ADDRESS=host:7233 (e.g. `docker compose up`)',
      ].join('\n'),
    );
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** First `name` found on `PATH`, if any. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Finds the `temporal` binary without downloading or building anything (ways 1-3), or `undefined`.
 *
 * @throws Error when `TEMPORAL_CLI_PATH` is set but not an executable file (a typo must not fall through silently).
 */
export function findInstalledTemporalCli(opts: Pick<FindTemporalCliOptions, 'env' | 'stateDir'> = {}): TemporalCli | undefined {
  const env = opts.env ?? process.env;
  if (env.TEMPORAL_CLI_PATH) {
    const path = resolve(env.TEMPORAL_CLI_PATH);
    if (!isExecutable(path)) throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    return { path, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const local = join(stateBin(opts.stateDir), 'temporal');
  if (isExecutable(local)) return { path: local, source: 'stepwise-bin' };
  return undefined;
}

/**
 * Finds, downloads or builds the `temporal` binary, in the order of this module's header.
 *
 * @throws TemporalCliNotFoundError (not retryable without installing something) when every way failed.
 */
export async function ensureTemporalCli(opts: FindTemporalCliOptions = {}): Promise<TemporalCli> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const installed = findInstalledTemporalCli(opts);
  if (installed) return installed;
  const attempts = ['TEMPORAL_CLI_PATH: not set', '`temporal` on PATH: not found', `${join(stateBin(opts.stateDir), 'temporal')}: not found`];
  const bin = stateBin(opts.stateDir);

  if (opts.download !== false) {
    try {
      return { path: await downloadWithTestingPackage(join(bin, 'download')), source: 'download' };
    } catch (err) {
      attempts.push(`@temporalio/testing download: ${firstLine(err)}`);
    }
  }

  const go = onPath('go', env);
  if (opts.build === false) attempts.push('go install: not tried (disabled)');
  else if (!go) attempts.push('go install: `go` is not on PATH');
  else {
    try {
      return { path: await goInstall(go, bin, env, log), source: 'go-install' };
    } catch (err) {
      attempts.push(`go install ${TEMPORAL_CLI_MODULE}: ${firstLine(err)}`);
    }
  }
  throw new TemporalCliNotFoundError(attempts);
}

function stateBin(stateDir?: string): string {
  return resolve(stateDir ?? '.stepwise', 'bin');
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/**
 * `@temporalio/testing` downloads the CLI when it starts a dev server; start one (which downloads into `dir`), stop
 * it, and return the downloaded file. Fails fast where the download host is unreachable.
 */
async function downloadWithTestingPackage(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download', downloadDir: dir } } });
  await env.teardown();
  const file = readdirSync(dir)
    .map((f) => join(dir, f))
    .find((f) => /temporal/i.test(f) && isExecutable(f));
  if (!file) throw new Error(`the download left no executable in ${dir}`);
  return file;
}

/** Builds the CLI with `go install` into `bin`, streaming Go's own progress lines to `log`. */
function goInstall(go: string, bin: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  mkdirSync(bin, { recursive: true });
  log(`stepwise: building the Temporal dev server, first time only, a few minutes (go install ${TEMPORAL_CLI_MODULE})`);
  const started = Date.now();
  return new Promise((resolvePath, reject) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
      env: { ...env, GOBIN: bin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-2_000);
      for (const line of text.split('\n')) if (line.trim()) log(`  ${line}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // Go prints nothing while it compiles: a line a minute says it is still working.
    const ticker = setInterval(() => log(`  still building (${Math.round((Date.now() - started) / 60_000)} min)`), 60_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      const path = join(bin, 'temporal');
      if (code === 0 && existsSync(path)) {
        log(`stepwise: built ${path} in ${Math.round((Date.now() - started) / 1000)} s`);
        resolvePath(path);
      } else reject(new Error(`exit code ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}
