/**
 * `npm run bench:temporal`: Stepwise on Temporal's real dev server, measured in one run. Prints figures; asserts
 * nothing (exit code 0 unless something broke).
 * 1. bare update round trip: sequential `executeUpdate` calls to a workflow whose handler returns its argument
 *    (`bench/workflows/echo.ts`), p50/p99 in ms: the baseline;
 * 2. one-decision turn through the REST API over real HTTP (`POST /sessions/:id/messages`, scripted RESPOND),
 *    p50/p99 in ms and as a ratio to 1. The two alternate call by call, so both see the same machine load: compare
 *    the ratios across machines, not the milliseconds;
 * 3. history events and JSON bytes per turn of the session of 2 (all its runs; per run when it continued as new);
 * 4. turns/s with {@link PARALLEL_SESSIONS} sessions each sending sequential messages for {@link PARALLEL_MS}, one
 *    worker;
 * 5. worker SIGKILL mid tool call -> the interrupted turn's reply, in ms: a worker process
 *    (`test/support/worker-process.ts`) is killed while the `slow` tool runs, a second one is started, and the tool
 *    activity is retried once its 20 s heartbeat timeout (workflows/session.ts) expires.
 *
 * Server: `TEMPORAL_ADDRESS` (and `TEMPORAL_NAMESPACE`) when set, else a dev server started and stopped here.
 * Everything started here is stopped at the end, on error, and on SIGINT/SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { TemporalSessions } from '../api/temporal-sessions.js';
import { responses, writeAgent } from '../test/support/int-agent.js';
import { latency, log, onCleanUp, postJson, runBench, runWorkers, serveApi, sessionHistory, temporalServer, waitFor } from './support.js';
import { echoUpdate, echoWorkflow, stopEcho } from './workflows/echo.js';

const ROOT = join(import.meta.dirname, '..');
/** Measured round trips of 1 and 2 (each), after {@link WARMUP} unmeasured ones. */
const TURNS = 300;
const WARMUP = 20;
const PARALLEL_SESSIONS = 20;
const PARALLEL_MS = 12_000;
/** Script of 5: enter `work`, run `slow` for 3 s (the worker is killed meanwhile), reply. */
const CRASH_SCRIPT = [
  { action: 'MOVE', step_id: 'work' },
  { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 3_000 } }] },
  { action: 'RESPOND', response: 'survived' },
];

const run = Date.now().toString(36);

/** 1 and 2, alternating: one bare update, then one turn over HTTP. */
async function roundTrips(client: Client, base: string, agentName: string, echoQueue: string, sessionId: string) {
  const echo = await client.workflow.start(echoWorkflow, { taskQueue: echoQueue, workflowId: `bench-echo-${run}` });
  onCleanUp('echo workflow', () => echo.signal(stopEcho));
  await postJson(base, '/sessions', { agentId: agentName, sessionId });
  const bare: number[] = [];
  const turn: number[] = [];
  for (let i = 0; i < WARMUP + TURNS; i++) {
    const t0 = performance.now();
    const echoed = await echo.executeUpdate(echoUpdate, { args: [`ping ${i}`] });
    const t1 = performance.now();
    const result = await postJson(base, `/sessions/${sessionId}/messages`, { text: `message ${i}`, messageId: `m${i}` });
    const t2 = performance.now();
    if (echoed !== `ping ${i}` || result.reply !== `reply ${i}`) throw new Error(`round trip ${i}: got ${echoed} / ${JSON.stringify(result.reply)}`);
    if (i >= WARMUP) {
      bare.push(t1 - t0);
      turn.push(t2 - t1);
    }
  }
  return { bare: latency(bare), turn: latency(turn), slowestTurnMs: Math.max(...turn) };
}

