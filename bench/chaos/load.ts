/**
 * The chaos suite's load, all of it drawn from the seed: `sessions` client actors, each starting a session of the
 * chaos agent and talking to it (one message at a time, think time 0.2-2 s, 30% of messages with `?wait=false`, 10%
 * asked again with the same id), some ending their session with DELETE after 3-12 messages and starting another;
 * an SSE subscriber on the first `subscribers` actors' sessions that resumes with `Last-Event-ID` on the other API
 * after every disconnect (and drops its connection on purpose now and then); bursts of simultaneous messages; and
 * a final round of one message per live session once the faults are over (invariant 3).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SseReader } from '../../test/support/sse.js';
import { CHAOS_AGENT } from './agent.js';
import type { ChaosClient } from './client.js';
import type { Prng } from './prng.js';
import type { RunRecord, SentMessage, Subscription } from './record.js';

export interface LoadOptions {
  /** Concurrent client actors (each has one session at a time). */
  sessions: number;
  /** Actors whose sessions also get an SSE subscriber. */
  subscribers: number;
  /** Prefix of session ids (the seed, so runs do not collide). */
  prefix: string;
}

export class Load {
  #running = true;
  /** Sessions that stay live to the end (never ended by their actor): targets of bursts. */
  readonly #steady = new Set<string>();
  readonly #actors: Promise<void>[] = [];
  readonly #bursts: Promise<unknown>[] = [];
  readonly #subscribers: Array<{ sub: Subscription; stop: AbortController; done: Promise<void> }> = [];
  /** Per session of the final round: ms to its answer, or undefined when it got none within 30 s. */
  readonly finalRound = new Map<string, number | undefined>();

  constructor(
    readonly client: ChaosClient,
    readonly record: RunRecord,
    readonly rng: Prng,
    readonly opts: LoadOptions,
  ) {}

  /** Starts the actors (returns at once). */
  start(): void {
    for (let i = 0; i < this.opts.sessions; i++) this.#actors.push(this.#actor(i, this.rng.fork(`actor-${i}`)));
  }

