/**
 * `GET /sessions/:sessionId/events`: a session's events as Server-Sent Events, resumable with `Last-Event-ID`.
 *
 * Transport: this API instance polls the workflow with the `getEvents` query (`backend.events`) every
 * `pollIntervalMs` (backing off to `idlePollMs` while the session is quiet), once per session whatever the number of its
 * open streams (`../live/event-hub.ts`), at once when a turn this instance sent is accepted or answered
 * (`SessionBackend.onSessionActivity`), and reads the archive for what the workflow no longer holds (see `../live/event-feed.ts`). A query is answered by whichever
 * worker has the workflow, so any API instance can serve any stream: no sticky sessions, no fan-out between API
 * instances, nothing lost when an API instance restarts (the client reconnects with `Last-Event-ID`).
 *
 * Messages: `id: <seq>` + `event: <SessionEvent type>` + `data: <event JSON>` per event; `event: gap` (id = its
 * `toSeq`) for events nobody holds any more; `event: token` (no id, never replayed) for streamed model text when a
 * token source is wired; `: ping` comments as heartbeat. The stream ends after `session_ended`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenSubscriber } from '../../archive/token-notify.js';
import { CallerError } from '../../src/errors.js';
import { SessionId } from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';
import { type EventSink, SessionEventFeed } from '../live/event-feed.js';
import { LiveEventHub, type LiveQueryKind } from '../live/event-hub.js';
import { DEFAULT_HEARTBEAT_MS, sseStreams } from '../live/sse.js';

/** Default interval between two `getEvents` queries of one stream, in ms. */
export const DEFAULT_EVENTS_POLL_MS = 250;

/**
 * Default longest interval between two polls of a quiet session (`api/live/event-hub.ts`: no event, not busy), in ms.
 * An idle watched session costs the workers a quarter of the queries at the full rate; the first events of something
 * another API instance started reach this one's streams up to 1 s late.
 */
export const DEFAULT_EVENTS_IDLE_POLL_MS = 1_000;

/** Longest wait between polls after consecutive failures (the interval doubles per failure), in ms. */
export const MAX_EVENTS_RETRY_MS = 5_000;

export interface EventRoutesOptions {
  /** Interval between polls of the workflow, in ms. Default {@link DEFAULT_EVENTS_POLL_MS}. */
  pollIntervalMs?: number;
  /**
   * Longest interval between polls of a quiet session, in ms (the interval doubles up to it; at most
   * `pollIntervalMs`: no back-off). Default {@link DEFAULT_EVENTS_IDLE_POLL_MS}.
   */
  idlePollMs?: number;
  /** Interval of `: ping` comments, in ms (0: none). Default {@link DEFAULT_HEARTBEAT_MS} (15 s). */
  heartbeatMs?: number;
  /** Streamed model tokens (PostgreSQL LISTEN); without it no `token` events are sent. */
  tokens?: TokenSubscriber;
  /** Called for every `getEvents` query the shared polls send (the API's metrics). */
  onLiveQuery?: (kind: LiveQueryKind) => void;
}

/** An event id as sent in `id:` lines: an integer `seq` (or -1, "before the first"). */
const EventIdText = z.string().regex(/^(-1|0|[1-9][0-9]{0,14})$/, 'an event id sent by this stream (integer seq)');

export const EventsParams = z.object({ sessionId: SessionId });

export const EventsQuerystring = z.object({
  /** Resume after this seq, like `Last-Event-ID` (the header wins when both are given). Default: from the first. */
  after: EventIdText.optional(),
});

/** Only `Last-Event-ID` is read; other headers pass through untouched. */
export const EventsHeaders = z.looseObject({ 'last-event-id': EventIdText.optional() });

/** `event: gap` data: events `fromSeq..toSeq` (inclusive) are held by neither the workflow nor an archive. */
export const GapData = z.object({ fromSeq: z.number().int(), toSeq: z.number().int() });
export type GapData = z.infer<typeof GapData>;

/** `event: token` data: a piece of the model's streamed output (best effort, not replayed). */
export const TokenData = z.object({ text: z.string() });
export type TokenData = z.infer<typeof TokenData>;

