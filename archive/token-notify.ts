/**
 * Streamed model tokens between processes through PostgreSQL `LISTEN`/`NOTIFY`: workers publish the text deltas of
 * an LLM decision as it streams, API instances listening on the same database forward them to the session's SSE
 * clients as `event: token`.
 *
 * Best effort by design: tokens are a preview of the turn's reply, never the record of it (the turn's events are).
 * Nothing is stored or replayed; a notification sent while no API listens, or while the database is away, is lost;
 * the publisher never throws into the activity that publishes.
 *
 * Wire format: channel {@link TOKEN_CHANNEL}, payload `{"sessionId": "...", "text": "..."}` (JSON, at most
 * {@link MAX_TOKEN_PAYLOAD_BYTES} bytes; longer batches are split).
 */
import pg from 'pg';
import { z } from 'zod';

/** NOTIFY channel of streamed tokens. */
export const TOKEN_CHANNEL = 'stepwise_tokens';

/**
 * Largest NOTIFY payload sent, in bytes of UTF-8 JSON. PostgreSQL refuses payloads of 8,000 bytes or more in the
 * default configuration (docs, SQL command NOTIFY: "must be shorter than 8000 bytes"); 7,000 leaves a margin.
 */
export const MAX_TOKEN_PAYLOAD_BYTES = 7_000;

/** Default time deltas of one session are gathered into one notification, in ms. */
export const DEFAULT_TOKEN_BATCH_MS = 50;

/**
 * Default cap on text waiting to be sent for one session, in UTF-8 bytes; deltas beyond it are dropped until the
 * next batch is sent (a stalled database must not grow the worker's memory).
 */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024;

/** One notification's payload. */
export const TokenNotification = z.object({ sessionId: z.string().min(1), text: z.string() });
export type TokenNotification = z.infer<typeof TokenNotification>;

/** Sends token deltas. Every method is safe to call at any time and never throws. */
export interface TokenPublisher {
  /**
   * Queues `text` for `sessionId`; queued deltas of a session go out together after the batch delay, in order.
   * Empty text is ignored. Never throws, never blocks.
   */
  publish(sessionId: string, text: string): void;
  /** Sends everything queued now; resolves when sent (or dropped on error). */
  flush(): Promise<void>;
  /** Flushes, then releases the connection. Idempotent; `publish` after close is a no-op. */
  close(): Promise<void>;
}

export interface TokenPublisherOptions {
  /** Batch delay in ms. Default {@link DEFAULT_TOKEN_BATCH_MS}. */
  batchMs?: number;
  /** Per-session cap on queued text, in bytes. Default {@link DEFAULT_MAX_PENDING_BYTES}. */
  maxPendingBytes?: number;
  /** How long to wait for a connection, in ms. Default 2,000. */
  connectionTimeoutMs?: number;
  /** Told about dropped batches (database unreachable...). Default: silent. Never receives the database URL. */
  onError?: (err: Error) => void;
}

/** Receives token deltas for sessions. */
export interface TokenSubscriber {
  /** Calls `fn` with each delta published for `sessionId` from now on; returns the function that stops it. */
  subscribe(sessionId: string, fn: (text: string) => void): () => void;
}

/** A {@link TokenSubscriber} on its own database connection. */
export interface TokenListener extends TokenSubscriber {
  /**
   * Resolves once `LISTEN` is active on the current connection (waits through reconnects; for tests and probes).
   * Also resolves when the listener is closed meanwhile.
   */
  ready(): Promise<void>;
  /** Stops listening and closes the connection. Idempotent. */
  close(): Promise<void>;
}

export interface TokenListenerOptions {
  /** First delay before reconnecting after the connection failed, in ms; doubles up to 30 s. Default 1,000. */
  reconnectMs?: number;
  /** How long one connection attempt waits, in ms. Default 5,000. */
  connectionTimeoutMs?: number;
  /** Told about connection failures (before each reconnect). Default: silent. */
  onError?: (err: Error) => void;
}

/**
 * Splits `text` into pieces whose notification payload (`{sessionId, text}` as JSON) fits in `maxBytes`, never
 * inside a surrogate pair. Returns `[]` when not even one character fits next to `sessionId`.
 */
