/**
 * Stopping a CLI process and its child processes (the Temporal dev server of `stepwise dev`) when the process alone
 * is told to stop: a process manager signals one pid, not the process group, so children would otherwise outlive it.
 *
 * Also stops when the parent process goes away: `npx stepwise dev` runs `npm exec` -> `sh -c stepwise` -> node, and a
 * SIGTERM to npm's pid kills only that shell (npm forwards the signal to it), which leaves node reparented to init.
 *
 * Node only.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

export interface ChildSupervisorOptions {
  /** Signals that stop the process. Default `SIGINT`, `SIGTERM`. */
  signals?: NodeJS.Signals[];
  /**
   * After the first stop request, how long (ms) the graceful stop, or the children after the forwarded signal, get
   * before every child still alive is sent SIGKILL and the process exits. Default 15 000.
   */
  graceMs?: number;
  /** How often (ms) to check whether the parent process is gone, which then counts as SIGTERM; `false`: never. Default 1 000. */
  parentCheckMs?: number | false;
  /** Ends the process; default `process.exit`. The code is 128 + the signal number (130 for SIGINT, 143 for SIGTERM). */
  exit?: (code: number) => void;
  /** Where to say what is happening; default `console.error`. */
  log?: (line: string) => void;
}

/** A supervisor installed on this process. */
export interface ChildSupervisor {
  /** Adds a child to stop with the process; returns it. Exited children are forgotten. */
  adopt<C extends ChildProcess>(child: C): C;
  /**
   * Sets (or with `undefined` clears) the graceful stop run on the first stop request instead of forwarding the signal
   * to the children: the owner stops its work and its children in order (e.g. the worker before the server it polls).
   * When it resolves the supervisor does nothing more; the owner's code returns as usual.
   */
  setGracefulStop(stop: (() => Promise<void>) | undefined): void;
  /** The signal of the first stop request (`SIGTERM` for a vanished parent), or `undefined` while none came. */
  readonly stopSignal: NodeJS.Signals | undefined;
  /** Removes the signal handlers and the parent check (the owner has finished). Idempotent. */
  dispose(): void;
}

const DEFAULT_GRACE_MS = 15_000;
const DEFAULT_PARENT_CHECK_MS = 1_000;

/**
 * Installs signal handlers and a parent check on this process. On the first SIGINT/SIGTERM (or when the parent is
 * gone): runs the graceful stop if one is set, else forwards the signal to every adopted child and exits once they
 * have all exited. Either way, after `graceMs` the children still alive get SIGKILL and the process exits; a second
 * signal does that at once. When the process exits for another reason (an uncaught error), live children get SIGTERM.
 *
 * Never throws; a child that cannot be signalled (already gone) is skipped.
 */
export function superviseChildren(opts: ChildSupervisorOptions = {}): ChildSupervisor {
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const log = opts.log ?? ((line: string) => console.error(line));
  const children = new Set<ChildProcess>();
  let gracefulStop: (() => Promise<void>) | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  let deadline: NodeJS.Timeout | undefined;

  const alive = () => [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  const signal = (sig: NodeJS.Signals) => {
    for (const child of alive()) child.kill(sig);
  };
  const exitCode = (sig: NodeJS.Signals) => 128 + (constants.signals[sig] ?? 15);
  const forceExit = (sig: NodeJS.Signals) => {
    signal('SIGKILL');
    dispose();
    exit(exitCode(sig));
  };
  const exitWhenChildrenGone = (sig: NodeJS.Signals) => {
    const check = () => {
      if (alive().length > 0) return;
      dispose();
      exit(exitCode(sig));
    };
    for (const child of alive()) child.once('exit', check);
    check();
  };

  const onStop = (sig: NodeJS.Signals) => {
    if (stopSignal) {
      log(`${sig} again: killing ${alive().length} child process(es) and exiting`);
      forceExit(stopSignal);
      return;
    }
    stopSignal = sig;
    deadline = setTimeout(() => {
      log(`still stopping after ${graceMs} ms: killing ${alive().length} child process(es) and exiting`);
      forceExit(sig);
    }, graceMs);
    deadline.unref(); // a graceful stop that empties the event loop ends the process without waiting for it
    if (gracefulStop) {
      gracefulStop().then(
        () => clearTimeout(deadline),
        (err: unknown) => {
          log(`stopping failed (${(err as Error)?.message ?? String(err)}); killing child processes`);
          forceExit(sig);
        },
      );
      return;
    }
    signal(sig);
    exitWhenChildrenGone(sig);
  };

  const handlers = new Map(signals.map((sig) => [sig, () => onStop(sig)] as const));
  for (const [sig, handler] of handlers) process.on(sig, handler);
  const parent = process.ppid;
  const parentCheck =
    opts.parentCheckMs === false
      ? undefined
      : setInterval(() => {
          if (process.ppid === parent || stopSignal) return;
          log(`parent process ${parent} is gone: stopping`);
          onStop('SIGTERM');
        }, opts.parentCheckMs ?? DEFAULT_PARENT_CHECK_MS).unref();
  const onExit = () => signal('SIGTERM');
  process.on('exit', onExit);

  let disposed = false;
  function dispose() {
    if (disposed) return;
    disposed = true;
    for (const [sig, handler] of handlers) process.off(sig, handler);
    process.off('exit', onExit);
    clearInterval(parentCheck);
    clearTimeout(deadline);
  }

  return {
    adopt(child) {
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    setGracefulStop(stop) {
      gracefulStop = stop;
    },
    get stopSignal() {
      return stopSignal;
    },
    dispose,
  };
}
