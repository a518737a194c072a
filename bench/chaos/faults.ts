/**
 * The fault injector: a schedule drawn from the seed (which fault, when, on which process, for how long) and the
 * code that plays each fault on the real processes. Faults run one after another; a fault whose time comes while the
 * previous one still runs starts right after it.
 *
 * Kinds: SIGKILL + restart of a worker, an API process, the Temporal server (same SQLite file) or PostgreSQL (same
 * data directory), down for 0.5-5 s; SIGSTOP of a worker for 10-40 s, then SIGCONT; a burst of 50 simultaneous
 * messages to one session; a volley of oversized and malformed requests (each with the 4xx the API documents).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosClient } from './client.js';
import type { Load } from './load.js';
import type { ChaosProcess, NodeProcess } from './processes.js';
import type { Prng } from './prng.js';
import { FAULT_KINDS, type FaultKind, type RunRecord } from './record.js';

/** One planned fault: its kind and when it is due (ms after the load started, or after `atAcked` acknowledged messages). */
export interface PlannedFault {
  kind: FaultKind;
  atMs?: number;
  atAcked?: number;
}

/**
 * `perKind` faults of every kind in a seeded order at seeded times spread over [`fromMs`, `toMs`] (each in its own
 * slot of the window, at a random point of its first half).
 */
export function timeSchedule(rng: Prng, perKind: number, fromMs: number, toMs: number, only: readonly FaultKind[] = FAULT_KINDS): PlannedFault[] {
  const kinds = rng.shuffle(only.flatMap((k) => Array.from({ length: perKind }, () => k)));
  const slot = (toMs - fromMs) / kinds.length;
  return kinds.map((kind, i) => ({ kind, atMs: Math.round(fromMs + i * slot + rng.next() * slot * 0.5) }));
}

/** One fault of every kind, in a fixed order, each due after `every` more acknowledged messages (the test's variant). */
export function progressSchedule(every: number): PlannedFault[] {
  return FAULT_KINDS.map((kind, i) => ({ kind, atAcked: (i + 1) * every }));
}

export interface Targets {
  workers: NodeProcess[];
  apis: NodeProcess[];
  temporal: ChaosProcess;
  postgres: ChaosProcess;
}

export interface InjectorOptions {
  /** Range of a worker stall, ms. Default 10-40 s. */
  stallMs?: [number, number];
  /** Messages in a burst. Default 50. */
  burstSize?: number;
  log: (line: string) => void;
}

/** Plays `plan` in order (waiting for each fault's time or progress); resolves when the last fault is over. */
export async function injectFaults(plan: PlannedFault[], t: Targets, load: Load, client: ChaosClient, record: RunRecord, rng: Prng, opts: InjectorOptions): Promise<void> {
  let bursts = 0;
  for (const fault of plan) {
    while ((fault.atMs !== undefined && Date.now() - record.startedAt < fault.atMs) || (fault.atAcked !== undefined && record.acked < fault.atAcked)) {
      await sleep(100);
    }
    const atMs = Date.now() - record.startedAt;
    const started = Date.now();
    let target = '';
    let note: string | undefined;
    switch (fault.kind) {
      case 'worker-kill':
      case 'api-kill':
      case 'temporal-kill':
      case 'postgres-kill': {
        const p =
          fault.kind === 'worker-kill' ? rng.pick(t.workers) : fault.kind === 'api-kill' ? rng.pick(t.apis) : fault.kind === 'temporal-kill' ? t.temporal : t.postgres;
        target = p.name;
        const downMs = rng.int(500, 5_000);
        opts.log(`fault ${fault.kind}: SIGKILL ${p.name}, restart in ${downMs} ms`);
        await p.kill();
        await sleep(downMs);
        await p.restart();
        note = `down ${downMs} ms, back after ${Date.now() - started} ms`;
        break;
      }
      case 'worker-stall': {
        const w = rng.pick(t.workers);
        const [lo, hi] = opts.stallMs ?? [10_000, 40_000];
        const ms = rng.int(lo, hi);
        target = w.name;
        opts.log(`fault worker-stall: SIGSTOP ${w.name} for ${ms} ms`);
        w.pause();
        await sleep(ms);
        w.resume();
        break;
      }
      case 'burst': {
        const n = opts.burstSize ?? 50;
        opts.log(`fault burst: ${n} simultaneous messages`);
        target = load.burst(bursts++, n) ?? '(no session yet)';
        break;
      }
      case 'bad-requests': {
        target = 'both APIs';
        opts.log('fault bad-requests: oversized and malformed requests');
        const sessionId = [...record.sessions.keys()][0] ?? 'no-such-session';
        note = `${await badRequests(client, sessionId)} requests`;
        break;
      }
    }
    record.faults.push({ kind: fault.kind, target, atMs, durationMs: Date.now() - started, ...(note ? { note } : {}) });
  }
}

