/**
 * Server-Sent Events over a raw Node response (the route hijacks the Fastify reply): framing, heartbeat comments,
 * backpressure and one close path whoever closes (the server, the client, the app shutting down).
 *
 * Framing follows the WHATWG HTML "Server-sent events" section: `id:`, `event:` and `data:` lines, a blank line
 * ending each message, lines starting with `:` are comments (ignored by clients, they keep proxies from timing out).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Default interval of `: ping` comments, in ms. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Response headers of an event stream. `x-accel-buffering: no` keeps nginx from buffering it. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * One SSE message: optional `id:` line, `event:` line, then `data:` lines (one per line of the JSON of `data`,
 * which `JSON.stringify` keeps on one line), then a blank line.
 */
export function formatSseMessage(event: string, data: unknown, id?: number | string): string {
  const json = JSON.stringify(data) ?? 'null';
  const dataLines = json
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${dataLines}\n`;
}

export interface SseStreamOptions {
  /** Interval of `: ping` comments in ms; 0 turns them off. Default {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/**
 * An open event stream on `res`. The constructor writes the 200 head at once (so clients see the stream open
 * before the first event) and starts the heartbeat. `close()` ends the response; a client disconnect closes the
 * stream too. Either way every `onClose` callback runs once and no timer is left behind.
 */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #heartbeat: NodeJS.Timeout | undefined;
  readonly #closeCallbacks = new Set<() => void>();
  #closed = false;

  constructor(res: ServerResponse, options: SseStreamOptions = {}) {
    this.#res = res;
    res.writeHead(200, { ...SSE_HEADERS, ...options.headers });
    res.flushHeaders();
    // The client left (or the socket failed: EPIPE/ECONNRESET, nothing to tell anyone). Destroy the response so a
    // half-closed socket is not kept open waiting for a response end that will never be read.
    const gone = () => {
      this.#finish();
      if (!res.writableEnded && !res.destroyed) res.destroy();
    };
    res.on('close', gone);
    res.on('error', gone);
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.comment('ping'), heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** True once the stream was closed by either side. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the socket buffer is full (writes still succeed; wait with {@link drained} before writing more). */
  get congested(): boolean {
    return this.#res.writableNeedDrain;
  }

  /** Writes one message (see {@link formatSseMessage}); no-op once closed. */
  send(event: string, data: unknown, id?: number | string): void {
    this.#write(formatSseMessage(event, data, id));
  }

  /** Writes a comment line (`: text`), ignored by clients. */
  comment(text: string): void {
    this.#write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  /** Resolves when the socket buffer has room again, or at once if it has (or the stream closed). */
  drained(): Promise<void> {
    if (this.#closed || !this.#res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off('drain', done);
        unregister();
        resolve();
      };
      this.#res.once('drain', done);
      const unregister = this.onClose(done);
    });
  }

  /**
   * Runs `fn` once when the stream closes (at once if it already has).
   * @returns a function that unregisters `fn` (for waits that ended otherwise).
   */
  onClose(fn: () => void): () => void {
    if (this.#closed) {
      fn();
      return () => {};
    }
    const once = () => fn();
    this.#closeCallbacks.add(once);
    return () => this.#closeCallbacks.delete(once);
  }

  /** Ends the response (idempotent). */
  close(): void {
    if (!this.#closed && !this.#res.writableEnded) this.#res.end();
    this.#finish();
  }

  #write(chunk: string): void {
    if (this.#closed || this.#res.writableEnded || this.#res.destroyed) return;
    this.#res.write(chunk);
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const callbacks = [...this.#closeCallbacks];
    this.#closeCallbacks.clear();
    for (const fn of callbacks) {
      try {
        fn();
      } catch {
        // a callback's failure must not keep the others from running
      }
    }
  }
}

/**
 * Opens the event streams of one Fastify plugin: `open(reply)` hijacks the reply and returns its {@link SseStream}
 * (200 head written, heartbeat started with `options`). A `preClose` hook on `app` closes every stream still open, since
 * a Node server waits for open responses before it closes: an idle stream would otherwise hold shutdown up until its
 * client left. Call once per plugin, at registration.
 */
export function sseStreams(app: FastifyInstance, options: SseStreamOptions = {}): (reply: FastifyReply) => SseStream {
  const open = new Set<SseStream>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });
  return (reply) => {
    reply.hijack();
    const stream = new SseStream(reply.raw, options);
    open.add(stream);
    streamResponses.add(reply.raw);
    openByServer.set(app.server, (openByServer.get(app.server) ?? 0) + 1);
    stream.onClose(() => {
      open.delete(stream);
      openByServer.set(app.server, (openByServer.get(app.server) ?? 1) - 1);
    });
    return stream;
  };
}

/** Open streams by HTTP server (every plugin of one app shares its server), for the API's metrics. */
const openByServer = new WeakMap<object, number>();
/** Responses that are (or were) event streams. */
const streamResponses = new WeakSet<object>();

/** Event streams open now on `server` (an app's `app.server`), over all its plugins. */
export function openSseStreams(server: object): number {
  return openByServer.get(server) ?? 0;
}

/** Whether `res` was turned into an event stream by {@link sseStreams}. */
export function isSseResponse(res: object): boolean {
  return streamResponses.has(res);
}
