/**
 * The measured loads of `npm run bench:scale`. Each phase reads the CPU time of every process kind around itself, so
 * its figures are per turn of that phase only.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { SseReader } from '../../test/support/sse.js';
import { log, onCleanUp, percentile, postJson, waitFor } from '../support.js';
import { echoUpdate, echoWorkflow, stopEcho } from '../workflows/echo.js';
import { type BenchProcess, cpuMs, rssBytes } from './processes.js';

/** Turn latencies in ms: p50, p90, p99 (nearest rank). */
export interface Percentiles {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

const percentiles = (values: number[]): Percentiles => ({ p50Ms: percentile(values, 50), p90Ms: percentile(values, 90), p99Ms: percentile(values, 99) });

/** CPU ms per turn of each process kind, over one phase. */
export type CpuPerTurn = Partial<Record<'worker' | 'api' | 'echo' | 'server' | 'bench', number>>;

/** Measures `fn`'s CPU time per process kind (the bench process itself as `bench`), divided by `turns()`. */
export async function withCpu<T>(processes: { kind: string; pid: number }[], fn: () => Promise<T>, turns: (result: T) => number): Promise<{ result: T; cpu: CpuPerTurn }> {
  const before = processes.map((p) => cpuMs(p.pid));
  const benchBefore = process.cpuUsage();
  const result = await fn();
  const benchUsed = process.cpuUsage(benchBefore);
  const n = Math.max(1, turns(result));
  const cpu: CpuPerTurn = {};
  processes.forEach((p, i) => {
    const kind = p.kind as keyof CpuPerTurn;
    cpu[kind] = (cpu[kind] ?? 0) + (cpuMs(p.pid) - before[i]!) / n;
  });
  cpu.bench = (benchUsed.user + benchUsed.system) / 1000 / n;
  return { result, cpu };
}

/** One parallel phase: turns (or updates), seconds, turns/s and latencies. */
export interface LoadFigures {
  sessions: number;
  turnsPerSession: number;
  turns: number;
  seconds: number;
  turnsPerSecond: number;
  latency: Percentiles;
  cpuMsPerTurn: CpuPerTurn;
}

/**
 * `sessions` sessions (created first, not measured), each sending `turns` sequential messages through the APIs
 * (session i talks to API i mod A), all sessions at once.
 *
 * @throws when a reply is not the scripted one (a lost or doubled turn).
 */
export async function sessionLoad(apis: BenchProcess[], measured: BenchProcess[], agentId: string, prefix: string, sessions: number, turns: number): Promise<LoadFigures> {
  const ids = Array.from({ length: sessions }, (_, i) => `${prefix}-${i}`);
  const base = (i: number) => apis[i % apis.length]!.base!;
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((sessionId, k) => postJson(base(i + k), '/sessions', { agentId, sessionId })));
  }
  const { result, cpu } = await withCpu(
    measured,
    () =>
      timedRounds(ids, turns, async (sessionId, i, s) => {
        const reply = await postJson(base(s), `/sessions/${sessionId}/messages`, { text: `message ${i}`, messageId: `m${i}` });
        if (reply.reply !== `reply ${i}`) throw new Error(`${sessionId} turn ${i}: got ${JSON.stringify(reply.reply)}`);
      }),
    (r) => r.times.length,
  );
  return figures(sessions, turns, result.times, result.seconds, cpu);
}

/**
 * The bare-update ceiling of the same shape: `sessions` echo workflows, `turns` sequential `executeUpdate`s each, all
 * workflows at once, from this process's Temporal client (the API's place).
 */
export async function bareLoad(client: Client, measured: BenchProcess[], echoQueue: string, prefix: string, sessions: number, turns: number): Promise<LoadFigures> {
  const handles: WorkflowHandle<typeof echoWorkflow>[] = [];
  for (let i = 0; i < sessions; i += 50) {
    handles.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, sessions - i) }, (_, k) => client.workflow.start(echoWorkflow, { taskQueue: echoQueue, workflowId: `${prefix}-${i + k}` })),
      )),
    );
  }
  onCleanUp(`echo workflows ${prefix}`, () => Promise.all(handles.map((h) => h.signal(stopEcho).catch(() => {}))));
  const { result, cpu } = await withCpu(
    measured,
    () =>
      timedRounds(handles, turns, async (handle, i) => {
        const echoed = await handle.executeUpdate(echoUpdate, { args: [`ping ${i}`] });
        if (echoed !== `ping ${i}`) throw new Error(`echo ${handle.workflowId} ${i}: got ${echoed}`);
      }),
    (r) => r.times.length,
  );
  return figures(sessions, turns, result.times, result.seconds, cpu);
}