/**
 * Sends each bad request to each API, recording the status the API documents for it. Sent as well while other faults
 * run, since validation comes before Temporal: a malformed message is 400 even with Temporal down.
 * @returns how many were sent.
 */
export async function badRequests(client: ChaosClient, sessionId: string): Promise<number> {
  const messages = `/sessions/${sessionId}/messages`;
  const json = { 'content-type': 'application/json' };
  const cases: Array<{ note: string; expected: number; method: string; path: string; raw: RequestInit }> = [
    // POST /sessions keeps the plain body limit; the messages route takes files inline, so its limit is far larger.
    { note: 'body over the 256 KiB limit', expected: 413, method: 'POST', path: '/sessions', raw: { headers: json, body: JSON.stringify({ agentId: 'chaos', text: 'x'.repeat(300_000) }) } },
    { note: 'message of 300,000 characters', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: JSON.stringify({ text: 'x'.repeat(300_000) }) } },
    { note: 'message of 40,000 characters', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: JSON.stringify({ text: 'y'.repeat(40_000) }) } },
    { note: 'malformed JSON', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: '{"text": "unterminated' } },
    { note: 'text/plain body', expected: 415, method: 'POST', path: messages, raw: { headers: { 'content-type': 'text/plain' }, body: 'hello' } },
    { note: 'missing text', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: JSON.stringify({ messageId: 'x' }) } },
    { note: 'empty text', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: JSON.stringify({ text: '   ' }) } },
    { note: 'message id with a slash', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: JSON.stringify({ text: 'hi', messageId: 'a/b' }) } },
    { note: 'text that is a number', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: JSON.stringify({ text: 42 }) } },
    { note: 'session id with spaces', expected: 400, method: 'POST', path: '/sessions/bad%20id/messages', raw: { headers: json, body: JSON.stringify({ text: 'hi' }) } },
    { note: 'session id of 300 characters', expected: 414, method: 'GET', path: `/sessions/${'s'.repeat(300)}`, raw: {} },
    { note: 'POST /sessions without agentId', expected: 400, method: 'POST', path: '/sessions', raw: { headers: json, body: JSON.stringify({ sessionId: 'x' }) } },
    { note: 'POST /sessions for an unknown agent', expected: 404, method: 'POST', path: '/sessions', raw: { headers: json, body: JSON.stringify({ agentId: 'nobody' }) } },
    { note: 'approval with an unknown decision', expected: 400, method: 'POST', path: `/sessions/${sessionId}/approvals/t1.1`, raw: { headers: json, body: JSON.stringify({ decision: 'maybe' }) } },
    { note: 'Last-Event-ID that is not a seq', expected: 400, method: 'GET', path: `/sessions/${sessionId}/events`, raw: { headers: { 'last-event-id': 'yesterday' } } },
    { note: 'JSON array body', expected: 400, method: 'POST', path: messages, raw: { headers: json, body: '[1,2,3]' } },
  ];
  let sent = 0;
  for (const base of client.apis) {
    await Promise.all(
      cases.map((c) => {
        sent++;
        return client.call(c.method, c.path, `${c.method} (bad) ${c.note}`, undefined, { base, raw: { method: c.method, ...c.raw }, bad: { expected: c.expected, note: c.note } });
      }),
    );
  }
  return sent;
}
