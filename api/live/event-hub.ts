/**
 * One poll of the workflow per session per API instance, whatever the number of streams on it.
 *
 * Every open `GET /sessions/:sessionId/events` stream of a session on this API instance subscribes to the same
 * {@link LiveEventHub} entry. The entry runs one loop: a `getEvents(nextSeq)` query (`backend.events`) every
 * `pollIntervalMs` while the session has subscribers, merged into a buffer of the session's newest events; each
 * round wakes the subscribers, which read what they lack from the buffer. The workers' query load is thus one small
 * query per session per interval per API instance, not one per stream.
 *
 * A subscriber asks {@link LiveSubscription.events} for "everything from `fromSeq`", exactly as it would ask the
 * workflow. The answer comes from the buffer when the buffer covers `fromSeq`; otherwise (the first subscriber, or a
 * late one resuming with an older `Last-Event-ID` than the buffer holds) one direct query answers it and becomes the
 * new buffer. Either way the page means what the workflow's own page means (`firstSeq`: events below it are not held;
 * `nextSeq`; `ended`), so the feed above (`./event-feed.ts`) keeps its guarantees: every event once, in order, gaps
 * announced, the archive for what the workflow dropped.
 *
 * A failed round (Temporal unreachable, the workflow gone, any error) is what every subscriber's next `events` call
 * throws, until a round succeeds; rounds back off (doubling, capped at `maxRetryMs`) while they fail.
 *
 * {@link LiveEventHub.wake} starts a session's next round at once instead of after the interval: the API calls it when a
 * turn it sent is accepted and when it is answered, and after a message it posted or a decision it sent
 * (`SessionBackend.onSessionActivity`), so a turn's first events and its last reach the streams one query later
 * instead of up to an interval later. The data still comes from the workflow's own `getEvents` page, so the guarantees
 * above hold unchanged; a wake costs at most one extra query.
 *
 * A quiet session is polled less often: while rounds bring no event and the workflow says it is not working on its
 * own (`EventsPage.busy` false: no turn running other than one waiting for a human decision, nothing queued, not
 * continuing as new), the interval doubles from `pollIntervalMs` up to `idlePollMs`; a round that brings events, a
 * busy page or a wake brings it back to `pollIntervalMs`. An idle watched session then costs the workers one query per `idlePollMs`
 * instead of one per `pollIntervalMs`. What it costs: the first events of something this instance did not start (a
 * turn sent through another API instance, an approval decided there, an idle timeout) reach its streams up to
 * `idlePollMs` late instead of `pollIntervalMs`; everything after them comes at the full rate again.
 */
import type { SessionEvent } from '../../src/engine/types.js';
import type { EventsPage } from '../../workflows/shared.js';

/** Where the hub reads events: the session backend's `events` (the `getEvents` query on Temporal). */
export interface LiveEventSource {
  /** Events with `seq >= fromSeq` the live session still holds. Throws a StepwiseError (SESSION_NOT_FOUND, ...). */
  events(sessionId: string, fromSeq: number): Promise<EventsPage>;
}

/** Why the hub asked the workflow: a shared poll round, or one subscriber's catch-up below the buffer. */
export type LiveQueryKind = 'round' | 'catch_up';

export interface LiveEventHubOptions {
  source: LiveEventSource;
  /** Interval between two rounds of one session, in ms. */
  pollIntervalMs: number;
  /**
   * Longest interval between two rounds of a quiet session (see the module comment), in ms. Default: `pollIntervalMs`
   * (no back-off); a value below it counts as `pollIntervalMs`.
   */
  idlePollMs?: number;
  /** Longest wait between rounds after consecutive failures, in ms. Default 5,000 (or `pollIntervalMs` if larger). */
  maxRetryMs?: number;
  /**
   * Most events kept per session, in number of events (the oldest go first; subscribers behind them catch up with a
   * direct query). Default 1,000: twice the 500 events a workflow run holds.
   */
  maxBufferedEvents?: number;
  /** Called for every query the hub sends (metrics, tests). Must not throw. */
  onQuery?: (kind: LiveQueryKind) => void;
}

/** One stream's handle on a session's shared loop. */
export interface LiveSubscription {
  /**
   * Events with `seq >= fromSeq`, as of the last round (or a direct query when the buffer does not reach back to
   * `fromSeq`). @throws the last round's (or the direct query's) error, e.g. SESSION_NOT_FOUND, TEMPORAL_UNAVAILABLE.
   */
  events(fromSeq: number): Promise<EventsPage>;
  /**
   * Resolves after the next round (successful or not), at once once the session has ended, or when `signal` aborts.
   * With `fromSeq` (the next seq this subscriber needs), also at once when the buffer already holds events from it
   * that this subscriber has not asked for: a round that ended while the subscriber was still sending the previous
   * one's events is not waited past (the next round may be an idle interval away). Asked again with the same
   * `fromSeq`, it waits for a round.
   */
  nextRound(signal?: AbortSignal, fromSeq?: number): Promise<void>;
  /** Leaves the session's loop (idempotent); the loop stops with its last subscriber. */
  close(): void;
}

