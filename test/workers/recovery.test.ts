/** The crash-recovery worker settings of `stepwise worker` (workers/recovery.ts). */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEARTBEAT_THROTTLE_MS,
  DEFAULT_ISOLATE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS,
  DEFAULT_STICKY_QUEUE_TIMEOUT_MS,
  recoveryOptions,
} from '../../workers/recovery.js';

describe('recoveryOptions', () => {
  it('is a 1 s sticky-queue timeout, a 500 ms heartbeat throttle, 8 workflow-task slots and a 60 s isolate timeout when nothing is set', () => {
    expect(recoveryOptions({})).toEqual({
      stickyQueueScheduleToStartTimeout: 1_000,
      maxHeartbeatThrottleInterval: 500,
      maxConcurrentWorkflowTaskExecutions: 8,
      isolateExecutionTimeout: 60_000,
    });
    expect(
      recoveryOptions({ STEPWISE_STICKY_QUEUE_TIMEOUT_MS: '', STEPWISE_HEARTBEAT_THROTTLE_MS: ' ', STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS: '', STEPWISE_ISOLATE_TIMEOUT_MS: '' }),
    ).toEqual({
      stickyQueueScheduleToStartTimeout: DEFAULT_STICKY_QUEUE_TIMEOUT_MS,
      maxHeartbeatThrottleInterval: DEFAULT_HEARTBEAT_THROTTLE_MS,
      maxConcurrentWorkflowTaskExecutions: DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS,
      isolateExecutionTimeout: DEFAULT_ISOLATE_TIMEOUT_MS,
    });
  });

  it('takes whole numbers of milliseconds for the three times and a whole number of slots', () => {
    expect(
      recoveryOptions({
        STEPWISE_STICKY_QUEUE_TIMEOUT_MS: '250',
        STEPWISE_HEARTBEAT_THROTTLE_MS: ' 1000 ',
        STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS: '20',
        STEPWISE_ISOLATE_TIMEOUT_MS: '5000',
      }),
    ).toEqual({ stickyQueueScheduleToStartTimeout: 250, maxHeartbeatThrottleInterval: 1_000, maxConcurrentWorkflowTaskExecutions: 20, isolateExecutionTimeout: 5_000 });
  });

  it.each(['1', '0', '4.5', 'many'])('refuses STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS=%s with a config error naming it', (raw) => {
    expect(() => recoveryOptions({ STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS: raw })).toThrow(
      new RegExp(`STEPWISE_MAX_CONCURRENT_WORKFLOW_TASKS: must be a whole number of workflow tasks >= 2, got "${raw}"`),
    );
  });

  it.each([
    ['STEPWISE_STICKY_QUEUE_TIMEOUT_MS', '99'],
    ['STEPWISE_STICKY_QUEUE_TIMEOUT_MS', '1s'],
    ['STEPWISE_HEARTBEAT_THROTTLE_MS', '0'],
    ['STEPWISE_HEARTBEAT_THROTTLE_MS', '2.5'],
    ['STEPWISE_HEARTBEAT_THROTTLE_MS', '-500'],
    ['STEPWISE_ISOLATE_TIMEOUT_MS', '60s'],
    ['STEPWISE_ISOLATE_TIMEOUT_MS', '50'],
  ])('refuses %s=%s with a config error naming the variable', (name, raw) => {
    expect(() => recoveryOptions({ [name]: raw })).toThrow(new RegExp(`${name}: must be a whole number of milliseconds >= 100, got "${raw}"`));
  });
});
