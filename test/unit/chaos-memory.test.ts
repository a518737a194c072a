/** Invariant 6 of the chaos suite (bench/chaos/check.ts `checkMemory`): the end against the first half's median. */
import { describe, expect, it } from 'vitest';
import { checkMemory } from '../../bench/chaos/check.js';
import type { MemorySample } from '../../bench/chaos/check.js';

const MiB = 1024 * 1024;

/** Samples of `name` every 15 s of one life, `mib(ageS)` MiB each, from 5 s to `endS`. */
function life(name: string, lifeNo: number, endS: number, mib: (ageS: number) => number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let age = 5; age <= endS; age += 15) out.push({ name, life: lifeNo, atMs: age * 1000, ageMs: age * 1000, bytes: mib(age) * MiB });
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
});
