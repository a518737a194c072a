/**
 * The ordered event feed behind `GET /sessions/:sessionId/events`: every `SessionEvent` of a session with
 * `seq > afterSeq`, in `seq` order, each exactly once, from two sources:
 *
 * - the live workflow (`backend.events(sessionId, fromSeq)`, a Temporal query any worker answers), which holds only
 *   its newest events (`firstSeq` says where its memory starts: older runs after continue-as-new, the 500-event cap);
 * - the archive (`archive.getEvents`), for whatever the workflow no longer holds, and for sessions whose workflow
 *   is gone (past Temporal's retention) or unreachable.
 *
 * Events neither source can provide are reported once as a gap (`{ fromSeq, toSeq }`), never skipped silently.
 * HTTP-free: the route feeds an {@link EventSink} (the SSE stream); tests can feed anything.
 */
import type { ArchiveStore } from '../../src/archive/store.js';
import { MAX_EVENTS_LIMIT } from '../../src/archive/store.js';
import type { SessionEvent } from '../../src/engine/types.js';
import { isStepwiseError, type StepwiseError } from '../../src/errors.js';
import type { EventsPage } from '../../workflows/shared.js';
import type { SessionBackend } from '../sessions.js';

/** Where the feed writes. */
export interface EventSink {
  /** One session event (the stream's `id` is its `seq`). */
  event(e: SessionEvent): void;
  /** Events `fromSeq..toSeq` (inclusive) are lost to this client: neither the workflow nor an archive has them. */
  gap(fromSeq: number, toSeq: number): void;
  /** Resolves when the sink can take more (backpressure). */
  drained(): Promise<void>;
  /** True once nobody reads any more: the feed stops writing. */
  readonly closed: boolean;
}

/** What one poll round decided: keep polling, or the stream is complete (the session ended or is gone). */
export type PollOutcome = 'continue' | 'done';

export interface SessionEventFeedOptions {
  /** Where live events come from: the backend, or this API instance's shared poll of the session (`./event-hub.ts`). */
  backend: Pick<SessionBackend, 'events'>;
  archive?: ArchiveStore;
  sessionId: string;
  /** The last `seq` the client already has (`Last-Event-ID`); -1 for everything. */
  afterSeq: number;
}

/** Result of asking the live workflow: its page, or why it could not answer. */
type LiveAnswer =
  | { kind: 'page'; page: EventsPage }
  /** SESSION_NOT_FOUND: no workflow (never existed, or closed past retention). */
  | { kind: 'gone'; error: StepwiseError }
  /** TEMPORAL_UNAVAILABLE: try again later. */
  | { kind: 'unavailable'; error: StepwiseError };

/**
 * One client's position in one session's events. Call {@link open} once (it decides whether the session can be
 * streamed at all), then {@link poll} until it returns `'done'`. Not safe for concurrent `poll` calls.
 */
export class SessionEventFeed {
  readonly #backend: Pick<SessionBackend, 'events'>;
  readonly #archive: ArchiveStore | undefined;
  readonly #sessionId: string;
  /** The next `seq` the client needs. */
  #next: number;
  #ended = false;
  /** The answer `open` got, used by the first `poll`. */
  #first: LiveAnswer | undefined;

  constructor(options: SessionEventFeedOptions) {
    this.#backend = options.backend;
    this.#archive = options.archive;
    this.#sessionId = options.sessionId;
    this.#next = Math.max(options.afterSeq, -1) + 1;
  }

  /** The next `seq` the client needs (last sent + 1). */
  get nextSeq(): number {
    return this.#next;
  }

  /**
   * Checks that the session can be streamed: the live workflow answers, or the archive knows the session.
   *
   * @throws CallerError SESSION_NOT_FOUND when neither knows it; SystemError TEMPORAL_UNAVAILABLE (retryable) when
   *   Temporal is down and no archive knows it; SystemError ARCHIVE_UNAVAILABLE (retryable) if the archive is asked
   *   and cannot be reached; any other backend error as is.
   */
  async open(): Promise<void> {
    const live = await this.#askLive();
    if (live.kind !== 'page') {
      const known = this.#archive ? await this.#archive.getSession(this.#sessionId) : null;
      if (!known) throw live.error;
    }
    this.#first = live;
  }