  /** Lets each actor finish the message it is on, then waits for all of them and for the bursts' messages. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all([...this.#actors, ...this.#bursts]);
  }

  async #actor(i: number, rng: Prng): Promise<void> {
    for (let gen = 0; this.#running; gen++) {
      const sessionId = `${this.opts.prefix}-${i}-${gen}`;
      try {
        await this.client.startSession(CHAOS_AGENT, sessionId);
      } catch {
        continue; // recorded as statuses; the actor tries a new session
      }
      const session = this.record.session(sessionId);
      const endAfter = rng.chance(0.15) ? rng.int(3, 12) : Infinity;
      if (endAfter === Infinity) this.#steady.add(sessionId);
      if (i < this.opts.subscribers) this.#subscribe(sessionId, rng.fork(`sse-${gen}`));
      for (let n = 0; this.#running && n < endAfter; n++) {
        const sent = this.#newMessage(sessionId, `m${n}`, false);
        session.messages.push(sent);
        await this.client.converse(sent, `message ${n} of ${sessionId}`, { waitFalse: rng.chance(0.3) });
        // A client that lost the answer asks again with the same id: it must get the same answer.
        if (sent.answers.length > 0 && rng.chance(0.1)) await this.client.converse(sent, `message ${n} of ${sessionId}`, { waitFalse: false });
        await sleep(rng.int(200, 2_000));
      }
      if (endAfter === Infinity) return; // the run is over: the session stays live
      session.endedByClient = await this.client.endSession(sessionId);
    }
  }

  #newMessage(sessionId: string, messageId: string, burst: boolean): SentMessage {
    return { sessionId, messageId, sentAt: Date.now(), answers: [], attempts: 0, burst };
  }

  /**
   * Sends `count` messages at once to one steady session (ids `burst<k>-<j>`), each with the full client protocol,
   * without waiting for their answers ({@link stop} waits for them).
   * @returns the session it chose (undefined when there is none yet).
   */
  burst(k: number, count = 50): string | undefined {
    const candidates = [...this.#steady].sort();
    if (candidates.length === 0) return undefined;
    const sessionId = this.rng.pick(candidates);
    const session = this.record.session(sessionId);
    this.#bursts.push(Promise.all(
      Array.from({ length: count }, (_, j) => {
        const sent = this.#newMessage(sessionId, `burst${k}-${j}`, true);
        session.messages.push(sent);
        return this.client.converse(sent, `burst ${k} message ${j}`, { waitFalse: this.rng.chance(0.3) });
      }),
    ));
    return sessionId;
  }

  #subscribe(sessionId: string, rng: Prng): void {
    const sub: Subscription = { sessionId, events: [], gaps: [], connections: 0 };
    this.record.subscriptions.push(sub);
    const stop = new AbortController();
    const done = (async () => {
      let lastId: string | undefined;
      while (!stop.signal.aborted) {
        const base = this.client.api();
        // Now and then the client drops the connection itself (a phone going through a tunnel).
        const drop = AbortSignal.any([stop.signal, AbortSignal.timeout(rng.int(10_000, 60_000))]);
        sub.connections++;
        try {
          const res = await fetch(`${base}/sessions/${sessionId}/events`, {
            headers: lastId === undefined ? {} : { 'last-event-id': lastId },
            signal: drop,
          });
          this.record.statuses.push({ route: 'GET /sessions/:id/events', status: res.status, bad: false, ...(res.headers.get('retry-after') ? { retryAfter: res.headers.get('retry-after')! } : {}) });
          if (res.status !== 200) {
            await res.body?.cancel();
            await sleep(1_000);
            continue;
          }
          const reader = new SseReader(res);
          for (let m = await reader.next(); m; m = await reader.next()) {
            if (m.comment !== undefined || m.event === 'token' || m.id === undefined) continue;
            lastId = m.id;
            if (m.event === 'gap') sub.gaps.push({ fromSeq: m.data.fromSeq, toSeq: m.data.toSeq });
            else sub.events.push({ seq: Number(m.id), type: m.event ?? '' });
            if (m.event === 'session_ended') return;
          }
        } catch {
          // dropped (by us, or the API died): resume with Last-Event-ID
        }
        if (!stop.signal.aborted) await sleep(rng.int(100, 1_000));
      }
    })();
    this.#subscribers.push({ sub, stop, done });
  }

  /** Waits (at most `timeoutMs`) until every subscriber has read up to `lastSeq(sessionId)`, then closes them all. */
  async closeSubscribers(lastSeq: (sessionId: string) => Promise<number | undefined>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      this.#subscribers.map(async ({ sub, stop }) => {
        const want = await lastSeq(sub.sessionId);
        while (want !== undefined && Date.now() < deadline && (sub.events.at(-1)?.seq ?? -1) < want) await sleep(200);
        stop.abort();
      }),
    );
    await Promise.all(this.#subscribers.map((s) => s.done));
  }

  /** Invariant 3's probe: one more message to every session not ended by its client, each answered within 30 s? */
  async runFinalRound(): Promise<void> {
    const live = [...this.record.sessions.values()].filter((s) => !s.endedByClient);
    await Promise.all(
      live.map(async (s) => {
        const sent = this.#newMessage(s.sessionId, 'final', false);
        s.messages.push(sent);
        const started = Date.now();
        const deadline = started + 30_000;
        const reply = this.client.converse(sent, 'are you still there?', { waitFalse: false });
        // The probe is a user back at the chat: it decides what waits for approval there, whichever message it belongs
        // to (seed 7017: the session was paused on a burst message whose client had given up before its turn ran, so
        // the probe's message waited behind it until the probe's own request timed out, 30 s later).
        let answered = false;
        const watcher = (async () => {
          while (!answered && Date.now() < deadline) {
            await this.client.approvePending(s.sessionId, deadline);
            await sleep(2_000);
          }
        })();
        const answer = await Promise.race([reply, sleep(30_000).then(() => undefined)]);
        answered = true;
        await watcher;
        this.finalRound.set(s.sessionId, answer ? Date.now() - started : undefined);
        // A late answer fails invariant 3 alone: its turn's events still reach the subscribers before they close.
        await reply;
      }),
    );
  }
}