/** The buffer: every event the session held in `[start, nextSeq)` is in `events`, valid for asks from `coveredFrom`. */
interface Buffer {
  /** Asks with `fromSeq >= coveredFrom` are answered from the buffer. */
  coveredFrom: number;
  /** `firstSeq` to report: events below it (and at or above `coveredFrom`) were not held by the workflow. */
  start: number;
  nextSeq: number;
  ended: boolean;
  /** Sorted by `seq`, contiguous from `start`. */
  events: SessionEvent[];
}

type HubOptions = Required<Omit<LiveEventHubOptions, 'onQuery'>> & Pick<LiveEventHubOptions, 'onQuery'>;

/** A shared poll loop of one session. */
class SessionLoop {
  subscribers = 0;
  #buffer: Buffer | undefined;
  #error: unknown;
  #failures = 0;
  /** Without a buffer: where rounds ask from (the lowest `fromSeq` a failed first ask wanted). */
  #firstFrom: number | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #stop = new AbortController();
  #running = false;
  /** A wake came since the last round began: the next round starts without waiting. */
  #woken = false;
  /** Ends the current wait between rounds early (set while the loop waits). */
  #endWait: (() => void) | undefined;
  /** Successful rounds in a row that brought no event from a session not busy (the interval doubles with each). */
  #quietRounds = 0;

  constructor(
    private readonly sessionId: string,
    private readonly options: HubOptions,
  ) {}

