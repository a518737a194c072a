/**
 * `npm run bench:crash`: a worker killed with SIGKILL in the middle of a turn's slow call -> that turn's reply, on
 * Temporal's real dev server with two real `stepwise worker` processes (bench/scale/processes.ts). Prints one table
 * (`--json`: one JSON object); asserts nothing but that every turn gets its scripted reply. Issue 21's goal:
 * "worker SIGKILL mid-turn -> reply, minus the tool's own time: <= 3 s".
 *
 * Two kinds of round, `--rounds R` each (default 5), each on a fresh session that first answers one quick turn:
 * - `tool`: the turn runs the `slow` tool (an activity sleeping `--call-ms` ms, default 2,000); the worker named by
 *   the activity's `lastWorkerIdentity` (`<pid>@<host>`, the SDK's default identity) is killed halfway through it;
 * - `decide`: the turn's decision is a model call through the OpenAI adapter to the fake model server
 *   (test/support/fake-model-server.ts) answering after `--call-ms` ms; the worker that completed the session's last
 *   workflow task (its sticky worker, from the history's `WorkflowTaskCompleted.identity`), which runs the call, is
 *   killed halfway through it. A round whose killed worker was not running the call (no second call seen) fails.
 *
 * - `probe` (bench/crash/heartbeat-probe.ts): a bench workflow with one regular, eagerly dispatched, heartbeating
 *   activity, killed halfway, for each `--probe` setting `<heartbeat timeout>/<throttle|default>/<beat>/<first retry>`
 *   (ms): what other activity options would give, measured without changing the session workflow's.
 *
 * Per round: `replyMs` (kill -> reply), `retryStartMs` (kill -> the retried call starts on the other worker: a new
 * line in the tool log / a new request at the fake server), `overheadMs` = replyMs - call-ms (the retried call runs
 * its full time again: what recovery costs beyond the call itself), `tailMs` = replyMs - retryStartMs - call-ms (from
 * the retried call's end to the reply). After each round the killed worker is replaced (not measured), so two
 * workers are always up. The sessions are started through `TemporalSessions` (api/temporal-sessions.ts), so the
 * API's start options apply. Server: `TEMPORAL_ADDRESS` when set, else a dev server started here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { TemporalSessions } from '../api/temporal-sessions.js';
import { startFakeModelServer } from '../test/support/fake-model-server.js';
import { writeAgent } from '../test/support/int-agent.js';
import { recoveryOptions } from '../workers/recovery.js';
import { sessionWorkflowId } from '../workflows/shared.js';
import { type ProbeFigures, type ProbeSetting, parseSetting, probeHeartbeats } from './crash/heartbeat-probe.js';
import { type BenchProcess, type StepwiseEnv, startWorker } from './scale/processes.js';
import { emitJson, integerOption, log, onCleanUp, percentile, runBench, temporalServer, waitFor } from './support.js';

/**
 * Probe settings (see bench/crash/heartbeat-probe.ts): the LLM and tool options before 2026-12-08, today's (1.5 s
 * timeout, 500 ms beats and throttle; first retry 1 s for LLM calls, 250 ms for tools), then a shorter one.
 */
const DEFAULT_PROBES = ['3000/1000/1000/1000', '3000/1000/1000/250', '1500/500/500/1000', '1500/500/500/250', '1000/250/250/250'];

const wholeNumber = integerOption(0);

const options = new Command('bench:crash')
  .option('--rounds <n>', 'rounds of each kind', wholeNumber, 5)
  .option('--call-ms <ms>', 'duration of the slow tool / model call', wholeNumber, 2_000)
  .option('--kinds <list>', 'kinds of round: tool, decide, probe', (v) => v.split(',').map((k) => k.trim()), ['tool', 'decide'])
  .option('--probe <settings>', 'heartbeat settings of the probe kind', (v) => v.split(',').map(parseSetting), DEFAULT_PROBES.map(parseSetting))
  .option('--json', 'print one JSON object instead of the table', false)
  .option('--out <file>', 'also write the JSON figures to this file')
  .parse()
  .opts<{ rounds: number; callMs: number; kinds: string[]; probe: ProbeSetting[]; json: boolean; out?: string }>();

const run = Date.now().toString(36);

/** One round's times, in ms from the kill. */
interface Round {
  replyMs: number;
  retryStartMs: number;
  overheadMs: number;
  tailMs: number;
}

