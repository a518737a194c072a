/** Process settings read from the environment (runtime/env.ts). */
import { describe, expect, it } from 'vitest';
import { workflowCacheSize } from '../../runtime/env.js';

describe('STEPWISE_WORKFLOW_CACHE_SIZE', () => {
  it('is the SDK default when unset or empty, else a whole number >= 1', () => {
    expect(workflowCacheSize({})).toBeUndefined();
    expect(workflowCacheSize({ STEPWISE_WORKFLOW_CACHE_SIZE: '' })).toBeUndefined();
    expect(workflowCacheSize({ STEPWISE_WORKFLOW_CACHE_SIZE: '100' })).toBe(100);
  });

  it.each(['0', '-3', '2.5', 'lots'])('refuses %s with a config error naming the variable', (raw) => {
    expect(() => workflowCacheSize({ STEPWISE_WORKFLOW_CACHE_SIZE: raw })).toThrow(/STEPWISE_WORKFLOW_CACHE_SIZE: must be a whole number >= 1/);
  });
});
