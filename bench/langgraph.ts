/**
 * `npm run bench:langgraph`: the peer a user would pick instead of Stepwise, LangGraph.js with its PostgreSQL
 * checkpointer (`PostgresSaver`), measured the way `npm run bench:scale` measures Stepwise. Prints one table
 * (`--json`: one JSON object instead); asserts nothing. Options (`--help`):
 *
 * - `--sessions 20,100` and `--turns T` (default 15): for each S, S threads of T sequential turns, all at once (the
 *   client concurrency of bench:scale: one loop per thread, `timedRounds` of bench/scale/load.ts); turns/s, latency
 *   p50/p90/p99 and this process's CPU ms per turn (the graph runs in-process, as a LangGraph.js server would run it;
 *   PostgreSQL's own CPU is not counted, as it is not on the Stepwise side);
 * - `--long-turns N` (default 320, 0: skip): one thread of N sequential turns alone: turn latency p50/p90/p99, and
 *   the bytes the checkpointer stores per turn early (turns 1-20) and late (the last 20), from its tables (see
 *   ./langgraph/storage.ts);
 * - `--database-url URL`: an existing PostgreSQL database (default: a throwaway server started here, as the tests
 *   start one: test/support/postgres.ts).
 *
 * The graph: ./langgraph/graph.ts. `npm run bench:scale -- --peer` runs this bench beside Stepwise in the same run
 * and prints the ratios (bench/scale/peer.ts). Figures hold for this machine only: compare ratios.
 */
import { cpus, loadavg } from 'node:os';
import { Command } from 'commander';
import pg from 'pg';
import { startTestPostgres } from '../test/support/postgres.js';
import { peerGraph } from './langgraph/graph.js';
import { threadBytes } from './langgraph/storage.js';
import { figures, type LoadFigures, timedRounds, withCpu } from './scale/load.js';
import { emitJson, integerOption, log, onCleanUp, percentile, runBench } from './support.js';

const wholeNumber = integerOption(0);

const options = new Command('bench:langgraph')
  .option('--sessions <list>', 'parallel threads per load phase', (v) => v.split(',').map((x) => wholeNumber(x.trim())), [20, 100])
  .option('--turns <n>', 'sequential turns per thread', wholeNumber, 15)
  .option('--long-turns <n>', 'turns of the long thread (0: skip)', wholeNumber, 320)
  .option('--database-url <url>', 'an existing PostgreSQL database (default: one started here)')
  .option('--json', 'print one JSON object instead of the table', false)
  .option('--out <file>', 'also write the JSON figures to this file')
  .parse()
  .opts<{ sessions: number[]; turns: number; longTurns: number; databaseUrl?: string; json: boolean; out?: string }>();

const run = Date.now().toString(36);
/** Turns at each end of the long thread whose stored bytes are averaged. */
const EDGE = 20;

/** The long thread: per-turn latency, and stored bytes per turn early and late. */
export interface LongThreadFigures {
  turns: number;
  latency: { p50Ms: number; p90Ms: number; p99Ms: number; firstP50Ms: number; lastP50Ms: number };
  /** Mean bytes added per turn over the first and the last {@link EDGE} turns. */
  bytesPerTurn: { earlyLogical: number; lateLogical: number; earlyTables: number; lateTables: number };
  totalLogicalBytes: number;
}

async function measure() {
  const begun = performance.now();
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const server = await startTestPostgres();
    onCleanUp('PostgreSQL', () => server.stop());
    databaseUrl = await server.createDatabase();
  }
  const graph = await peerGraph(databaseUrl);
  onCleanUp('checkpointer pool', () => graph.saver.end());
  const turn = async (threadId: string, i: number) => {
    const reply = await graph.turn(threadId, `message ${i}`);
    if (reply !== `reply ${i}`) throw new Error(`${threadId} turn ${i}: got ${JSON.stringify(reply)}`);
  };

  // Warm-up (not measured): the pool's connections are open, the JIT has run.
  await timedRounds(Array.from({ length: 5 }, (_, i) => `warm-${run}-${i}`), 5, turn);

  const loads: LoadFigures[] = [];
  for (const s of options.sessions) {
    log(`langgraph: ${s} threads x ${options.turns} turns`);
    const ids = Array.from({ length: s }, (_, i) => `load-${run}-${s}-${i}`);
    const { result, cpu } = await withCpu([], () => timedRounds(ids, options.turns, turn), (r) => r.times.length);
    loads.push(figures(s, options.turns, result.times, result.seconds, cpu));
  }
  const long = options.longTurns > 0 ? await longThread(databaseUrl, turn, options.longTurns) : undefined;
  return {
    date: new Date().toISOString(),
    peer: 'LangGraph.js 1.7 + PostgresSaver',
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadAverage1m: loadavg()[0] },
    options: { turns: options.turns },
    loads,
    long,
    totalSeconds: (performance.now() - begun) / 1000,
  };
}