/** The live workers (two), replaced as they are killed. */
class Workers {
  constructor(
    private readonly env: StepwiseEnv,
    readonly live: BenchProcess[],
  ) {}
  byIdentity(identity: string | null | undefined): BenchProcess {
    const pid = Number(/^(\d+)@/.exec(identity ?? '')?.[1]);
    const worker = this.live.find((w) => w.pid === pid);
    if (!worker) throw new Error(`no live worker has identity ${identity} (live: ${this.live.map((w) => w.pid).join(', ')})`);
    return worker;
  }
  /** SIGKILLs `victim`; resolves at the kill, with a promise of its replacement. */
  kill(victim: BenchProcess): { killedAt: number; replaced: Promise<void> } {
    victim.child.kill('SIGKILL');
    const killedAt = performance.now();
    this.live.splice(this.live.indexOf(victim), 1);
    const replaced = new Promise<void>((r) => victim.child.once('exit', () => r())).then(async () => {
      this.live.push(await startWorker(this.env));
    });
    return { killedAt, replaced };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function measure() {
  const begun = performance.now();
  const server = await temporalServer();
  const connection = await Connection.connect({ address: server.address });
  onCleanUp('client connection', () => connection.close());
  const client = new Client({ connection, namespace: server.namespace });
  const fake = await startFakeModelServer();
  onCleanUp('fake model server', () => fake.close());
  const N = options.callMs;
  const single = (tools: string[]) => ({ steps: [{ step_id: 'chat', description: 'chat', available_tools: tools }], flows: [] });
  const toolAgent = await writeAgent(
    'crash-tool',
    [{ action: 'RESPOND', response: 'ready' }, { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: N } }] }, { action: 'RESPOND', response: 'survived' }],
    {},
    single(['slow']),
  );
  const decideAgent = await writeAgent('crash-decide', [], {}, { ...single([]), llm: { provider: 'openai', model: 'fake-model', base_url: fake.openaiBaseUrl, api_key_env: 'STEPWISE_FAKE_KEY' } });
  const toolLog = join(tmpdir(), `stepwise-bench-crash-${run}.log`);
  writeFileSync(toolLog, '');
  // Inherited by the worker processes (startWorker passes process.env on).
  process.env.STEPWISE_TOOL_LOG = toolLog;
  process.env.STEPWISE_FAKE_KEY = 'not-a-real-key';
  const taskQueue = `crash-${run}`;
  const env: StepwiseEnv = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    STEPWISE_TASK_QUEUE: taskQueue,
    STEPWISE_AGENTS: `${toolAgent.dir}/agent.yaml,${decideAgent.dir}/agent.yaml`,
  };
  const workers = new Workers(env, [await startWorker(env), await startWorker(env)]);
  const sessions = new TemporalSessions({ client, taskQueue });
  const toolStarts = () => readFileSync(toolLog, 'utf8').split('\n').filter((l) => l.startsWith('slow ')).length;

  /** A new session of `agent` that has answered one quick turn ('ready'). */
  const warmSession = async (agent: typeof toolAgent, id: string) => {
    await sessions.start(agent.snapshot, id);
    const first = await sessions.send(id, { messageId: 'm0', text: 'hello' });
    if (first.reply !== 'ready') throw new Error(`${id}: first reply ${JSON.stringify(first.reply)}`);
  };
  /** Awaits the slow turn's reply and checks it. */
  const survived = async (reply: Promise<{ reply?: string }>, id: string) => {
    const result = await reply;
    if (result.reply !== 'survived') throw new Error(`${id}: reply ${JSON.stringify(result.reply)}`);
    return performance.now();
  };
  const round = (killedAt: number, retryAt: number, repliedAt: number): Round => ({
    replyMs: repliedAt - killedAt,
    retryStartMs: retryAt - killedAt,
    overheadMs: repliedAt - killedAt - N,
    tailMs: repliedAt - retryAt - N,
  });

  async function toolRound(i: number): Promise<Round> {
    const id = `crash-tool-${run}-${i}`;
    await warmSession(toolAgent, id);
    const before = toolStarts();
    const reply = sessions.send(id, { messageId: 'm1', text: 'do the slow work' });
    reply.catch(() => {});
    await waitFor('slow tool started', () => toolStarts() > before, 30_000);
    const startedAt = performance.now();
    const handle = client.workflow.getHandle(sessionWorkflowId(id));
    const pending = async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'runTool');
    await waitFor('runTool pending with a worker', async () => Boolean((await pending())?.lastWorkerIdentity), 10_000);
    const victim = workers.byIdentity((await pending())!.lastWorkerIdentity);
    await sleep(N / 2 - (performance.now() - startedAt));
    const { killedAt, replaced } = workers.kill(victim);
    await waitFor('retried tool started', () => toolStarts() > before + 1, 120_000);
    const retryAt = performance.now();
    const repliedAt = await survived(reply, id);
    await replaced;
    return round(killedAt, retryAt, repliedAt);
  }

  async function decideRound(i: number): Promise<Round> {
    const id = `crash-decide-${run}-${i}`;
    fake.enqueue({ action: 'RESPOND', response: 'ready' });
    await warmSession(decideAgent, id);
    const history = await client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory();
    const identity = history.events?.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1)?.workflowTaskCompletedEventAttributes?.identity;
    const victim = workers.byIdentity(identity);
    const before = fake.requests.length;
    fake.enqueue({ decision: { action: 'RESPOND', response: 'survived' }, delayMs: N });
    const reply = sessions.send(id, { messageId: 'm1', text: 'think slowly' });
    reply.catch(() => {});
    await waitFor('slow decision requested', () => fake.requests.length > before, 30_000);
    const startedAt = performance.now();
    fake.enqueue({ decision: { action: 'RESPOND', response: 'survived' }, delayMs: N }); // for the retry
    await sleep(N / 2 - (performance.now() - startedAt));
    const { killedAt, replaced } = workers.kill(victim);
    await waitFor(`retried decision requested (worker ${victim.pid} was not running it?)`, () => fake.requests.length > before + 1, 120_000);
    const retryAt = performance.now();
    const repliedAt = await survived(reply, id);
    await replaced;
    return round(killedAt, retryAt, repliedAt);
  }

  const kinds: Record<string, (i: number) => Promise<Round>> = { tool: toolRound, decide: decideRound };
  const results: Record<string, { rounds: Round[]; p50: Round; max: Round }> = {};
  let probes: ProbeFigures[] | undefined;
  for (const kind of options.kinds) {
    if (kind === 'probe') {
      probes = await probeHeartbeats(client, server, options.probe, options.rounds, N);
      continue;
    }
    const play = kinds[kind];
    if (!play) throw new Error(`unknown kind ${kind} (tool, decide)`);
    const rounds: Round[] = [];
    for (let i = 0; i < options.rounds; i++) {
      const r = await play(i);
      log(`${kind} round ${i + 1}: reply ${r.replyMs.toFixed(0)} ms after the kill, retry started at ${r.retryStartMs.toFixed(0)} ms, overhead ${r.overheadMs.toFixed(0)} ms`);
      rounds.push(r);
    }
    const stat = (pick: (v: number[]) => number) =>
      Object.fromEntries((['replyMs', 'retryStartMs', 'overheadMs', 'tailMs'] as const).map((k) => [k, pick(rounds.map((r) => r[k]))])) as unknown as Round;
    results[kind] = { rounds, p50: stat((v) => percentile(v, 50)), max: stat((v) => Math.max(...v)) };
  }
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadAverage1m: loadavg()[0] },
    options: {
      rounds: options.rounds,
      callMs: N,
      // The recovery options (workers/recovery.ts) the workers got from this process's environment, in ms.
      worker: recoveryOptions(process.env),
    },
    results,
    probes,
    totalSeconds: (performance.now() - begun) / 1000,
  };
}

