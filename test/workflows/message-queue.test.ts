/**
 * The session's queue bounds and refusal record (workflows/message-queue.ts), the continue-as-new input bound
 * (workflows/carried.ts) and the API's retry backoff (`retryDelayMs`): pure, offline.
 */
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../api/update-retries.js';
import { jsonBytes } from '../../src/engine/state.js';
import { boundCarried } from '../../workflows/carried.js';
import { MessageQueue } from '../../workflows/message-queue.js';
import { MAX_QUEUED_MESSAGE_BYTES, MAX_REMEMBERED_REFUSALS, type SessionWorkflowInput } from '../../workflows/shared.js';

const ended = { code: 'SESSION_ENDED' as const, message: 'ended' };
const message = (i: number, chars = 10) => ({ messageId: `m${i}`, text: 'x'.repeat(chars) });

describe('MessageQueue', () => {
  it('takes messages up to MAX_QUEUED_MESSAGE_BYTES, and room comes back as turns leave', () => {
    const queue = new MessageQueue();
    let n = 0;
    while (queue.hasRoomFor(message(n, 32_000))) queue.pushMessage(message(n++, 32_000));
    expect(n).toBe(8); // 8 x ~32 KB fit in 256 KiB
    expect(queue.pending().reduce((sum, m) => sum + jsonBytes(m), 0)).toBeLessThanOrEqual(MAX_QUEUED_MESSAGE_BYTES);
    expect(queue.hasRoomFor(message(99, 32_000))).toBe(false);
    expect(queue.shift()).toMatchObject({ kind: 'message', message: { messageId: 'm0' } });
    expect(queue.hasRoomFor(message(99, 32_000))).toBe(true);
  });

  it('refuseQueued refuses every queued message, keeps the end request as the next item, and remembers why', () => {
    const queue = new MessageQueue([message(1)]);
    queue.pushMessage(message(2));
    queue.pushEnd();
    queue.pushMessage(message(3));
    expect(queue.refuseQueued(ended)).toEqual(['m1', 'm2', 'm3']);
    expect(queue.length).toBe(1);
    expect(queue.shift()).toEqual({ kind: 'end' });
    expect(queue.refusalOf('m2')).toEqual(ended);
    expect(queue.refusalOf('m4')).toBeUndefined();
    // Room is back: the refused messages no longer count.
    expect(queue.hasRoomFor(message(5, 32_000))).toBe(true);
  });

  it('remembers the newest MAX_REMEMBERED_REFUSALS refusals, carried in order', () => {
    const queue = new MessageQueue();
    for (let i = 0; i < MAX_REMEMBERED_REFUSALS + 5; i++) queue.refuse(`r${i}`, ended);
    const carried = queue.refusals();
    expect(carried).toHaveLength(MAX_REMEMBERED_REFUSALS);
    expect(carried[0]![0]).toBe('r5');
    const next = new MessageQueue([], carried);
    expect(next.refusalOf('r4')).toBeUndefined();
    expect(next.refusalOf(`r${MAX_REMEMBERED_REFUSALS + 4}`)).toEqual(ended);
  });
});

describe('boundCarried', () => {
  const input = (carried: Partial<NonNullable<SessionWorkflowInput['carried']>>): SessionWorkflowInput =>
    ({ sessionId: 's', agent: { name: 'a' }, carried: { state: { big: 'y'.repeat(100_000) }, pending: [], run: 1, ...carried } }) as unknown as SessionWorkflowInput;
  const full = { code: 'QUEUE_FULL' as const, message: 'full' };

  it('leaves an input that fits unchanged', () => {
    const small = input({ pending: [message(1)] });
    expect(boundCarried(small, 1_000_000, full)).toEqual({ input: small, shed: { unarchived: 0, answered: 0, pending: [] } });
  });

  it('sheds unarchived writes first, then the oldest remembered ids, then the newest queued messages (refused)', () => {
    const big = input({
      unarchived: Array.from({ length: 10 }, (_, i) => ({ kind: 'turn', i, pad: 'u'.repeat(10_000) })),
      answered: Array.from({ length: 1_000 }, (_, i) => [`a${i}`, i] as [string, number]),
      pending: Array.from({ length: 5 }, (_, i) => message(i, 10_000)),
    });
    // Room for the state and 2 queued messages (and the 3 refusals): everything unarchived and remembered goes, then
    // the 3 newest messages.
    const fitting = { ...big, carried: { ...big.carried!, unarchived: undefined, answered: [], pending: big.carried!.pending.slice(0, 2) } };
    const limit = jsonBytes(fitting) + jsonBytes([['m4', full], ['m3', full], ['m2', full]]) + 1_000;
    const { input: out, shed } = boundCarried(big, limit, full);
    expect(jsonBytes(out)).toBeLessThanOrEqual(limit);
    expect(shed).toEqual({ unarchived: 10, answered: 1_000, pending: ['m2', 'm3', 'm4'] });
    expect(out.carried!.pending.map((m) => m.messageId)).toEqual(['m0', 'm1']);
    expect(out.carried!.refused).toEqual([
      ['m4', full],
      ['m3', full],
      ['m2', full],
    ]);
    expect(out.carried!.unarchived).toBeUndefined();
    expect(big.carried!.pending).toHaveLength(5); // the input itself is not changed
  });

  it('sheds only as much as needed', () => {
    const big = input({ unarchived: Array.from({ length: 10 }, (_, i) => ({ i, pad: 'u'.repeat(10_000) })) });
    const { input: out, shed } = boundCarried(big, jsonBytes(big) - 25_000, full);
    expect(shed.unarchived).toBe(3);
    expect(out.carried!.unarchived).toHaveLength(7);
  });
});

describe('retryDelayMs (exponential backoff with equal jitter)', () => {
  it('doubles from the base up to a 2 s cap, jittered between half and all of it', () => {
    expect([0, 1, 2, 3].map((a) => retryDelayMs(a, 20, () => 1))).toEqual([20, 40, 80, 160]);
    expect([0, 1, 2, 3].map((a) => retryDelayMs(a, 20, () => 0))).toEqual([10, 20, 40, 80]);
    expect(retryDelayMs(30, 20, () => 1)).toBe(2_000);
    expect(retryDelayMs(30, 20, () => 0)).toBe(1_000);
    const samples = Array.from({ length: 200 }, () => retryDelayMs(4, 100));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1_600);
    expect(new Set(samples).size).toBeGreaterThan(100); // jittered, not one fixed value
  });
});
