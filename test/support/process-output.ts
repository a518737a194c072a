/**
 * Waiting for a spawned process to say it is up, for the test and bench helpers that start real servers
 * (redis-server, `stepwise worker` / `api`): its stdout and stderr are collected until `ready` matches.
 */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves with the output so far once `ready` matches the process's stdout + stderr (as one text).
 *
 * @param what names the process in errors (e.g. `redis-server`, `stepwise api`).
 * @param timeoutMs how long to wait, in ms.
 * @throws Error with the output when the process exits first or `timeoutMs` passes. The process is left as is:
 *   the caller decides whether to kill it. Either way its output stops being collected here once this settles.
 */
export function untilOutput(child: ChildProcess, ready: RegExp, what: string, timeoutMs: number): Promise<string> {
  let output = '';
  return new Promise((resolve, reject) => {
    const settle = (done: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      done();
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) settle(() => resolve(output));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => reject(new Error(`${what} exited (${signal ?? code}) before it was ready:\n${output}`)));
    const timer = setTimeout(() => settle(() => reject(new Error(`${what} not ready within ${timeoutMs} ms:\n${output}`))), timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