type Figures = Awaited<ReturnType<typeof measure>>;

function report(f: Figures): void {
  if (emitJson(f, options)) return;
  const n = (v: number) => v.toFixed(0).padStart(7);
  const out = [
    '',
    `worker SIGKILL mid-call -> reply (${f.machine.cpus} CPUs, load ${f.machine.loadAverage1m?.toFixed(2)} at the end, call ${f.options.callMs} ms, killed halfway, ${f.options.rounds} rounds): ms from the kill`,
    `worker options: ${Object.entries(f.options.worker).map(([k, v]) => `${k} ${v} ms`).join(', ')}`,
    `${'kind'.padEnd(8)} |        | reply ms | retry starts | overhead (reply - call) | tail (retry end -> reply)`,
  ];
  for (const [kind, r] of Object.entries(f.results)) {
    for (const [label, s] of [['p50', r.p50], ['max', r.max]] as const) {
      out.push(`${kind.padEnd(8)} | ${label.padEnd(6)} | ${n(s.replyMs)}  | ${n(s.retryStartMs)}      | ${n(s.overheadMs)}                 | ${n(s.tailMs)}`);
    }
  }
  if (f.probes) {
    out.push('', `probe (regular activity): timeout/throttle/beat/first retry ms | retry starts p50 / max | result p50 / max | overhead p50 (result - call)`);
    for (const p of f.probes) {
      out.push(`  ${p.setting.padEnd(24)} | ${n(p.retryStart.p50Ms)} / ${n(p.retryStart.maxMs)} | ${n(p.result.p50Ms)} / ${n(p.result.maxMs)} | ${n(p.overheadP50Ms)}`);
    }
  }
  out.push(`total: ${f.totalSeconds.toFixed(0)} s`, '');
  console.log(out.join('\n'));
}

await runBench(measure, report);
