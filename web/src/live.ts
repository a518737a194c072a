/**
 * A session's events, live: `GET /sessions/:id/events` (Server-Sent Events) through the browser's `EventSource`,
 * which reconnects by itself after a network drop and sends `Last-Event-ID` (the last `seq` it got), so nothing is
 * lost or repeated. Events are also kept in `sessionStorage`, so a reload shows them at once and resumes the stream
 * after the last one (`?after=<seq>`, the query form of `Last-Event-ID`) instead of reading everything again.
 * `token` events (the model's streamed text, no id) feed a live partial reply; they are never stored.
 */
import { useEffect, useState } from 'preact/hooks';
import { EVENT_TYPES, type SessionEvent } from './api.js';

/** At most this many events are kept in `sessionStorage` per session (beyond: not cached, streamed again). */
export const MAX_CACHED_EVENTS = 2_000;

export type Connection = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveSession {
  events: SessionEvent[];
  /** Raw model text streamed since the last decision (see `partialResponse`). */
  tokens: string;
  connection: Connection;
  /** Events nobody holds any more (no archive), as `[fromSeq, toSeq]` ranges. */
  gaps: Array<[number, number]>;
}

const cacheKey = (sessionId: string) => `stepwise:events:${sessionId}`;

function readCache(sessionId: string): SessionEvent[] {
  try {
    const raw = sessionStorage.getItem(cacheKey(sessionId));
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? (parsed as SessionEvent[]) : [];
  } catch {
    return [];
  }
}

function writeCache(sessionId: string, events: SessionEvent[]): void {
  try {
    if (events.length > MAX_CACHED_EVENTS) sessionStorage.removeItem(cacheKey(sessionId));
    else sessionStorage.setItem(cacheKey(sessionId), JSON.stringify(events));
  } catch {
    // storage full or disabled: the stream still works, a reload just reads everything again
  }
}

/** Delay before re-opening a stream the browser gave up on (an HTTP error reply, e.g. 503 while Temporal is down). */
const REOPEN_MS = 3_000;

/** Subscribes to a session's events while mounted (none while `sessionId` is undefined: the map without a session). */
export function useLiveSession(sessionId: string | undefined): LiveSession {
  const [live, setLive] = useState<LiveSession>(() => ({ events: sessionId ? readCache(sessionId) : [], tokens: '', connection: 'connecting', gaps: [] }));

  useEffect(() => {
    if (!sessionId) return setLive({ events: [], tokens: '', connection: 'closed', gaps: [] });
    let events = readCache(sessionId);
    let tokens = '';
    const gaps: Array<[number, number]> = [];
    let lastSeq = events.reduce((max, e) => Math.max(max, e.seq), -1);
    let source: EventSource | undefined;
    let reopenTimer: ReturnType<typeof setTimeout> | undefined;
    let ended = events.some((e) => e.type === 'session_ended');
    let stopped = false;
    const publish = (connection: Connection) => setLive({ events, tokens, connection, gaps: [...gaps] });
    publish(ended ? 'closed' : 'connecting');

    const open = () => {
      if (stopped || ended) return;
      source = new EventSource(`/sessions/${encodeURIComponent(sessionId)}/events?after=${lastSeq}`);
      source.onopen = () => publish('open');
      source.onerror = () => {
        if (stopped || ended) return;
        if (source?.readyState === EventSource.CLOSED) {
          // Not an event stream (an error reply): the browser will not retry by itself.
          publish('reconnecting');
          reopenTimer = setTimeout(open, REOPEN_MS);
        } else {
          publish('reconnecting'); // the browser retries with Last-Event-ID
        }
      };
      const onEvent = (msg: MessageEvent<string>) => {
        const e = JSON.parse(msg.data) as SessionEvent;
        if (e.seq <= lastSeq) return;
        lastSeq = e.seq;
        // A rewind: the turns after `toTurn` are superseded (kept in the archive as a branch), so they leave the view.
        events = e.type === 'rewound' ? [...events.filter((x) => x.turn <= e.toTurn), e] : [...events, e];
        if (e.type === 'decision' || e.type === 'reply' || e.type === 'turn_started' || e.type === 'turn_failed') tokens = '';
        if (e.type === 'session_ended') {
          ended = true;
          source?.close(); // the server ends the stream; do not let the browser reconnect
        }
        writeCache(sessionId, events);
        publish(ended ? 'closed' : 'open');
      };
      for (const type of EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
      source.addEventListener('gap', ((msg: MessageEvent<string>) => {
        const g = JSON.parse(msg.data) as { fromSeq: number; toSeq: number };
        gaps.push([g.fromSeq, g.toSeq]);
        lastSeq = Math.max(lastSeq, g.toSeq);
        publish('open');
      }) as EventListener);
      source.addEventListener('token', ((msg: MessageEvent<string>) => {
        tokens += (JSON.parse(msg.data) as { text: string }).text;
        publish('open');
      }) as EventListener);
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(reopenTimer);
      source?.close();
    };
  }, [sessionId]);

  return live;
}
