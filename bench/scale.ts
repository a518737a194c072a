/**
 * `npm run bench:scale`: what Stepwise costs per turn and how it scales, next to Temporal's own floor measured in the
 * same run. Prints one table (`--json`: one JSON object instead); asserts nothing. Options (`--help`):
 *
 * - `--workers W --apis A`: `stepwise worker` and `stepwise api` processes (real CLI commands); clients spread over
 *   the APIs (default 1 and 1);
 * - `--sessions 1,20,100` and `--turns T` (default 15): for each S, S sessions of T sequential one-decision turns
 *   (a zero-latency scripted model) all at once, beside the **bare-update ceiling of the same shape** (S echo
 *   workflows, T updates each, same client concurrency, `bench/workflows/echo.ts` on its own worker process);
 *   turns/s, latency p50/p90/p99, the ratio, and CPU ms per turn of each process kind (from `/proc`);
 * - `--archive`: the workers and APIs write to a PostgreSQL archive (a throwaway server started here);
 * - `--cold`: cold sessions: a worker caching `--cache` (default 20) workflows, turn latency of an evicted session
 *   with `--run-lengths` (default 10,100,300) turns in its run, cold vs warm;
 * - `--subscribers K --stream-sessions M`: SSE delivery delay p50/p99 and the idle worker load K subscribers add;
 * - `--idle N`: worker and API memory per 1,000 open idle sessions;
 * - `--peer`: after each load phase, the peer of the same shape (LangGraph.js + PostgresSaver, bench/langgraph.ts,
 *   run by bench/scale/peer.ts) and the ratio Stepwise / LangGraph.
 *
 * History events and bytes per turn come from one session of the largest S. Figures hold for this machine only:
 * compare the ratios. `--out FILE` also writes the JSON there (the committed `bench/results/scale-*.json`).
 * `--profile DIR` writes V8 CPU profiles of the worker and API processes (summarise with `tsx bench/scale/profile.ts DIR`).
 * Server: `TEMPORAL_ADDRESS` when set, else a dev server started and stopped here. Linux only (`/proc`). The machine's
 * 1-minute load average at start and end is in the figures (`machine.loadAverage1m`): other work on the machine skews
 * them all, the ratios to the bare ceiling the least.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { startTestPostgres } from '../test/support/postgres.js';
import { responses, writeAgent } from '../test/support/int-agent.js';
import { type ColdFigures, type IdleFigures, type LoadFigures, type StreamFigures, bareLoad, coldSessions, idleCost, liveStreams, sessionLoad } from './scale/load.js';
import { peerLines, peerLoad } from './scale/peer.js';
import { type BenchProcess, profileInto, type StepwiseEnv, startApi, startEchoWorker, startWorker } from './scale/processes.js';
import { integerOption, log, onCleanUp, runBench, sessionHistory, temporalServer } from './support.js';

const wholeNumber = integerOption(0);
const intList = (v: string) => v.split(',').map((x) => wholeNumber(x.trim()));

const options = new Command('bench:scale')
  .option('--workers <n>', 'stepwise worker processes', wholeNumber, 1)
  .option('--apis <n>', 'stepwise api processes', wholeNumber, 1)
  .option('--sessions <list>', 'parallel sessions per load phase', intList, [1, 20, 100])
  .option('--turns <n>', 'sequential turns per session', wholeNumber, 15)
  .option('--archive', 'write to a PostgreSQL archive (started here)', false)
  .option('--cold', 'measure cold (evicted) sessions', false)
  .option('--cache <n>', 'workflow cache of the cold-session worker', wholeNumber, 20)
  .option('--run-lengths <list>', 'turns in the run of each cold session', intList, [10, 100, 300])
  .option('--subscribers <n>', 'SSE subscribers (0: skip)', wholeNumber, 0)
  .option('--stream-sessions <n>', 'sessions the subscribers watch', wholeNumber, 100)
  .option('--idle <n>', 'open idle sessions for the memory figure (0: skip)', wholeNumber, 0)
  .option('--peer', 'also run the LangGraph.js + PostgresSaver peer of each load phase (bench/langgraph.ts)', false)
  .option('--json', 'print one JSON object instead of the table', false)
  .option('--out <file>', 'also write the JSON figures to this file')
  .option('--profile <dir>', 'V8 CPU profiles of the worker and API processes into this folder (see bench/scale/profile.ts)')
  .parse()
  .opts<{
    workers: number;
    apis: number;
    sessions: number[];
    turns: number;
    archive: boolean;
    cold: boolean;
    cache: number;
    runLengths: number[];
    subscribers: number;
    streamSessions: number;
    idle: number;
    peer: boolean;
    json: boolean;
    out?: string;
    profile?: string;
  }>();

const run = Date.now().toString(36);

async function measure() {
  const begun = performance.now();
  // The machine's 1-minute load average at start and end: other work on it skews every figure (ratios the least).
  const loadAtStart = loadavg()[0]!;
  if (options.profile) profileInto(options.profile);
  const server = await temporalServer();
  const connection = await Connection.connect({ address: server.address });
  onCleanUp('client connection', () => connection.close());
  const client = new Client({ connection, namespace: server.namespace });
  let databaseUrl: string | undefined;
  let peerDatabase: (() => Promise<string>) | undefined;
  if (options.archive) {
    const pg = await startTestPostgres();
    onCleanUp('PostgreSQL', () => pg.stop());
    databaseUrl = await pg.createDatabase();
    peerDatabase = () => pg.createDatabase();
  }
  const agent = await writeAgent('scale', responses(2_000), { max_turns_per_run: 1_000 });
  const env: StepwiseEnv = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    STEPWISE_TASK_QUEUE: `scale-${run}`,
    STEPWISE_AGENTS: `${agent.dir}/agent.yaml`,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const workers: BenchProcess[] = [];
  for (let i = 0; i < options.workers; i++) workers.push(await startWorker(env));
  const apis: BenchProcess[] = [];
  for (let i = 0; i < options.apis; i++) apis.push(await startApi(env));
  const echoQueue = `scale-echo-${run}`;
  const echo = await startEchoWorker(server.address, server.namespace, echoQueue);
  const serverProcess = { kind: 'server', pid: (server as { process?: { pid?: number } }).process?.pid ?? 0 };
  const measuredServer = serverProcess.pid ? [serverProcess] : [];
  const agentId = agent.snapshot.name;

  // Warm-up (not measured): bundles are loaded, connections open, the JIT has run.
  await sessionLoad(apis, [], agentId, `warm-${run}`, 5, 5);
  await bareLoad(client, [], echoQueue, `warm-echo-${run}`, 5, 5);

  const loads: { stepwise: LoadFigures; bare: LoadFigures; peer?: LoadFigures }[] = [];
  for (const s of options.sessions) {
    log(`load: ${s} sessions x ${options.turns} turns, then the bare ceiling of the same shape`);
    const stepwise = await sessionLoad(apis, [...workers, ...apis, ...measuredServer] as BenchProcess[], agentId, `load-${run}-${s}`, s, options.turns);
    const bare = await bareLoad(client, [echo, ...measuredServer] as BenchProcess[], echoQueue, `bare-${run}-${s}`, s, options.turns);
    const peer = options.peer ? await peerLoad(s, options.turns, await peerDatabase?.()) : undefined;
    loads.push({ stepwise, bare, ...(peer ? { peer } : {}) });
  }
  const largest = options.sessions.at(-1)!;
  const runs = await sessionHistory(client, `load-${run}-${largest}-0`);
  const turns = runs.reduce((n, r) => n + r.turns, 0);
  const history = {
    turns,
    eventsPerTurn: runs.reduce((n, r) => n + r.events, 0) / turns,
    jsonBytesPerTurn: runs.reduce((n, r) => n + r.jsonBytes, 0) / turns,
  };

  let cold: ColdFigures | undefined;
  if (options.cold) {
    const coldEnv = { ...env, STEPWISE_TASK_QUEUE: `scale-cold-${run}`, STEPWISE_WORKFLOW_CACHE_SIZE: String(options.cache) };
    await startWorker(coldEnv);
    const coldApi = await startApi(coldEnv);
    log(`cold: worker cache ${options.cache}, runs of ${options.runLengths.join(', ')} turns`);
    cold = await coldSessions(coldApi, agentId, `cold-${run}`, options.cache, options.runLengths);
  }
  let streams: StreamFigures | undefined;
  if (options.subscribers > 0) {
    log(`streams: ${options.subscribers} subscribers over ${options.streamSessions} sessions`);
    streams = await liveStreams(apis, workers, agentId, `stream-${run}`, options.subscribers, options.streamSessions);
  }
  let idle: IdleFigures | undefined;
  if (options.idle > 0) {
    log(`idle: ${options.idle} open sessions`);
    idle = await idleCost(apis, workers, agentId, `idle-${run}`, options.idle);
  }
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      server: process.env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'dev server',
      loadAverage1m: { start: loadAtStart, end: loadavg()[0]! },
    },
    options: { workers: options.workers, apis: options.apis, turns: options.turns, archive: options.archive },
    loads,
    history,
    cold,
    streams,
    idle,
    totalSeconds: (performance.now() - begun) / 1000,
  };
}

type Figures = Awaited<ReturnType<typeof measure>>;

function report(f: Figures): void {
  const json = JSON.stringify(f, null, 2);
  if (options.out) writeFileSync(options.out, `${json}\n`);
  if (options.json) {
    console.log(json);
    return;
  }
  const n = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));
  const pad = (v: string, w: number) => v.padStart(w);
  const cpu = (c: LoadFigures['cpuMsPerTurn']) => `w ${n(c.worker ?? c.echo, 2)} / a ${n(c.api, 2)} / s ${n(c.server, 2)}`;
  const out = [
    '',
    `Stepwise at scale (${f.machine.cpus} CPUs, ${f.options.workers} worker(s), ${f.options.apis} API(s), archive ${f.options.archive ? 'on' : 'off'}, ` +
      `${f.options.turns} turns per session, load average ${n(f.machine.loadAverage1m.start)} -> ${n(f.machine.loadAverage1m.end)}): figures from one run, not assertions`,
    `${'load'.padEnd(30)} | turns/s | p50 ms | p90 ms | p99 ms | CPU ms/turn (worker / API / server)`,
  ];
  for (const { stepwise: s, bare: b, peer } of f.loads) {
    out.push(
      `${`Stepwise, ${s.sessions} sessions`.padEnd(30)} | ${pad(n(s.turnsPerSecond), 7)} | ${pad(n(s.latency.p50Ms), 6)} | ${pad(n(s.latency.p90Ms), 6)} | ${pad(n(s.latency.p99Ms), 6)} | ${cpu(s.cpuMsPerTurn)}`,
      `${`bare updates, ${b.sessions} workflows`.padEnd(30)} | ${pad(n(b.turnsPerSecond), 7)} | ${pad(n(b.latency.p50Ms), 6)} | ${pad(n(b.latency.p90Ms), 6)} | ${pad(n(b.latency.p99Ms), 6)} | ${cpu(b.cpuMsPerTurn)}`,
      `${'  ratio Stepwise / bare'.padEnd(30)} | ${pad(n(s.turnsPerSecond / b.turnsPerSecond, 2), 7)} | ${pad(n(s.latency.p50Ms / b.latency.p50Ms, 2), 6)} | ${pad(n(s.latency.p90Ms / b.latency.p90Ms, 2), 6)} | ${pad(n(s.latency.p99Ms / b.latency.p99Ms, 2), 6)} | p99/p50 ${n(s.latency.p99Ms / s.latency.p50Ms, 2)}`,
    );
    if (peer) out.push(...peerLines(s, peer, n));
  }
  out.push('', `history per turn (${f.history.turns} turns of one session): ${n(f.history.eventsPerTurn)} events, ${n(f.history.jsonBytesPerTurn, 0)} JSON bytes`);
  if (f.cold) {
    out.push(`cold sessions (worker cache ${f.cold.cacheSize}): turns in run | cold ms | warm ms | cold/warm`);
    for (const r of f.cold.rows) out.push(`  ${pad(String(r.turnsInRun), 12)} | ${pad(n(r.coldMs), 7)} | ${pad(n(r.warmMs), 7)} | ${pad(n(r.ratio, 2), 9)}`);
  }
  if (f.streams) {
    const s = f.streams;
    out.push(
      `live streams: ${s.subscribers} subscribers over ${s.sessions} sessions, ${s.events} events: delay p50 ${n(s.delay.p50Ms)} ms, p99 ${n(s.delay.p99Ms)} ms; ` +
        `idle worker CPU ${n(s.idleWorkerCpuMsPerSecond.withSubscribers)} ms/s with them, ${n(s.idleWorkerCpuMsPerSecond.without)} ms/s without`,
    );
  }
  if (f.idle) out.push(`idle cost, ${f.idle.sessions} open sessions: worker +${n(f.idle.workerMbPer1000)} MB, API +${n(f.idle.apiMbPer1000)} MB per 1,000 sessions`);
  out.push(`total: ${n(f.totalSeconds, 0)} s`, '');
  console.log(out.join('\n'));
}

await runBench(measure, report);