export function splitTokenPayloads(sessionId: string, text: string, maxBytes = MAX_TOKEN_PAYLOAD_BYTES): string[] {
  const overhead = Buffer.byteLength(JSON.stringify({ sessionId, text: '' }), 'utf8');
  const budget = maxBytes - overhead;
  const pieces: string[] = [];
  let piece = '';
  let size = 0;
  for (const ch of text) {
    // Escaped size of this code point inside a JSON string (`"` -> `\"`, control chars -> `\u00xx`).
    const chSize = Buffer.byteLength(JSON.stringify(ch), 'utf8') - 2;
    if (chSize > budget) return [];
    if (size + chSize > budget) {
      pieces.push(piece);
      piece = '';
      size = 0;
    }
    piece += ch;
    size += chSize;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/**
 * A publisher on `databaseUrl` (a `postgres://` URL): one pooled connection, sends in publish order with
 * `SELECT pg_notify($1, $2)`. Connects lazily; an unreachable database drops batches (reported to `onError`).
 * Give `publish` to `createActivities({ publishToken })` (bind it: `(s, t) => publisher.publish(s, t)`).
 */
export function createTokenPublisher(databaseUrl: string, options: TokenPublisherOptions = {}): TokenPublisher {
  const batchMs = options.batchMs ?? DEFAULT_TOKEN_BATCH_MS;
  const maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  const report = (err: unknown) => {
    try {
      options.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // a failing reporter must not reach the caller either
    }
  };
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 1, // one connection: notifications leave in the order they were published
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    application_name: 'stepwise-tokens',
  });
  pool.on('error', report); // an idle connection dropped: the pool replaces it on the next query

  /** Queued text by session, in first-publish order. */
  const pending = new Map<string, { text: string; bytes: number }>();
  let timer: NodeJS.Timeout | undefined;
  /** Tail of the send chain (sends never reject). */
  let sending: Promise<void> = Promise.resolve();
  let closed = false;

  const send = (batch: Array<[string, string]>): Promise<void> => {
    sending = sending.then(async () => {
      for (const [sessionId, text] of batch) {
        for (const piece of splitTokenPayloads(sessionId, text)) {
          try {
            await pool.query('SELECT pg_notify($1, $2)', [TOKEN_CHANNEL, JSON.stringify({ sessionId, text: piece })]);
          } catch (err) {
            report(err);
            return; // database away: drop the rest of this batch rather than queue behind it
          }
        }
      }
    });
    return sending;
  };

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return sending;
    const batch = [...pending].map(([sessionId, p]): [string, string] => [sessionId, p.text]);
    pending.clear();
    return send(batch);
  };

  return {
    publish(sessionId, text) {
      try {
        if (closed || typeof text !== 'string' || text.length === 0 || typeof sessionId !== 'string') return;
        const entry = pending.get(sessionId) ?? { text: '', bytes: 0 };
        const bytes = Buffer.byteLength(text, 'utf8');
        if (entry.bytes + bytes > maxPending) return; // best effort: drop what does not fit
        entry.text += text;
        entry.bytes += bytes;
        pending.set(sessionId, entry);
        if (!timer) {
          timer = setTimeout(() => void flush(), batchMs);
          timer.unref();
        }
      } catch (err) {
        report(err);
      }
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      await flush();
      await pool.end().catch(report);
    },
  };
}

/**
 * A listener on `databaseUrl`: one dedicated `pg.Client` running `LISTEN stepwise_tokens`, reconnecting (and
 * listening again) after any connection error with a doubling delay. Notifications for sessions nobody subscribed
 * to are ignored; malformed payloads are ignored; a throwing subscriber does not affect the others.
 * Connects in the background: creating it never fails, even when the database is down.
 */
export function createTokenListener(databaseUrl: string, options: TokenListenerOptions = {}): TokenListener {
  const baseDelayMs = options.reconnectMs ?? 1_000;
  const subscribers = new Map<string, Set<(text: string) => void>>();
  let client: pg.Client | undefined;
  let closed = false;
  let delayMs = baseDelayMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let listening = false;
  let waiters: Array<() => void> = [];

  const report = (err: unknown) => {
    try {
      options.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // ignore
    }
  };

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel !== TOKEN_CHANNEL || msg.payload === undefined) return;
    let parsed: TokenNotification;
    try {
      const result = TokenNotification.safeParse(JSON.parse(msg.payload));
      if (!result.success) return;
      parsed = result.data;
    } catch {
      return;
    }
    for (const fn of subscribers.get(parsed.sessionId) ?? []) {
      try {
        fn(parsed.text);
      } catch {
        // one subscriber's failure is its own
      }
    }
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delayMs);
    retryTimer.unref();
    delayMs = Math.min(delayMs * 2, 30_000);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({
      connectionString: databaseUrl,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      application_name: 'stepwise-token-listener',
    });
    client = c;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      if (client === c) {
        client = undefined;
        listening = false;
      }
      if (!closed) report(err);
      c.end().catch(() => {});
      scheduleReconnect();
    };
    c.on('error', fail);
    c.on('end', () => fail(new Error('token listener connection ended')));
    c.on('notification', onNotification);
    try {
      await c.connect();
      await c.query(`LISTEN ${TOKEN_CHANNEL}`);
    } catch (err) {
      fail(err);
      return;
    }
    if (closed || failed) return;
    listening = true;
    delayMs = baseDelayMs;
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  };

  void connect();

  return {
    subscribe(sessionId, fn) {
      let set = subscribers.get(sessionId);
      if (!set) subscribers.set(sessionId, (set = new Set()));
      // Wrap so the same function subscribed twice gets two independent subscriptions.
      const entry = (text: string) => fn(text);
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && subscribers.get(sessionId) === set) subscribers.delete(sessionId);
      };
    },
    ready() {
      if (listening) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async close() {
      if (closed) return;
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      subscribers.clear();
      const c = client;
      client = undefined;
      listening = false;
      const pendingReady = waiters;
      waiters = [];
      for (const w of pendingReady) w(); // nobody waits forever on a closed listener
      if (c) await c.end().catch(() => {});
    },
  };
}