/** `turns` sequential turns of one new thread, its stored bytes read after each. */
async function longThread(databaseUrl: string, turn: (threadId: string, i: number) => Promise<void>, turns: number): Promise<LongThreadFigures> {
  log(`langgraph: one thread of ${turns} turns`);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  onCleanUp('storage client', () => client.end());
  const threadId = `long-${run}`;
  const times: number[] = [];
  const bytes = [await threadBytes(client, threadId)];
  for (let i = 0; i < turns; i++) {
    const t0 = performance.now();
    await turn(threadId, i);
    times.push(performance.now() - t0);
    bytes.push(await threadBytes(client, threadId));
  }
  const edge = Math.min(EDGE, turns);
  const perTurn = (key: 'logical' | 'tables', from: number) => (bytes[from + edge]![key] - bytes[from]![key]) / edge;
  return {
    turns,
    latency: {
      p50Ms: percentile(times, 50),
      p90Ms: percentile(times, 90),
      p99Ms: percentile(times, 99),
      firstP50Ms: percentile(times.slice(0, edge), 50),
      lastP50Ms: percentile(times.slice(-edge), 50),
    },
    bytesPerTurn: { earlyLogical: perTurn('logical', 0), lateLogical: perTurn('logical', turns - edge), earlyTables: perTurn('tables', 0), lateTables: perTurn('tables', turns - edge) },
    totalLogicalBytes: bytes.at(-1)!.logical,
  };
}

/** Figures of one bench:langgraph run (the `--json` output). */
export type PeerFigures = Awaited<ReturnType<typeof measure>>;

function report(f: PeerFigures): void {
  if (emitJson(f, options)) return;
  const n = (v: number, d = 1) => v.toFixed(d);
  const out = [
    '',
    `${f.peer} (${f.machine.cpus} CPUs, load ${n(f.machine.loadAverage1m, 2)} at the end, ${f.options.turns} turns per thread): figures from one run, not assertions`,
    `${'load'.padEnd(30)} | turns/s | p50 ms | p90 ms | p99 ms | CPU ms/turn`,
    ...f.loads.map(
      (l) =>
        `${`LangGraph, ${l.sessions} threads`.padEnd(30)} | ${n(l.turnsPerSecond).padStart(7)} | ${n(l.latency.p50Ms).padStart(6)} | ${n(l.latency.p90Ms).padStart(6)} | ${n(l.latency.p99Ms).padStart(6)} | ${n(l.cpuMsPerTurn.bench ?? 0, 2)}`,
    ),
  ];
  if (f.long) {
    const { latency: l, bytesPerTurn: b } = f.long;
    out.push(
      '',
      `one thread of ${f.long.turns} turns: p50 ${n(l.p50Ms)} ms, p90 ${n(l.p90Ms)} ms, p99 ${n(l.p99Ms)} ms (first ${EDGE} p50 ${n(l.firstP50Ms)} ms, last ${EDGE} p50 ${n(l.lastP50Ms)} ms)`,
      `stored per turn: early ${n(b.earlyLogical / 1024)} KB, late ${n(b.lateLogical / 1024)} KB (rows' bytes); tables on disk early ${n(b.earlyTables / 1024)} KB, late ${n(b.lateTables / 1024)} KB; ` +
        `${n(f.long.totalLogicalBytes / 1024 / 1024, 2)} MB for the thread`,
    );
  }
  out.push(`total: ${n(f.totalSeconds, 0)} s`, '');
  console.log(out.join('\n'));
}

await runBench(measure, report);
