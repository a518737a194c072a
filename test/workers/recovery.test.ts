/** The crash-recovery worker settings of `stepwise worker` (workers/recovery.ts). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEARTBEAT_THROTTLE_MS, DEFAULT_STICKY_QUEUE_TIMEOUT_MS, recoveryOptions } from '../../workers/recovery.js';

describe('recoveryOptions', () => {
  it('is a 1 s sticky-queue timeout and a 1 s heartbeat throttle when nothing is set', () => {
    expect(recoveryOptions({})).toEqual({ stickyQueueScheduleToStartTimeout: 1_000, maxHeartbeatThrottleInterval: 1_000 });
    expect(recoveryOptions({ STEPWISE_STICKY_QUEUE_TIMEOUT_MS: '', STEPWISE_HEARTBEAT_THROTTLE_MS: ' ' })).toEqual({
      stickyQueueScheduleToStartTimeout: DEFAULT_STICKY_QUEUE_TIMEOUT_MS,
      maxHeartbeatThrottleInterval: DEFAULT_HEARTBEAT_THROTTLE_MS,
    });
  });

  it('takes whole numbers of milliseconds for both', () => {
    expect(recoveryOptions({ STEPWISE_STICKY_QUEUE_TIMEOUT_MS: '250', STEPWISE_HEARTBEAT_THROTTLE_MS: ' 1000 ' })).toEqual({
      stickyQueueScheduleToStartTimeout: 250,
      maxHeartbeatThrottleInterval: 1_000,
    });
  });

  it.each([
    ['STEPWISE_STICKY_QUEUE_TIMEOUT_MS', '99'],
    ['STEPWISE_STICKY_QUEUE_TIMEOUT_MS', '1s'],
    ['STEPWISE_HEARTBEAT_THROTTLE_MS', '0'],
    ['STEPWISE_HEARTBEAT_THROTTLE_MS', '2.5'],
    ['STEPWISE_HEARTBEAT_THROTTLE_MS', '-500'],
  ])('refuses %s=%s with a config error naming the variable', (name, raw) => {
    expect(() => recoveryOptions({ [name]: raw })).toThrow(new RegExp(`${name}: must be a whole number of milliseconds >= 100, got "${raw}"`));
  });
});
