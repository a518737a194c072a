/** Invariant 7 of the chaos suite (bench/chaos/check.ts `checkCrashes`): every unplanned exit is a violation. */
import { describe, expect, it } from 'vitest';
import { checkCrashes } from '../../bench/chaos/check.js';

describe('chaos invariant 7: no crashes', () => {
  it('passes with no unplanned exits and names each one otherwise', () => {
    const clean = checkCrashes([{ name: 'worker-1', unplannedExits: [] }, { name: 'api-1', unplannedExits: [] }]);
    expect(clean.counts).toEqual({ processes: 2, 'unplanned exits': 0, violations: 0 });
    expect(clean.violations).toEqual([]);
    const crashed = checkCrashes([
      { name: 'worker-1', unplannedExits: ['exited (1) at 10:50:21.226'] },
      { name: 'worker-2', unplannedExits: ['exited (1) at 10:52:21.227', 'exited (SIGABRT) at 10:58:00.000'] },
    ]);
    expect(crashed.counts).toMatchObject({ 'unplanned exits': 3, violations: 3 });
    expect(crashed.violations).toEqual([
      'worker-1 exited (1) at 10:50:21.226 (see worker-1.log)',
      'worker-2 exited (1) at 10:52:21.227 (see worker-2.log)',
      'worker-2 exited (SIGABRT) at 10:58:00.000 (see worker-2.log)',
    ]);
  });
});
