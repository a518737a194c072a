/**
 * A process that owns child processes through `superviseChildren`, for test/cli/child-supervisor.test.ts (run with
 * `node --import tsx`). Argument: `forward` (two children, signals forwarded), `stubborn` (a child that ignores
 * SIGINT/SIGTERM, grace 500 ms) or `graceful` (a graceful stop that stops the child itself, then exit code 0).
 * Prints `{"pid":…,"children":[…]}` on one line once its children run.
 */
import { spawn } from 'node:child_process';
import { superviseChildren } from '../../cli/child-supervisor.js';

const mode = process.argv[2] ?? 'forward';
// Each child says `ready` once its signal handlers are installed.
const idle = "setInterval(() => {}, 1000); console.log('ready')";
const stubborn = `process.on('SIGINT', () => {}); process.on('SIGTERM', () => {}); ${idle}`;
const supervisor = superviseChildren({ graceMs: mode === 'stubborn' ? 500 : 5_000, parentCheckMs: 100, log: () => {} });
const start = (code: string) => supervisor.adopt(spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] }));
const children = mode === 'forward' ? [start(idle), start(idle)] : [start(mode === 'stubborn' ? stubborn : idle)];
await Promise.all(children.map((c) => new Promise((r) => c.stdout.once('data', r))));
if (mode === 'graceful') {
  const done = new Promise<void>((resolveDone) =>
    supervisor.setGracefulStop(async () => {
      children[0]!.kill('SIGTERM');
      await new Promise((r) => children[0]!.once('exit', r));
      resolveDone();
    }),
  );
  void done.then(() => {
    supervisor.dispose();
    console.log('stopped gracefully');
  });
}
console.log(JSON.stringify({ pid: process.pid, children: children.map((c) => c.pid) }));
