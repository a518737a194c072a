/**
 * Closing a Temporal connection while the SDK's retry interceptor waits to send a call again (api/closed-channel.ts):
 * real gRPC (grpc-js) against a port with nothing listening, so every attempt fails UNAVAILABLE and is retried.
 */
import { type Interceptor, InterceptingCall, status } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { temporalGrpcInterceptors } from '../../api/closed-channel.js';
import { closedPort } from '../support/net.js';

/** An interceptor beneath the others that resolves `failed` when the first attempt of a call ends UNAVAILABLE. */
function firstFailure(): { interceptor: Interceptor; failed: Promise<void> } {
  let resolve!: () => void;
  const failed = new Promise<void>((r) => (resolve = r));
  const interceptor: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(received, nextStatus) {
            if (received.code === status.UNAVAILABLE) resolve();
            nextStatus(received);
          },
        });
      },
    });
  return { interceptor, failed };
}

describe('closing the connection while a call waits for its retry', () => {
  it('ends the call with CANCELLED instead of an uncaught "Channel has been shut down"', async () => {
    const { interceptor, failed } = firstFailure();
    const connection = Connection.lazy({ address: `127.0.0.1:${await closedPort()}`, interceptors: [...temporalGrpcInterceptors(), interceptor] });
    const call = connection.workflowService.getSystemInfo({}).then(
      () => 'answered',
      (err: { code?: number; details?: string }) => err,
    );
    await failed; // the first attempt failed; the retry interceptor's timer (about 170 ms) now waits to send it again
    await connection.close();
    // Without the guard the retry timer throws in grpc-js's createCall and this promise never settles.
    const settled = await Promise.race([call, new Promise((r) => setTimeout(() => r('still pending after 5 s'), 5_000))]);
    expect(settled).toMatchObject({ code: status.CANCELLED, details: 'connection closed (Channel has been shut down)' });
  });

  it('keeps the retries: a call that fails UNAVAILABLE is sent again before it fails', async () => {
    let attempts = 0;
    const counter: Interceptor = (options, nextCall) => {
      attempts++;
      return new InterceptingCall(nextCall(options));
    };
    const connection = Connection.lazy({ address: `127.0.0.1:${await closedPort()}`, interceptors: [...temporalGrpcInterceptors(), counter] });
    const err = await connection.withDeadline(Date.now() + 1_000, () => connection.workflowService.getSystemInfo({})).catch((e) => e);
    await connection.close();
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(attempts).toBeGreaterThan(1);
  });
});
