/**
 * A gRPC interceptor that lets the API close its Temporal connection while the SDK's retry interceptor still has a
 * call waiting to be sent again.
 *
 * Why: `@temporalio/client` (1.24) retries failed calls from a `setTimeout` in its retry interceptor
 * (`grpc-retry.ts`, `retry`). If `connection.close()` runs in between (the API's graceful close, a test's teardown),
 * the timer's `nextCall()` throws "Channel has been shut down" from grpc-js's `createCall`. Nothing can catch that:
 * it is an uncaught exception in a timer, and the call's promise never settles. Placed after the retry interceptor,
 * this one turns that throw into the call ending with status CANCELLED ("connection closed"), which the retry
 * interceptor does not retry: the caller's promise rejects where the first attempt got a message, and is dropped
 * (never settles) where it did not (the SDK's own TypeError in that path is caught here); either way the process goes
 * on.
 */
import { InterceptingCall, type Interceptor, Metadata, status } from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

/** The message grpc-js throws from `createCall` on a closed channel (`internal-channel.ts`). */
const SHUT_DOWN = 'Channel has been shut down';

/**
 * The interceptor: passes calls through; where the channel is already closed, returns a call that ends with
 * CANCELLED on start instead of throwing. Any other error from `nextCall` is thrown unchanged.
 */
export const closedChannelGuard: Interceptor = (options, nextCall) => {
  let call: CallInterface;
  try {
    call = nextCall(options);
  } catch (err) {
    if (!(err instanceof Error) || err.message !== SHUT_DOWN) throw err;
    call = cancelledCall();
  }
  return new InterceptingCall(call);
};

/**
 * The client's interceptor list: the SDK's default retry interceptor (`defaultGrpcRetryOptions()`, what
 * `Connection.connect` uses when given none), then {@link closedChannelGuard} beneath it.
 */
export function temporalGrpcInterceptors(): Interceptor[] {
  return [makeGrpcRetryInterceptor(defaultGrpcRetryOptions()), closedChannelGuard];
}

/** What `InterceptingCall` wraps (grpc-js's `InterceptingCallInterface`, not exported from its package root). */
type CallInterface = ConstructorParameters<typeof InterceptingCall>[0];

/** A call on a closed connection: it sends nothing and ends with CANCELLED in the next tick after `start`. */
function cancelledCall(): CallInterface {
  let cancelled = false;
  return {
    start(_metadata: Metadata, listener?: Partial<{ onReceiveStatus(status: { code: status; details: string; metadata: Metadata }): void }>) {
      process.nextTick(() => {
        if (cancelled) return;
        cancelled = true;
        try {
          listener?.onReceiveStatus?.({ code: status.CANCELLED, details: `connection closed (${SHUT_DOWN})`, metadata: new Metadata() });
        } catch (err) {
          // The SDK's retry interceptor (1.24, `grpc-retry.ts`) ends a call it retried by calling the `next` it saved
          // from the first attempt's `onReceiveMessage`; when that attempt failed without a message there is none,
          // and it throws "savedMessageNext is not a function" here. The connection is closed either way: the call
          // is dropped (its promise does not settle), as before this guard, but nothing is thrown uncaught.
          if (!(err instanceof TypeError && err.message.includes('savedMessageNext'))) throw err;
        }
      });
    },
    cancelWithStatus() {
      cancelled = true;
    },
    getPeer: () => '',
    sendMessageWithContext() {},
    sendMessage() {},
    startRead() {},
    halfClose() {},
    getAuthContext: () => null,
  };
}