  async events(fromSeq: number): Promise<EventsPage> {
    const buffer = this.#buffer;
    if (buffer && fromSeq >= buffer.coveredFrom) {
      if (this.#error !== undefined) throw this.#error;
      return { firstSeq: buffer.start, nextSeq: buffer.nextSeq, ended: buffer.ended, events: buffer.events.filter((e) => e.seq >= fromSeq) };
    }
    this.options.onQuery?.('catch_up');
    let page: EventsPage;
    try {
      page = await this.options.source.events(this.sessionId, fromSeq);
    } catch (err) {
      // No buffer yet (Temporal down, ...): the loop's rounds ask from here until one succeeds.
      if (!this.#buffer) {
        this.#firstFrom = Math.min(this.#firstFrom ?? fromSeq, fromSeq);
        this.#error = err;
        this.#failures++;
        this.#start();
      }
      throw err;
    }
    // Fresher than the buffer and reaching further back: it becomes the buffer.
    this.#replace(page, fromSeq);
    this.#error = undefined;
    this.#start();
    return page;
  }

  /** Whether the buffer (from a successful round) holds events from `fromSeq` on. */
  holdsFrom(fromSeq: number): boolean {
    return this.#error === undefined && this.#buffer !== undefined && this.#buffer.nextSeq > fromSeq;
  }

  nextRound(signal?: AbortSignal): Promise<void> {
    if (this.#buffer?.ended || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  stop(): void {
    this.#stop.abort();
    this.#wake();
  }

  /** Starts the next round now (or right after the one in flight). Ignored while rounds fail (they back off). */
  wake(): void {
    if (this.#failures > 0) return;
    this.#woken = true;
    this.#quietRounds = 0;
    this.#endWait?.();
  }

  /** Starts the loop (with the first `events` call, whether it succeeded or not). */
  #start(): void {
    if (this.#running || this.#stop.signal.aborted) return;
    this.#running = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    const { pollIntervalMs, maxRetryMs, idlePollMs } = this.options;
    while (!this.#stop.signal.aborted && !this.#buffer?.ended) {
      const delayMs =
        this.#failures === 0
          ? Math.min(pollIntervalMs * 2 ** this.#quietRounds, Math.max(idlePollMs, pollIntervalMs))
          : Math.min(pollIntervalMs * 2 ** this.#failures, Math.max(maxRetryMs, pollIntervalMs));
      if (!this.#woken) await this.#wait(delayMs);
      this.#woken = false;
      if (this.#stop.signal.aborted) break;
      const buffer = this.#buffer;
      const from = buffer?.nextSeq ?? this.#firstFrom ?? 0;
      try {
        this.options.onQuery?.('round');
        const page = await this.options.source.events(this.sessionId, from);
        const before = this.#buffer?.nextSeq;
        if (buffer) this.#merge(page);
        else if (!this.#buffer) this.#replace(page, from);
        this.#error = undefined;
        this.#failures = 0;
        // Quiet: nothing new, and the workflow is not working on its own (`busy` absent, from older workers: busy).
        const quiet = this.#buffer?.nextSeq === before && page.busy === false;
        this.#quietRounds = quiet ? Math.min(this.#quietRounds + 1, 30) : 0; // capped: 2 ** n stays a finite number
      } catch (err) {
        this.#error = err;
        this.#failures++;
      }
      this.#wake();
    }
    this.#running = false;
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Waits `ms`, or less if {@link wake} or {@link stop} comes first. */
  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#endWait = undefined;
        this.#stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#endWait = done;
      this.#stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  #replace(page: EventsPage, askedFrom: number): void {
    const start = Math.max(askedFrom, page.firstSeq);
    const events = page.events.filter((e) => e.seq >= start).sort((a, b) => a.seq - b.seq);
    const ended = page.ended || (this.#buffer?.ended ?? false);
    this.#buffer = { coveredFrom: askedFrom, start, nextSeq: page.nextSeq, ended, events };
    this.#trim();
  }

  /** A round's page (asked from the buffer's `nextSeq`, or a stale one asked before a catch-up replaced it). */
  #merge(page: EventsPage): void {
    const buffer = this.#buffer;
    if (!buffer) return;
    if (page.firstSeq > buffer.nextSeq) {
      // The workflow dropped events between two rounds (continue-as-new, its cap): they are not held any more.
      buffer.start = page.firstSeq;
      buffer.events = page.events.filter((e) => e.seq >= page.firstSeq).sort((a, b) => a.seq - b.seq);
      buffer.nextSeq = page.nextSeq;
    } else {
      for (const e of [...page.events].sort((a, b) => a.seq - b.seq)) {
        if (e.seq < buffer.nextSeq) continue;
        buffer.events.push(e);
        buffer.nextSeq = e.seq + 1;
      }
      buffer.nextSeq = Math.max(buffer.nextSeq, page.nextSeq);
    }
    buffer.ended ||= page.ended;
    this.#trim();
  }

  #trim(): void {
    const buffer = this.#buffer!;
    const excess = buffer.events.length - this.options.maxBufferedEvents;
    if (excess <= 0) return;
    buffer.events.splice(0, excess);
    // Asks below what is kept now go to the workflow again.
    buffer.start = buffer.events[0]!.seq;
    buffer.coveredFrom = Math.max(buffer.coveredFrom, buffer.start);
  }
}

/** The shared poll loops of one API instance, by session id. */
export class LiveEventHub {
  readonly #loops = new Map<string, SessionLoop>();
  readonly #options: HubOptions;

  constructor(options: LiveEventHubOptions) {
    this.#options = {
      maxRetryMs: 5_000,
      maxBufferedEvents: 1_000,
      ...options,
      idlePollMs: options.idlePollMs ?? options.pollIntervalMs,
    };
  }

  /** Sessions with at least one subscriber (each polled by one loop). */
  get sessionCount(): number {
    return this.#loops.size;
  }

  /** Joins the loop of `sessionId` (starting it with the first subscriber's first `events` call). */
  subscribe(sessionId: string): LiveSubscription {
    let loop = this.#loops.get(sessionId);
    if (!loop) {
      loop = new SessionLoop(sessionId, this.#options);
      this.#loops.set(sessionId, loop);
    }
    loop.subscribers++;
    const joined = loop;
    let closed = false;
    /** The `fromSeq` of the last `nextRound` that did not wait (the same one again waits for a round). */
    let skippedAt: number | undefined;
    return {
      events: (fromSeq) => joined.events(fromSeq),
      nextRound: (signal, fromSeq) => {
        if (fromSeq !== undefined && fromSeq !== skippedAt && joined.holdsFrom(fromSeq)) {
          skippedAt = fromSeq;
          return Promise.resolve();
        }
        return joined.nextRound(signal);
      },
      close: () => {
        if (closed) return;
        closed = true;
        joined.subscribers--;
        if (joined.subscribers === 0) {
          joined.stop();
          if (this.#loops.get(sessionId) === joined) this.#loops.delete(sessionId);
        }
      },
    };
  }

  /**
   * Starts the next round of `sessionId` at once, at the full rate again (e.g. a turn this API sent was just accepted
   * or answered); nothing when the session has no subscriber here. Never throws.
   */
  wake(sessionId: string): void {
    this.#loops.get(sessionId)?.wake();
  }

  /** Stops every loop (the app is closing). */
  close(): void {
    for (const loop of this.#loops.values()) loop.stop();
    this.#loops.clear();
  }
}