/** 4: sessions sending sequential messages side by side until {@link PARALLEL_MS} has passed. */
async function parallelTurns(base: string, agentName: string) {
  const ids = Array.from({ length: PARALLEL_SESSIONS }, (_, i) => `bench-parallel-${run}-${i}`);
  await Promise.all(ids.map((sessionId) => postJson(base, '/sessions', { agentId: agentName, sessionId })));
  const times: number[] = [];
  const started = performance.now();
  const deadline = started + PARALLEL_MS;
  await Promise.all(
    ids.map(async (sessionId) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t0 = performance.now();
        const result = await postJson(base, `/sessions/${sessionId}/messages`, { text: `message ${i}`, messageId: `p${i}` });
        if (result.reply !== `reply ${i}`) throw new Error(`${sessionId} turn ${i}: got ${JSON.stringify(result.reply)}`);
        times.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { sessions: PARALLEL_SESSIONS, seconds, turns: times.length, turnsPerSecond: times.length / seconds, turn: latency(times) };
}

/** Starts `test/support/worker-process.ts` and resolves once it prints `ready`. Stopped by {@link cleanUp}. */
function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-process.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  onCleanUp(`worker process ${child.pid}`, async () => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process not ready within 60 s:\n${output}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
      if (/^ready$/m.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${signal ?? code}) before ready:\n${output}`));
    });
  });
}

/** 5: kill -9 of the worker running the `slow` tool -> the turn's reply, served by a second worker process. */
async function crashRecovery(client: Client, address: string, namespace: string) {
  const agent = await writeAgent('bench-crash', CRASH_SCRIPT);
  onCleanUp('crash agent dir', () => rmSync(agent.dir, { recursive: true, force: true }));
  const countFile = join(tmpdir(), `stepwise-bench-activities-${run}.log`);
  writeFileSync(countFile, '');
  onCleanUp('activity count file', () => rmSync(countFile, { force: true }));
  const taskQueue = `bench-crash-${run}`;
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    STEPWISE_TASK_QUEUE: taskQueue,
    STEPWISE_AGENTS: join(agent.dir, 'agent.yaml'),
    STEPWISE_COUNT_FILE: countFile,
  };
  const sessions = new TemporalSessions({ client, taskQueue });
  const first = await startWorkerProcess(env);
  const sessionId = `bench-crash-${run}`;
  await sessions.start(agent.snapshot, sessionId);
  const reply = sessions.send(sessionId, { messageId: 'm1', text: 'do the slow work' });
  reply.catch(() => {}); // awaited below; no unhandled rejection while polling
  await waitFor('tool_call event', async () => (await sessions.events(sessionId, 0)).events.some((e) => e.type === 'tool_call'));
  // The event precedes the activity: wait until the tool really runs in the first process, so the kill interrupts it.
  const runToolStarts = () => readFileSync(countFile, 'utf8').split('\n').filter((l) => l.startsWith('runTool '));
  await waitFor('runTool start', () => runToolStarts().some((l) => l.endsWith(` ${first.pid}`)));
  const killedAt = performance.now();
  first.kill('SIGKILL');
  const second = await startWorkerProcess(env);
  const secondReadyMs = performance.now() - killedAt;
  const result = await reply;
  const replyMs = performance.now() - killedAt;
  const starts = runToolStarts();
  return {
    replyMs,
    secondWorkerReadyMs: secondReadyMs,
    reply: result.reply,
    runToolAttempts: starts.length,
    runToolOnSecondWorker: starts.filter((l) => l.endsWith(` ${second.pid}`)).length,
  };
}

/** Runs 1-5 on one server and returns the figures. */
async function measure() {
  const begun = performance.now();
  // Worker-side SDK logs at WARN and above only: the figures are the output.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { address, namespace } = await temporalServer();
  log(`Temporal at ${address} (${process.env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'dev server started here'})`);

  const connection = await Connection.connect({ address });
  onCleanUp('client connection', () => connection.close());
  const client = new Client({ connection, namespace });
  const workerConnection = await NativeConnection.connect({ address });
  onCleanUp('worker connection', () => workerConnection.close());

  const agent = await writeAgent('bench', responses(2_000));
  onCleanUp('agent dir', () => rmSync(agent.dir, { recursive: true, force: true }));
  const taskQueue = `bench-sessions-${run}`;
  const echoQueue = `bench-echo-${run}`;
  await runWorkers(workerConnection, namespace, { echoQueue, taskQueue, agent });

  const base = await serveApi(client, taskQueue, agent);

  log(`1+2: ${TURNS} bare updates and ${TURNS} turns over HTTP, alternating (after ${WARMUP} of each unmeasured)`);
  const turnSession = `bench-turns-${run}`;
  const trips = await roundTrips(client, base, agent.snapshot.name, echoQueue, turnSession);
  log('3: history of that session');
  const runs = await sessionHistory(client, turnSession);
  log(`4: ${PARALLEL_SESSIONS} sessions in parallel for ${PARALLEL_MS / 1000} s`);
  const parallel = await parallelTurns(base, agent.snapshot.name);
  log('5: kill -9 of a worker process mid tool call');
  const crash = await crashRecovery(client, address, namespace);

  const sum = (key: 'turns' | 'events' | 'jsonBytes') => runs.reduce((n, r) => n + r[key], 0);
  const turns = sum('turns');
  const byType: Record<string, number> = {};
  for (const r of runs) for (const [type, bytes] of Object.entries(r.bytesByType)) byType[type] = (byType[type] ?? 0) + bytes;
  const history = {
    turns,
    runs: runs.length,
    eventsPerTurn: sum('events') / turns,
    jsonBytesPerTurn: sum('jsonBytes') / turns,
    topJsonBytesPerTurn: Object.fromEntries(
      Object.entries(byType)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([type, bytes]) => [type, Math.round(bytes / turns)]),
    ),
  };
  return {
    machine: { cpus: cpus().length, server: process.env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'dev server' },
    bareUpdate: { n: TURNS, ...trips.bare },
    restTurn: { n: TURNS, ...trips.turn, slowestMs: trips.slowestTurnMs },
    ratio: { p50: trips.turn.p50Ms / trips.bare.p50Ms, p99: trips.turn.p99Ms / trips.bare.p99Ms },
    history: { ...history, perRun: runs.length > 1 ? runs.map(({ bytesByType: _, ...r }) => r) : undefined },
    parallel,
    crash,
    totalSeconds: (performance.now() - begun) / 1000,
  };
}

type Figures = Awaited<ReturnType<typeof measure>>;

/** Prints the table, then the same figures as one JSON line. */
function report(f: Figures): void {
  const ms = (v: number) => v.toFixed(1).padStart(8);
  const x = (v: number) => `${v.toFixed(1)}x`.padStart(8);
  const out = [
    '',
    `Stepwise on Temporal (${f.machine.server}, ${f.machine.cpus} CPUs): figures from one run, not assertions`,
    `${'measure'.padEnd(40)} |   p50 ms |   p99 ms | p50/bare | p99/bare`,
    `${`bare update round trip (n=${f.bareUpdate.n})`.padEnd(40)} | ${ms(f.bareUpdate.p50Ms)} | ${ms(f.bareUpdate.p99Ms)} | ${x(1)} | ${x(1)}`,
    `${`one-decision turn over REST (n=${f.restTurn.n})`.padEnd(40)} | ${ms(f.restTurn.p50Ms)} | ${ms(f.restTurn.p99Ms)} | ${x(f.ratio.p50)} | ${x(f.ratio.p99)}`,
    `${`turn, ${f.parallel.sessions} sessions in parallel (n=${f.parallel.turns})`.padEnd(40)} | ${ms(f.parallel.turn.p50Ms)} | ${ms(f.parallel.turn.p99Ms)} |          |`,
    '',
    `slowest REST turn (single session): ${f.restTurn.slowestMs.toFixed(1)} ms`,
    `history per turn (${f.history.turns} turns, ${f.history.runs} run${f.history.runs === 1 ? '' : 's'}): ` +
      `${f.history.eventsPerTurn.toFixed(1)} events, ${f.history.jsonBytesPerTurn.toFixed(0)} JSON bytes`,
    `  largest event types, JSON bytes per turn: ${Object.entries(f.history.topJsonBytesPerTurn).map(([t, b]) => `${t} ${b}`).join(', ')}`,
    ...(f.history.perRun ?? []).map(
      (r) =>
        `  run ${r.run}: ${r.turns} turns, ${r.events} events, ${r.jsonBytes} JSON bytes` +
        (r.turns ? ` (${(r.events / r.turns).toFixed(1)} events, ${(r.jsonBytes / r.turns).toFixed(0)} bytes per turn)` : ''),
    ),
    `throughput, ${f.parallel.sessions} sessions x ${f.parallel.seconds.toFixed(1)} s, one worker: ${f.parallel.turns} turns, ${f.parallel.turnsPerSecond.toFixed(1)} turns/s`,
    `worker SIGKILL mid tool call -> reply: ${f.crash.replyMs.toFixed(0)} ms (reply "${f.crash.reply}"; second worker ready after ` +
      `${f.crash.secondWorkerReadyMs.toFixed(0)} ms; runTool started ${f.crash.runToolAttempts}x, ${f.crash.runToolOnSecondWorker}x on the second worker)`,
    `total: ${f.totalSeconds.toFixed(0)} s`,
    '',
    JSON.stringify(f),
  ];
  console.log(out.join('\n'));
}

await runBench(measure, report);
