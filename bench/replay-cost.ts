/**
 * What a session's replay costs the worker: records one session of `--turns` one-decision turns on the dev server
 * (an in-process worker, the zero-latency scripted model, archive off), then replays its history `--rounds` times
 * through the workflow code (`Worker.runReplayHistories`: one replay worker, the bundle built once; the path a worker
 * takes for a session evicted from its cache), and prints the replay's wall and CPU milliseconds per turn (median of
 * the rounds) beside the bare workflow's: the echo workflow (`bench/workflows/echo.ts`) with the same number of
 * updates, recorded and replayed the same way.
 *
 *   npm run bench:replay -- --turns 100 --rounds 5 [--json] [--save DIR]
 *
 * To see where the replay's time goes (Node refuses `--cpu-prof` in NODE_OPTIONS):
 * `node --cpu-prof --cpu-prof-dir DIR --import tsx bench/replay-cost.ts`, then `tsx bench/scale/profile.ts DIR`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { TemporalSessions } from '../api/temporal-sessions.js';
import { responses, writeAgent } from '../test/support/int-agent.js';
import { createSessionWorker } from '../workers/worker.js';
import { workflowsPath } from '../workers/workflows-path.js';
import { sessionWorkflowId } from '../workflows/shared.js';
import { emitJson, integerOption, log, onCleanUp, percentile, runBench, temporalServer } from './support.js';
import { echoUpdate, echoWorkflow } from './workflows/echo.js';

const positive = integerOption(1);
const options = new Command('bench:replay')
  .option('--turns <n>', 'turns in the recorded session (and updates of the echo workflow)', positive, 100)
  .option('--rounds <n>', 'replays of each history', positive, 5)
  .option('--save <dir>', 'write the two recorded histories there (JSON of `temporal workflow show -o json`)')
  .option('--json', 'print the figures as JSON')
  .parse()
  .opts<{ turns: number; rounds: number; save?: string; json?: boolean }>();

/** Per replay of one history: wall and CPU (this process, all threads) milliseconds, and per turn. */
interface ReplayFigures {
  events: number;
  wallMs: number;
  cpuMs: number;
  wallMsPerTurn: number;
  cpuMsPerTurn: number;
}

async function replayCost(history: unknown, workflowId: string, workflowsFile: string): Promise<ReplayFigures> {
  // One replay worker for all rounds (bundled once): the first replay also pays the worker's start, so the median is
  // taken over the rounds after it.
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: workflowsFile, logger: new DefaultLogger('WARN') });
  const walls: number[] = [];
  const cpus: number[] = [];
  const histories = Array.from({ length: options.rounds + 1 }, (_, r) => ({ workflowId: `${workflowId}-${r}`, history: history as never }));
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let first = true;
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
    if (result.error) throw result.error;
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (!first) {
      walls.push(wall);
      cpus.push((cpu.user + cpu.system) / 1000);
    }
    first = false;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  }
  const events = (history as { events: unknown[] }).events.length;
  const wallMs = percentile(walls, 50);
  const cpuMs = percentile(cpus, 50);
  return { events, wallMs, cpuMs, wallMsPerTurn: wallMs / options.turns, cpuMsPerTurn: cpuMs / options.turns };
}

async function measure() {
  const server = await temporalServer();
  const connection = await Connection.connect({ address: server.address });
  onCleanUp('client connection', () => connection.close());
  const client = new Client({ connection, namespace: server.namespace });
  const nc = await NativeConnection.connect({ address: server.address });
  onCleanUp('worker connection', () => nc.close());
  const run = Date.now();
  const agent = await writeAgent('replay', responses(options.turns + 10), { max_turns_per_run: options.turns + 10 });
  const echoPath = join(import.meta.dirname, 'workflows', 'echo.ts');
  const workers = await Promise.all([
    Worker.create({ connection: nc, namespace: server.namespace, taskQueue: `replay-echo-${run}`, workflowsPath: echoPath }),
    createSessionWorker({ connection: nc, namespace: server.namespace, taskQueue: `replay-${run}`, agents: [agent], log: () => {} }),
  ]);
  const sessions = new TemporalSessions({ client, taskQueue: `replay-${run}` });
  const sessionId = `replay-${run}`;
  let echoHandle!: WorkflowHandle;
  const running = Promise.all(workers.map((w) => w.run()));
  try {
    log(`recording a session of ${options.turns} turns and an echo workflow of as many updates`);
    await sessions.start(agent.snapshot, sessionId);
    for (let i = 0; i < options.turns; i++) await sessions.send(sessionId, { messageId: `m${i}`, text: `hello ${i}` });
    echoHandle = await client.workflow.start(echoWorkflow, { taskQueue: `replay-echo-${run}`, workflowId: `replay-echo-${run}`, args: [] });
    for (let i = 0; i < options.turns; i++) await echoHandle.executeUpdate(echoUpdate, { args: [`m${i}`], updateId: `m${i}` });
  } finally {
    for (const w of workers) w.shutdown();
    await running;
  }
  const sessionHistory = await client.workflow.getHandle(sessionWorkflowId(sessionId)).fetchHistory();
  const echoHistory = await echoHandle.fetchHistory();
  if (options.save) {
    mkdirSync(options.save, { recursive: true });
    // The JSON `temporal workflow show -o json` prints, which `Worker.runReplayHistory` reads back (as the recorded
    // fixtures, test/support/histories.ts).
    writeFileSync(join(options.save, 'session.json'), historyToJSON(sessionHistory));
    writeFileSync(join(options.save, 'echo.json'), historyToJSON(echoHistory));
  }
  log(`replaying each history ${options.rounds} times`);
  const stepwise = await replayCost(sessionHistory, sessionWorkflowId(sessionId), workflowsPath);
  const bare = await replayCost(echoHistory, echoHandle.workflowId, echoPath);
  return { date: new Date().toISOString(), turns: options.turns, rounds: options.rounds, stepwise, bare, ratio: stepwise.cpuMsPerTurn / bare.cpuMsPerTurn };
}

await runBench(measure, (figures) => {
  if (emitJson(figures, { json: Boolean(options.json) })) return;
  const row = (name: string, f: ReplayFigures) =>
    `${name.padEnd(9)} ${String(f.events).padStart(7)} ${f.wallMs.toFixed(0).padStart(8)} ${f.cpuMs.toFixed(0).padStart(7)} ${f.wallMsPerTurn.toFixed(2).padStart(11)} ${f.cpuMsPerTurn.toFixed(2).padStart(10)}`;
  console.log(`replay of ${figures.turns} turns, median of ${figures.rounds} rounds`);
  console.log('history    events  wall ms  cpu ms  wall ms/turn  cpu ms/turn');
  console.log(row('stepwise', figures.stepwise));
  console.log(row('bare', figures.bare));
  console.log(`CPU per turn, stepwise / bare: ${figures.ratio.toFixed(1)}`);
});
