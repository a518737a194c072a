/** The API's Temporal client (api/temporal-client.ts) on the run's real server: its gRPC interceptors and a call. */
import type { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { closedChannelGuard } from '../../api/closed-channel.js';
import { connectTemporalClient } from '../../api/temporal-client.js';
import { temporalServer } from '../support/temporal.js';

describe('connectTemporalClient', () => {
  it('connects with the SDK retry interceptor and the closed-channel guard beneath it, and calls go through', async () => {
    const { address, namespace } = temporalServer();
    const client = await connectTemporalClient({ address, namespace, taskQueue: 'stepwise' });
    try {
      const interceptors = (client.connection as Connection).options.interceptors;
      expect(interceptors).toHaveLength(2);
      expect(interceptors[1]).toBe(closedChannelGuard);
      const info = await client.workflowService.getSystemInfo({});
      expect(info.capabilities?.signalAndQueryHeader).toBe(true);
    } finally {
      await client.connection.close();
    }
  });
});
