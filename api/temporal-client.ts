/**
 * The API process's one Temporal connection and client (STYLE.md: never a connection per request).
 */
import type { PayloadCodec } from '@temporalio/common';
import { Client, type ClientInterceptors, Connection, type TLSConfig } from '@temporalio/client';
import { codecDataConverter } from '../runtime/payload-codec.js';
import { temporalGrpcInterceptors } from './closed-channel.js';
import { SystemError } from '../src/errors.js';

export interface TemporalConnectOptions {
  /** `host:port`, e.g. `localhost:7233` (`TEMPORAL_ADDRESS`). */
  address: string;
  namespace: string;
  taskQueue: string;
  /** `true` for TLS with system roots, or a full TLS config (mTLS). */
  tls?: boolean | TLSConfig;
  /** Temporal Cloud API key (`TEMPORAL_API_KEY`); implies TLS unless `tls` is `false`. Kept in this process only. */
  apiKey?: string;
  /** How long to wait for the server, in ms. Default 5 s. */
  connectTimeoutMs?: number;
  /** Payload codec (encryption, `STEPWISE_CODEC_KEYS`); default none. */
  codec?: PayloadCodec;
  /** Client interceptors (e.g. OpenTelemetry's, see workers/tracing.ts); default none. */
  interceptors?: ClientInterceptors;
}

/**
 * Opens a Temporal connection and a client on it (with the payload codec and interceptors given). Its gRPC calls are
 * retried as the SDK's default does, and closing it while a retry waits is safe (see `closed-channel.ts`).
 *
 * @throws SystemError TEMPORAL_UNAVAILABLE (retryable) when the server cannot be reached within the timeout.
 */
export async function connectTemporalClient(options: TemporalConnectOptions): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: options.address,
      ...(options.tls ? { tls: options.tls } : {}),
      // An API key implies TLS unless `tls: false` was chosen explicitly (TEMPORAL_TLS=false, see runtime/env.ts).
      ...(options.apiKey ? { apiKey: options.apiKey, tls: options.tls ?? true } : {}),
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      // The SDK's retries, plus a guard so closing the connection mid-retry does not crash the process.
      interceptors: temporalGrpcInterceptors(),
    });
  } catch (err) {
    throw new SystemError('TEMPORAL_UNAVAILABLE', `cannot reach Temporal at ${options.address}: ${(err as Error).message}`);
  }
  return new Client({
    connection,
    namespace: options.namespace,
    ...codecDataConverter(options.codec),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
  });
}
