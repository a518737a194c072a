/** The per-session FIFO gate on in-flight updates (api/update-gate.ts). */
import { describe, expect, it } from 'vitest';
import { GateFullError, UpdateGate } from '../../api/update-gate.js';

/** A call that runs until `release()`; records when it started. */
function held(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { fn: async () => (log.push(name), await done, name), release: () => release() };
}

describe('UpdateGate', () => {
  it('lets `limit` calls run per key, queues the rest and starts them in arrival order', async () => {
    const gate = new UpdateGate({ limit: 2 });
    const log: string[] = [];
    const calls = ['a', 'b', 'c', 'd'].map((n) => held(log, n));
    const results = calls.map((c) => gate.run('s1', c.fn));
    const other = held(log, 'other');
    const otherResult = gate.run('s2', other.fn); // another session is not held up
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['a', 'b', 'other']);
    expect(gate.load('s1')).toEqual({ running: 2, waiting: 2 });
    expect([gate.full('s1'), gate.full('s2'), gate.full('unused')]).toEqual([true, false, false]);
    calls[1].release();
    await results[1];
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['a', 'b', 'other', 'c']);
    for (const c of calls) c.release();
    other.release();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    await otherResult;
    expect(gate.load('s1')).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses a caller when maxWaiting are queued, and one whose deadline passes in line (GateFullError)', async () => {
    const gate = new UpdateGate({ limit: 1, maxWaiting: 1 });
    const log: string[] = [];
    const first = held(log, 'first');
    const running = gate.run('s', first.fn);
    const late = gate.run('s', async () => 'late', Date.now() + 30);
    await expect(gate.run('s', async () => 'third')).rejects.toBeInstanceOf(GateFullError); // line full
    await expect(late).rejects.toThrow('before the deadline');
    expect(gate.load('s')).toEqual({ running: 1, waiting: 0 });
    first.release();
    await running;
    expect(await gate.run('s', async () => 'after')).toBe('after');
  });

  it('takes a caller out of the line when `leave` aborts while it waits, and keeps the others in order', async () => {
    const gate = new UpdateGate({ limit: 1 });
    const log: string[] = [];
    const first = held(log, 'first');
    const running = gate.run('s', first.fn);
    const leave = new AbortController();
    const leaving = gate.run('s', async () => 'never', Number.POSITIVE_INFINITY, leave.signal);
    const after = gate.run('s', async () => (log.push('after'), 'after'));
    await new Promise((r) => setTimeout(r, 10));
    expect(gate.load('s')).toEqual({ running: 1, waiting: 2 });
    leave.abort(new Error('answered elsewhere'));
    await expect(leaving).rejects.toThrow('answered elsewhere');
    expect(gate.load('s')).toEqual({ running: 1, waiting: 1 });
    first.release();
    expect([await running, await after]).toEqual(['first', 'after']);
    expect(log).toEqual(['first', 'after']);
    // With a slot free the caller does not wait, so `leave` is not consulted.
    await expect(gate.run('s', async () => 'x', Number.POSITIVE_INFINITY, AbortSignal.abort(new Error('gone')))).resolves.toBe('x');
  });
});