/** All `items` at once, each running `call` for rounds 0..`rounds`-1 in sequence; every call's time in ms, and the wall time. */
export async function timedRounds<T>(items: T[], rounds: number, call: (item: T, round: number, index: number) => Promise<void>): Promise<{ times: number[]; seconds: number }> {
  const times: number[] = [];
  const started = performance.now();
  await Promise.all(
    items.map(async (item, index) => {
      for (let round = 0; round < rounds; round++) {
        const t0 = performance.now();
        await call(item, round, index);
        times.push(performance.now() - t0);
      }
    }),
  );
  return { times, seconds: (performance.now() - started) / 1000 };
}

export function figures(sessions: number, turnsPerSession: number, times: number[], seconds: number, cpu: CpuPerTurn): LoadFigures {
  return { sessions, turnsPerSession, turns: times.length, seconds, turnsPerSecond: times.length / seconds, latency: percentiles(times), cpuMsPerTurn: cpu };
}

/** Cold-session figures: the turn latency of a session just evicted from the worker's cache, and warm again. */
export interface ColdFigures {
  cacheSize: number;
  rows: { turnsInRun: number; coldMs: number; warmMs: number; ratio: number }[];
}

/**
 * For each of `runLengths` (turns in the session's current run): a session with that many turns, then more sessions
 * than the worker caches (`cacheSize` + 10, one turn each) to evict it, then one timed turn on it (cold: the worker
 * replays its history) and one more (warm). The median of `rounds` rounds.
 */
export async function coldSessions(api: BenchProcess, agentId: string, prefix: string, cacheSize: number, runLengths: number[], rounds = 3): Promise<ColdFigures> {
  const base = api.base!;
  const turn = async (sessionId: string, i: number) => {
    const t0 = performance.now();
    const reply = await postJson(base, `/sessions/${sessionId}/messages`, { text: `message ${i}`, messageId: `m${i}` });
    if (reply.reply !== `reply ${i}`) throw new Error(`${sessionId} turn ${i}: got ${JSON.stringify(reply.reply)}`);
    return performance.now() - t0;
  };
  const targets = runLengths.map((n) => ({ n, id: `${prefix}-run${n}`, next: 0 }));
  for (const t of targets) {
    await postJson(base, '/sessions', { agentId, sessionId: t.id });
    for (; t.next < t.n; t.next++) await turn(t.id, t.next);
    log(`cold: ${t.id} has ${t.n} turns`);
  }
  const cold = new Map<number, number[]>(targets.map((t) => [t.n, []]));
  const warm = new Map<number, number[]>(targets.map((t) => [t.n, []]));
  for (let round = 0; round < rounds; round++) {
    const fillers = Array.from({ length: cacheSize + 10 }, (_, i) => `${prefix}-fill${round}-${i}`);
    for (let i = 0; i < fillers.length; i += 20) {
      await Promise.all(
        fillers.slice(i, i + 20).map(async (id) => {
          await postJson(base, '/sessions', { agentId, sessionId: id });
          await turn(id, 0);
        }),
      );
    }
    // Every target was evicted by the fillers; each cold turn below evicts nothing the next one needs.
    for (const t of targets) {
      cold.get(t.n)!.push(await turn(t.id, t.next++));
      warm.get(t.n)!.push(await turn(t.id, t.next++));
    }
  }
  const median = (v: number[]) => percentile(v, 50);
  return {
    cacheSize,
    rows: targets.map((t) => ({ turnsInRun: t.n, coldMs: median(cold.get(t.n)!), warmMs: median(warm.get(t.n)!), ratio: median(cold.get(t.n)!) / median(warm.get(t.n)!) })),
  };
}

/** Live-stream figures: delivery delay of events to SSE subscribers, and the idle load the subscribers cause. */
export interface StreamFigures {
  subscribers: number;
  sessions: number;
  events: number;
  delay: Percentiles;
  /**
   * Worker CPU ms per second while every subscriber waits on an idle session, and with none; each measured over 5 s
   * after 5 s of settling (the sessions' starts and the subscribers' first reads finish meanwhile).
   */
  idleWorkerCpuMsPerSecond: { withSubscribers: number; without: number };
}

/** Wait before each idle-CPU figure of {@link liveStreams}, ms. */
const SETTLE_MS = 5_000;