  /**
   * Sends everything new to `sink`. `'done'` once `session_ended` was sent, the live session says it has ended and
   * nothing is left, or the workflow is gone and the archive has been read to its end.
   *
   * @throws whatever the backend or archive throws besides SESSION_NOT_FOUND / TEMPORAL_UNAVAILABLE (the caller
   *   retries later; the position is kept, nothing is sent twice).
   */
  async poll(sink: EventSink): Promise<PollOutcome> {
    const live = this.#first ?? (await this.#askLive());
    this.#first = undefined;
    if (live.kind === 'gone') {
      // The workflow will never answer again: the archive is all there is, and what it lacks is lost.
      await this.#fillFromArchive(sink, undefined, true);
      return 'done';
    }
    if (live.kind === 'unavailable') {
      // Temporal is down for now: send what the archive already has, without skipping anything.
      await this.#fillFromArchive(sink, undefined, false);
      return this.#ended ? 'done' : 'continue';
    }
    const page = live.page;
    if (this.#next < page.firstSeq) await this.#fillFromArchive(sink, page.firstSeq, true);
    const events = [...page.events].sort((a, b) => a.seq - b.seq);
    for (const e of events) {
      if (this.#ended || sink.closed) break;
      if (e.seq < this.#next) continue;
      // A `rewound` event follows the restored turn's events after a hole: the superseded turns' events, which are
      // now a branch's (docs/time-travel.md), not lost.
      if (e.seq > this.#next && e.type !== 'rewound') {
        await this.#fillFromArchive(sink, e.seq, true); // a hole in the live page
        if (this.#ended || sink.closed) break;
      }
      this.#emit(sink, e);
    }
    if (this.#ended) return 'done';
    return page.ended && this.#next >= page.nextSeq ? 'done' : 'continue';
  }

  async #askLive(): Promise<LiveAnswer> {
    try {
      return { kind: 'page', page: await this.#backend.events(this.#sessionId, this.#next) };
    } catch (err) {
      if (isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND') return { kind: 'gone', error: err };
      if (isStepwiseError(err) && err.code === 'TEMPORAL_UNAVAILABLE') return { kind: 'unavailable', error: err };
      throw err;
    }
  }

  #emit(sink: EventSink, e: SessionEvent): void {
    sink.event(e);
    this.#next = e.seq + 1;
    if (e.type === 'session_ended') this.#ended = true;
  }

  #gap(sink: EventSink, toSeq: number): void {
    if (toSeq < this.#next) return;
    sink.gap(this.#next, toSeq);
    this.#next = toSeq + 1;
  }

  /**
   * Sends archived events from `#next` up to `upTo` (exclusive; `undefined`: all). `final`: what the archive lacks
   * in that range is lost for good (reported as gaps, and a gap up to `upTo`); otherwise stop at the first hole, as a
   * later source may still fill it.
   */
  async #fillFromArchive(sink: EventSink, upTo: number | undefined, final: boolean): Promise<void> {
    if (this.#archive) {
      for (;;) {
        const page = await this.#archive.getEvents(this.#sessionId, { afterSeq: this.#next - 1, limit: MAX_EVENTS_LIMIT });
        for (const e of page.events) {
          if (this.#ended || sink.closed) return;
          if (upTo !== undefined && e.seq >= upTo) break;
          if (e.seq > this.#next && e.type !== 'rewound') {
            if (!final) return;
            this.#gap(sink, e.seq - 1);
          }
          this.#emit(sink, e);
        }
        await sink.drained();
        const last = page.events[page.events.length - 1];
        if (page.nextAfterSeq === undefined || last === undefined || (upTo !== undefined && last.seq >= upTo - 1)) break;
      }
    }
    if (final && upTo !== undefined && !sink.closed && !this.#ended) this.#gap(sink, upTo - 1);
  }
}
