/**
 * A worker process paused (SIGSTOP) for longer than the SDK's 5 s isolate timeout while its workflow thread is busy,
 * on the real Temporal dev server: with Stepwise's worker options (`isolateExecutionTimeout` 60 s, workers/recovery.ts)
 * it carries on when resumed; with the SDK's 5 s the watchdog fires in the middle of the activation's promise callbacks
 * and Node aborts the whole process ("async hook stack has become corrupted", nodejs/node#38503), the crash the chaos
 * suite's worker stalls hit (docs/chaos.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal, temporalServer } from '../support/temporal.js';

const root = join(import.meta.dirname, '..', '..');
/** Longer than the SDK's default isolate timeout (5 s). */
const STALL_MS = 7_000;

/** A running test/support/stall/worker-process.ts: its output so far, its answered-update count, and its exit. */
interface Busy {
  child: ChildProcess;
  output: () => string;
  answered: () => number;
  exited: Promise<number | null>;
}

/** Spawns the busy worker on `taskQueue` with `env` added, and resolves once it has answered its first 25 updates. */
async function startBusyWorker(taskQueue: string, env: Record<string, string> = {}): Promise<Busy> {
  const { address, namespace } = temporalServer();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/support/stall/worker-process.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, STEPWISE_TASK_QUEUE: taskQueue, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const counts = [...output.matchAll(/updates (\d+)/g)];
    if (counts.length > 0) answered = Number(counts.at(-1)![1]);
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const busy = await Promise.race([
    (async () => {
      while (answered === 0) await sleep(100);
      return true;
    })(),
    exited.then(() => false),
  ]);
  if (!busy) throw new Error(`busy worker exited before it was busy:\n${output}`);
  return { child, output: () => output, answered: () => answered, exited };
}

/** Pauses `busy` for {@link STALL_MS}, resumes it, and gives it 3 s; resolves whether it is still running. */
async function stall(busy: Busy): Promise<boolean> {
  busy.child.kill('SIGSTOP');
  await sleep(STALL_MS);
  busy.child.kill('SIGCONT');
  return Promise.race([busy.exited.then(() => false), sleep(3_000).then(() => true)]);
}

describe('a worker paused longer than the SDK isolate timeout', () => {
  let env: TestWorkflowEnvironment;
  const children: ChildProcess[] = [];
  const queues: string[] = [];

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const queue of queues) {
      for (let k = 0; k < 4; k++) await env.client.workflow.getHandle(`${queue}-${k}`).terminate('test over').catch(() => {});
    }
    await env?.teardown();
  });

  it('carries on with Stepwise worker options: two 7 s stalls mid-activation, then more updates answered', async () => {
    const queue = `stepwise-int-stall-${process.pid}-${Date.now().toString(36)}`;
    queues.push(queue);
    const busy = await startBusyWorker(queue);
    children.push(busy.child);
    for (let i = 1; i <= 2; i++) expect(await stall(busy), `exited after stall ${i}:\n${busy.output()}`).toBe(true);
    const before = busy.answered();
    const deadline = Date.now() + 30_000;
    while (busy.answered() <= before && Date.now() < deadline) await sleep(200);
    expect(busy.answered(), busy.output()).toBeGreaterThan(before);
    expect(busy.output()).not.toMatch(/async hook stack/);
  }, 120_000);

  it('crashes at the SDK default (5 s), so the setup above does pause mid-activation', async () => {
    const queue = `stepwise-int-stall5-${process.pid}-${Date.now().toString(36)}`;
    queues.push(queue);
    const busy = await startBusyWorker(queue, { STEPWISE_ISOLATE_TIMEOUT_MS: '5000' });
    children.push(busy.child);
    // The pause lands in an activation's microtasks most times (3 of 3 when this test was written; a loaded CI run
    // missed 3 in a row, 2026-12-07); up to 8 tries keep misses from failing the test.
    let running = true;
    for (let i = 1; i <= 8 && running; i++) running = await stall(busy);
    expect(running, busy.output()).toBe(false);
    expect(busy.output()).toMatch(/async hook stack has become corrupted/);
  }, 180_000);
});
