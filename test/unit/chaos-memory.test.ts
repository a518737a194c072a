/**
 * Invariant 6 of the chaos suite (bench/chaos/check.ts `checkMemory`): the end against the first half's median, with an
 * allowance per workflow the worker's cache held above its first half's count.
 */
import { describe, expect, it } from 'vitest';
import { checkMemory } from '../../bench/chaos/check.js';
import type { MemorySample } from '../../bench/chaos/check.js';

const MiB = 1024 * 1024;

/** Samples of `name` every 15 s of one life, `mib(ageS)` MiB each, from 5 s to `endS`. */
function life(name: string, lifeNo: number, endS: number, mib: (ageS: number) => number, cached?: (ageS: number) => number | undefined): MemorySample[] {
  const out: MemorySample[] = [];
  for (let age = 5; age <= endS; age += 15) {
    const c = cached?.(age);
    out.push({ name, life: lifeNo, atMs: age * 1000, ageMs: age * 1000, bytes: mib(age) * MiB, ...(c === undefined ? {} : { cached: c }) });
  }
  return out;
}

describe('chaos invariant 6: memory', () => {
  it('passes a worker whose memory rose while it took its sessions over, then held (seed 7015, worker-1)', () => {
    // 267 MiB at start, about 630 MiB after 135 s, then flat: the old rule (first sample 20 s in, 328 MiB) failed it.
    const samples = life('worker-1', 3, 315, (age) => (age < 135 ? 267 + (age / 135) * 363 : 600 + ((age / 15) % 3) * 15));
    const result = checkMemory(samples, 20_000);
    expect(result.violations).toEqual([]);
  });

  it('fails memory that keeps growing through the second half of the life', () => {
    const samples = life('worker-2', 1, 600, (age) => 300 + age); // 300 → 900 MiB, steadily
    const result = checkMemory(samples, 20_000);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toMatch(/^worker-2: 890 MiB at the end, over 1\.5 × 455 MiB \(after warm-up\) \+ 64 MiB$/);
  });

  it('reads only the life the process ends in, and says so for a process restarted too late to judge', () => {
    const samples = [...life('api-1', 1, 300, () => 900), ...life('api-1', 2, 30, () => 150)];
    expect(checkMemory(samples, 20_000).counts['private MiB']).toBe('api-1 150 MiB (restarted late)');
    expect(checkMemory(samples, 20_000).violations).toEqual([]);
  });

  it('allows memory for the workflows a worker took over (seed 7011, worker-1: 400 → 784 MiB as its cache went 14 → 36)', () => {
    const mib = (age: number) => (age < 290 ? 400 : 400 + ((age - 290) / 300) * 384);
    const cached = (age: number) => (age < 290 ? 14 : Math.min(36, 14 + Math.round((age - 290) / 10)));
    expect(checkMemory(life('worker-1', 1, 600, mib), 20_000).violations).toHaveLength(1); // no cache figures: no allowance
    const result = checkMemory(life('worker-1', 1, 600, mib, cached), 20_000);
    expect(result.violations).toEqual([]);
    expect(result.counts['private MiB']).toBe('worker-1 400→784 MiB (cache 14→peak 36)');
  });

  it('fails memory that keeps growing while the cache holds steady, and counts the cache peak only from warm-up on', () => {
    // A cache of 40 in the first 15 s (before warm-up) is not the life's peak: only 20 → 22 counts (2 × 12 MiB).
    const cached = (age: number) => (age < 20 ? 40 : age < 300 ? 20 : 22);
    const result = checkMemory(life('worker-2', 1, 600, (age) => 300 + age, cached), 20_000);
    expect(result.violations).toEqual(['worker-2: 890 MiB at the end, over 1.5 × 455 MiB (after warm-up) + 64 MiB + 2 × 12 MiB (cached workflows above warm-up)']);
  });

  it('skips samples whose worker did not answer for its cache (stalled)', () => {
    const cached = (age: number) => (age % 45 === 5 ? undefined : age < 300 ? 10 : 30);
    const result = checkMemory(life('worker-1', 1, 600, (age) => (age < 300 ? 400 : 800), cached), 20_000);
    expect(result.counts['private MiB']).toBe('worker-1 400→800 MiB (cache 10→peak 30)');
    expect(result.violations).toEqual([]); // 1.5 × 400 + 64 + 20 × 12 = 904
  });
});
