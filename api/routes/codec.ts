/**
 * The codec endpoint the Temporal UI (and `temporal` CLI `--codec-endpoint`) calls to show encrypted payloads:
 * `POST /codec/decode` and `POST /codec/encode`, both `{payloads: [{metadata: {k: base64}, data: base64}]}` in and out
 * (Temporal's remote codec format, see docs.temporal.io "Codec Server" and temporalio/samples-typescript
 * `encryption/src/codec-server.ts`). Registered only when `STEPWISE_CODEC_KEYS` is set; scope `admin` (decoded
 * payloads are whole conversations).
 *
 * An encapsulated plugin registered with prefix `/codec`: `@fastify/cors` (its hook and its `OPTIONS /codec/*`
 * preflight route) applies to these two routes only, for the origins of
 * `STEPWISE_CODEC_CORS_ORIGINS` (default the dev server's UI, `http://localhost:8233`), allowing the `X-Namespace`
 * and `Authorization` headers the UI sends.
 */
import cors from '@fastify/cors';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../errors.js';

/** Default allowed origin: the Web UI of `temporal server start-dev` / `stepwise dev`. */
export const DEFAULT_CODEC_CORS_ORIGINS = ['http://localhost:8233'];

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64');

/** One payload in Temporal's proto-JSON form: metadata values and data in base64. */
export const JsonPayload = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});
export type JsonPayload = z.infer<typeof JsonPayload>;

/** Body and reply of both codec routes. */
export const CodecPayloads = z.object({ payloads: z.array(JsonPayload).max(10_000) });
export type CodecPayloads = z.infer<typeof CodecPayloads>;

function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(data ?? '', 'base64')),
  };
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

export interface CodecRoutesOptions {
  codec: PayloadCodec;
  /** Origins allowed to call the routes from a browser. Default {@link DEFAULT_CODEC_CORS_ORIGINS}. */
  corsOrigins?: string[];
}

const codecRoutes: FastifyPluginAsyncZod<CodecRoutesOptions> = async (app, opts) => {
  await app.register(cors, {
    origin: opts.corsOrigins ?? DEFAULT_CODEC_CORS_ORIGINS,
    methods: ['POST', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'X-Namespace', 'Authorization'],
    // The UI's "include cross-origin credentials" option sends cookies; harmless otherwise.
    credentials: true,
    maxAge: 600,
  });
  const routes = [
    ['decode', 'Decode (decrypt) payloads for the Temporal UI', (p: Payload[]) => opts.codec.decode(p)],
    ['encode', 'Encode (encrypt) payloads, e.g. for the UI to send a signal', (p: Payload[]) => opts.codec.encode(p)],
  ] as const;
  for (const [name, summary, run] of routes) {
    app.post(
      `/${name}`,
      {
        config: { scope: 'admin' },
        schema: { tags: ['codec'], summary, body: CodecPayloads, response: { 200: CodecPayloads, ...errorReplies(401, 403) } },
      },
      async (request) => ({ payloads: (await run(request.body.payloads.map(fromJson))).map(toJson) }),
    );
  }
};

export default codecRoutes;
