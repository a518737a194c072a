/**
 * `stepwise worker` and `stepwise api` as real processes (`node bin/stepwise.js <command>`), for tests that run
 * several of each against one Temporal server. Each resolves once its process says it is up, and is stopped with
 * `stop()` (SIGTERM, then SIGKILL after 10 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { untilOutput } from './process-output.js';

const root = join(import.meta.dirname, '..', '..');

/** A running `stepwise` process. */
export interface StepwiseProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, waits for the exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
}

export { freePort } from '../../cli/temporal-server.js';

/**
 * Spawns `node bin/stepwise.js <command>` with `env` over this process's environment and resolves when its output
 * matches `ready` (within `timeoutMs`, default 60 s: a worker bundles its workflows first).
 * @throws Error with the process's output if it exits or is not ready in time.
 */
export async function startStepwise(command: 'worker' | 'api', env: Record<string, string>, ready: RegExp, timeoutMs = 60_000): Promise<StepwiseProcess> {
  const child = spawn(process.execPath, [join(root, 'bin', 'stepwise.js'), command], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilOutput(child, ready, `stepwise ${command}`, timeoutMs).catch(async (err) => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    throw err;
  });
  let stopping: Promise<void> | undefined;
  return {
    child,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}
