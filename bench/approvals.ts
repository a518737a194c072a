/**
 * `npm run bench:approvals`: how fast an approval answers while messages pile up behind the turn that waits for it
 * (issue 24), on Temporal's real dev server, over real HTTP. Prints figures; asserts nothing (exit code 0 unless
 * something broke). Each of {@link ROUNDS} rounds, alternating so all three see the same machine load:
 * 1. bare update round trip (`bench/workflows/echo.ts`): the baseline;
 * 2. approval with no backlog: a session's turn pauses for approval of `echo`, then `POST .../approvals/t1.1`;
 * 3. approval with {@link BACKLOG} messages queued behind the paused turn (8 in flight as updates, the rest in the
 *    API's per-session line), then every queued message's reply is awaited (all must be 200).
 * p50/p99 in ms, and as ratios to 1 (compare ratios across machines, not milliseconds).
 *
 * Server: `TEMPORAL_ADDRESS` (and `TEMPORAL_NAMESPACE`) when set, else a dev server started and stopped here.
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { responses, writeAgent } from '../test/support/int-agent.js';
import { latency, log, onCleanUp, postJson, runBench, runWorkers, serveApi, temporalServer, waitFor } from './support.js';
import { echoUpdate, echoWorkflow, stopEcho } from './workflows/echo.js';

const ROUNDS = 20;
const BACKLOG = 30;
const run = Date.now().toString(36);

async function measure() {
  const begun = performance.now();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { address, namespace } = await temporalServer();
  const connection = await Connection.connect({ address });
  onCleanUp('client connection', () => connection.close());
  const client = new Client({ connection, namespace });
  const workerConnection = await NativeConnection.connect({ address });
  onCleanUp('worker connection', () => workerConnection.close());

  const script = [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'it' } }] }, { action: 'RESPOND', response: 'approved' }, ...responses(BACKLOG)];
  const agent = await writeAgent('bench-approvals', script, {}, { tools: { tool_files: ['./tools.mjs'], tool_defs: { echo: { requires_approval: true } } } });
  onCleanUp('agent dir', () => rmSync(agent.dir, { recursive: true, force: true }));
  const taskQueue = `bench-approvals-${run}`;
  const echoQueue = `bench-approvals-echo-${run}`;
  await runWorkers(workerConnection, namespace, { echoQueue, taskQueue, agent });
  const base = await serveApi(client, taskQueue, agent);
  const echo = await client.workflow.start(echoWorkflow, { taskQueue: echoQueue, workflowId: `bench-approvals-echo-${run}` });
  onCleanUp('echo workflow', () => echo.signal(stopEcho));

  /** A new session whose first turn waits for approval of `t1.1`. */
  const paused = async (sessionId: string) => {
    await postJson(base, '/sessions', { agentId: agent.snapshot.name, sessionId });
    const first = await postJson(base, `/sessions/${sessionId}/messages`, { text: 'echo it', messageId: 'm0' });
    if (first.pendingApprovals?.[0]?.callId !== 't1.1') throw new Error(`no approval pending: ${JSON.stringify(first)}`);
  };
  const approve = async (sessionId: string) => {
    const t0 = performance.now();
    await postJson(base, `/sessions/${sessionId}/approvals/t1.1`, { decision: 'approve' });
    return performance.now() - t0;
  };

  const bare: number[] = [];
  const idle: number[] = [];
  const backlogged: number[] = [];
  let backlogSeconds = 0;
  log(`${ROUNDS} rounds: bare update, approval without backlog, approval behind ${BACKLOG} queued messages`);
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    await echo.executeUpdate(echoUpdate, { args: [`ping ${round}`] });
    bare.push(performance.now() - t0);

    const quiet = `bench-approve-quiet-${run}-${round}`;
    await paused(quiet);
    idle.push(await approve(quiet));

    const busy = `bench-approve-busy-${run}-${round}`;
    await paused(busy);
    const replies = Array.from({ length: BACKLOG }, (_, i) => postJson(base, `/sessions/${busy}/messages`, { text: `queued ${i}`, messageId: `q${i}` }));
    for (const r of replies) r.catch(() => {}); // awaited below; no unhandled rejection meanwhile
    const queued = async () => ((await (await fetch(`${base}/sessions/${busy}`)).json()) as { queued: number }).queued;
    await waitFor('messages in the workflow', async () => (await queued()) >= 8);
    backlogged.push(await approve(busy));
    const t1 = performance.now();
    const done = await Promise.all(replies);
    backlogSeconds += (performance.now() - t1) / 1000;
    if (done.some((r) => typeof r.reply !== 'string')) throw new Error(`round ${round}: a queued message got no reply`);
  }
  return {
    machine: { cpus: cpus().length, server: process.env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'dev server' },
    rounds: ROUNDS,
    backlog: BACKLOG,
    bareUpdate: latency(bare),
    approvalNoBacklog: latency(idle),
    approvalBehindBacklog: latency(backlogged),
    backlogTurnsPerSecond: (ROUNDS * BACKLOG) / backlogSeconds,
    totalSeconds: (performance.now() - begun) / 1000,
  };
}

function report(f: Awaited<ReturnType<typeof measure>>): void {
  const ms = (v: number) => v.toFixed(1).padStart(8);
  const x = (v: number) => `${v.toFixed(2)}x`.padStart(8);
  const row = (name: string, l: { p50Ms: number; p99Ms: number }) =>
    `${name.padEnd(46)} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)} | ${x(l.p50Ms / f.bareUpdate.p50Ms)} | ${x(l.p99Ms / f.bareUpdate.p99Ms)}`;
  console.log(
    [
      `machine: ${f.machine.cpus} CPUs, ${f.machine.server}; ${f.rounds} rounds`,
      `${'measure'.padEnd(46)} |   p50 ms |   p99 ms | p50/bare | p99/bare`,
      row('bare update round trip', f.bareUpdate),
      row('approval, no backlog (REST)', f.approvalNoBacklog),
      row(`approval behind ${f.backlog} queued messages (REST)`, f.approvalBehindBacklog),
      `then the backlog ran at ${f.backlogTurnsPerSecond.toFixed(1)} turns/s; total ${f.totalSeconds.toFixed(0)} s`,
      '',
      JSON.stringify(f),
    ].join('\n'),
  );
}

await runBench(measure, report);