const STREAM_DESCRIPTION = [
  'Server-Sent Events (`text/event-stream`). Each session event is sent as `id: <seq>`, `event: <type>` (turn_started,',
  'user_message, decision, decision_error, tool_call, tool_result, tool_error, step_change, flow_enter, flow_exit,',
  'reply, turn_failed, session_ended), `data: <event JSON>`. Reconnect with `Last-Event-ID: <seq>` (or `?after=<seq>`)',
  'to get exactly the events after it. Events the workflow no longer holds come from the archive; without one they',
  'are announced once as `event: gap` with `{fromSeq, toSeq}`. `event: token` (no id) carries streamed model text',
  'when the API has `DATABASE_URL`. `: ping` comments every 15 s. The stream ends after `session_ended`.',
].join(' ');

const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, opts) => {
  const pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_EVENTS_POLL_MS;
  const openStream = sseStreams(app, { heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS });
  const hub = new LiveEventHub({
    source: app.backend,
    pollIntervalMs,
    idlePollMs: opts.idlePollMs ?? DEFAULT_EVENTS_IDLE_POLL_MS,
    maxRetryMs: MAX_EVENTS_RETRY_MS,
    ...(opts.onLiveQuery ? { onQuery: opts.onLiveQuery } : {}),
  });
  // A turn this API sent was accepted or answered (or a message posted, a decision sent): its session's streams read
  // the new events now, at the full rate, not at their next poll.
  const unwatch = app.backend.onSessionActivity?.((sessionId) => hub.wake(sessionId));
  app.addHook('onClose', async () => {
    unwatch?.();
    hub.close();
  });

  app.get(
    '/sessions/:sessionId/events',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Live and past session events (Server-Sent Events, resumable with Last-Event-ID)',
        description: STREAM_DESCRIPTION,
        params: EventsParams,
        querystring: EventsQuerystring,
        headers: EventsHeaders,
        response: {
          200: {
            description: 'An event stream (`text/event-stream`), described above; not JSON.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...errorReplies(404, 503),
        },
      },
    },
    async (request, reply) => {
      const { sessionId } = request.params;
      const idText = request.headers['last-event-id'] ?? request.query.after ?? '-1';
      const afterSeq = Number(idText);
      if (!Number.isSafeInteger(afterSeq)) throw new CallerError('INVALID_REQUEST', `invalid event id ${idText}`);

      const live = hub.subscribe(sessionId);
      const feed = new SessionEventFeed({ backend: { events: (_id, fromSeq) => live.events(fromSeq) }, archive: app.archive, sessionId, afterSeq });
      try {
        await feed.open(); // unknown session, Temporal down without an archive...: a normal JSON error reply
      } catch (err) {
        live.close();
        throw err;
      }

      const stream = openStream(reply);
      const stop = new AbortController();
      const unsubscribe = opts.tokens?.subscribe(sessionId, (text) => {
        // Best effort: a client that cannot keep up misses tokens, never events.
        if (!stream.congested) stream.send('token', { text } satisfies TokenData);
      });
      stream.onClose(() => {
        stop.abort();
        unsubscribe?.();
        live.close();
      });

      const sink: EventSink = {
        event: (e) => stream.send(e.type, e, e.seq),
        gap: (fromSeq, toSeq) => stream.send('gap', { fromSeq, toSeq } satisfies GapData, toSeq),
        drained: () => stream.drained(),
        get closed() {
          return stream.closed;
        },
      };

      void (async () => {
        let failures = 0;
        while (!stream.closed) {
          try {
            if ((await feed.poll(sink)) === 'done') {
              stream.close();
              return;
            }
            failures = 0;
          } catch (err) {
            failures++;
            request.log.warn({ err, sessionId, nextSeq: feed.nextSeq }, 'event stream poll failed; retrying');
          }
          await stream.drained();
          if (failures === 0) {
            // The session's shared poll (aborted: the stream closed); at once if a round it missed holds new events.
            await live.nextRound(stop.signal, feed.nextSeq);
            continue;
          }
          // The feed failed on its own (e.g. the archive): back off before asking again.
          const delayMs = Math.min(pollIntervalMs * 2 ** failures, Math.max(MAX_EVENTS_RETRY_MS, pollIntervalMs));
          await sleep(delayMs, undefined, { signal: stop.signal }).catch(() => {}); // aborted: the stream closed
        }
      })();
      return reply;
    },
  );
};

export default eventRoutes;