/**
 * `subscribers` SSE subscribers spread over `sessions` sessions (round-robin over the APIs), then `turns` turns per
 * session: each event's delay is the time a subscriber received it minus its `at` (the workflow's clock, same machine).
 */
export async function liveStreams(apis: BenchProcess[], workers: BenchProcess[], agentId: string, prefix: string, subscribers: number, sessions: number, turns = 3): Promise<StreamFigures> {
  const ids = Array.from({ length: sessions }, (_, i) => `${prefix}-${i}`);
  for (const [i, sessionId] of ids.entries()) await postJson(apis[i % apis.length]!.base!, '/sessions', { agentId, sessionId });
  // Each figure is taken after SETTLE_MS: right after 50 session starts a worker still spent 228 ms/s on them, and
  // 10-72 ms/s 5-25 s later (a one-off measurement, 2026-12-07), so an unsettled "without" hid the subscribers' cost.
  const idleCpu = async (ms: number) => {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const before = workers.reduce((n, w) => n + cpuMs(w.pid), 0);
    await new Promise((r) => setTimeout(r, ms));
    return ((workers.reduce((n, w) => n + cpuMs(w.pid), 0) - before) * 1000) / ms;
  };
  const without = await idleCpu(5_000);
  const delays: number[] = [];
  let turnsStartedAt = Number.POSITIVE_INFINITY;
  const readers: SseReader[] = [];
  const reading: Promise<void>[] = [];
  let connected = 0;
  for (let k = 0; k < subscribers; k++) {
    const api = apis[k % apis.length]!;
    const sessionId = ids[k % ids.length]!;
    const res = await fetch(`${api.base}/sessions/${sessionId}/events`, { headers: { accept: 'text/event-stream' } });
    if (!res.ok) throw new Error(`GET events of ${sessionId}: ${res.status}`);
    const reader = new SseReader(res);
    readers.push(reader);
    connected++;
    reading.push(
      (async () => {
        for (let m = await reader.next(); m; m = await reader.next()) {
          // Only events of the measured turns (a new stream may first replay what the session already had).
          if (m.data?.at && Date.parse(m.data.at) >= turnsStartedAt) delays.push(Date.now() - Date.parse(m.data.at));
        }
      })().catch(() => {}),
    );
  }
  log(`streams: ${connected} subscribers connected`);
  const withSubscribers = await idleCpu(5_000);
  turnsStartedAt = Date.now();
  await Promise.all(
    ids.map(async (sessionId, s) => {
      for (let i = 0; i < turns; i++) await postJson(apis[s % apis.length]!.base!, `/sessions/${sessionId}/messages`, { text: `message ${i}`, messageId: `m${i}` });
    }),
  );
  // Delivered once the count stops growing for 2 s (at most 60 s).
  let last = -1;
  await waitFor(
    'events delivered to every subscriber',
    async () => {
      const now = delays.length;
      const stable = now === last;
      last = now;
      if (!stable) await new Promise((r) => setTimeout(r, 2_000));
      return stable;
    },
    60_000,
  ).catch((err) => log((err as Error).message));
  for (const r of readers) await r.cancel();
  await Promise.all(reading);
  return { subscribers, sessions, events: delays.length, delay: percentiles(delays), idleWorkerCpuMsPerSecond: { withSubscribers, without } };
}

/** Idle cost: memory of the worker and API processes per 1,000 open idle sessions. */
export interface IdleFigures {
  sessions: number;
  workerMbPer1000: number;
  apiMbPer1000: number;
}

/** Opens `sessions` sessions (one turn each) and reads the RSS of the workers and APIs before and after. */
export async function idleCost(apis: BenchProcess[], workers: BenchProcess[], agentId: string, prefix: string, sessions: number): Promise<IdleFigures> {
  const rss = (ps: BenchProcess[]) => ps.reduce((n, p) => n + rssBytes(p.pid), 0);
  const before = { worker: rss(workers), api: rss(apis) };
  for (let i = 0; i < sessions; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, sessions - i) }, async (_, k) => {
        const api = apis[(i + k) % apis.length]!;
        const sessionId = `${prefix}-${i + k}`;
        await postJson(api.base!, '/sessions', { agentId, sessionId });
        await postJson(api.base!, `/sessions/${sessionId}/messages`, { text: 'hello', messageId: 'm0' });
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 2_000));
  const mb = (bytes: number) => ((bytes / 1024 / 1024) * 1000) / sessions;
  return { sessions, workerMbPer1000: mb(rss(workers) - before.worker), apiMbPer1000: mb(rss(apis) - before.api) };
}
