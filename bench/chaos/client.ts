/**
 * A REST client that behaves like a careful real one (docs/client-retries.md): it spreads requests over the API
 * processes, sends a message again with the same `messageId` after a connection error, a time-out, 429 or 503 (waiting
 * what `Retry-After` says), follows 202 to the result URL, approves the tool calls a turn waits on, and records every
 * status and every answer in the run's {@link RunRecord}.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Prng } from './prng.js';
import type { RunRecord, SeenResult, SentMessage } from './record.js';

/** An HTTP answer (status 0: no answer: connection refused or reset, or our time-out). */
export interface Answer {
  status: number;
  body: any;
  retryAfter?: string;
  error?: string;
}

/** Longest a client waits for one HTTP answer, ms (the API's own turn wait is 100 s; a stalled worker is 40 s). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Longest a message may take to get its final answer, ms, before the client gives up (a violation): counted from its
 * first send, and again from its acknowledgement, whichever ends later. A client holding an acknowledgement follows its
 * result as the web chat does (seed 7015: a burst message acknowledged, with an approval pending, in the last second of
 * its 180 s, which its client then had no time left to give).
 */
export const MESSAGE_DEADLINE_MS = 180_000;

/** Statuses a valid request may get while faults run, with the codes that go with them (invariant 5). */
const DOCUMENTED: Record<number, string[] | undefined> = {
  429: ['RATE_LIMITED'],
  503: ['TEMPORAL_UNAVAILABLE', 'ARCHIVE_UNAVAILABLE'],
};

export class ChaosClient {
  #next = 0;

  constructor(
    readonly apis: string[],
    readonly record: RunRecord,
    readonly rng: Prng,
  ) {}

  /** The API to use next (round robin; after a connection error the next attempt goes to the other one). */
  api(): string {
    return this.apis[this.#next++ % this.apis.length]!;
  }

  /**
   * One HTTP request to one API; records its status under `route`. Never throws: a connection error or time-out is
   * status 0.
   */
  async call(method: string, path: string, route: string, body?: unknown, init: { base?: string; raw?: RequestInit; bad?: { expected: number; note: string } } = {}): Promise<Answer> {
    const base = init.base ?? this.api();
    let answer: Answer;
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        ...init.raw,
      });
      const text = await res.text();
      let parsed: any = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (kept as text)
      }
      answer = { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') ?? undefined };
    } catch (err) {
      answer = { status: 0, body: undefined, error: (err as Error).cause ? String((err as any).cause?.code ?? (err as Error).message) : (err as Error).name };
    }
    this.record.statuses.push({
      route,
      status: answer.status,
      ...(answer.body?.error?.code ? { code: answer.body.error.code } : {}),
      ...(answer.retryAfter ? { retryAfter: answer.retryAfter } : {}),
      bad: Boolean(init.bad),
      ...(init.bad ? { expected: init.bad.expected, note: init.bad.note } : {}),
      ...(answer.error ? { note: answer.error } : {}),
    });
    return answer;
  }

  /** How long to wait before retrying after `a`: `Retry-After` seconds for 429/503, else a jittered 200-1,000 ms. */
  backoffMs(a: Answer): number {
    const seconds = Number(a.retryAfter);
    if ((a.status === 429 || a.status === 503) && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000 + this.rng.int(0, 200);
    return this.rng.int(200, 1_000);
  }

  /**
   * Starts session `sessionId` (retrying; 409 SESSION_EXISTS after a retry means an earlier attempt made it).
   * @throws Error when it cannot within {@link MESSAGE_DEADLINE_MS}.
   */
  async startSession(agentId: string, sessionId: string): Promise<void> {
    const deadline = Date.now() + MESSAGE_DEADLINE_MS;
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      const a = await this.call('POST', '/sessions', 'POST /sessions', { agentId, sessionId });
      if (a.status === 201 || (a.status === 409 && a.body?.error?.code === 'SESSION_EXISTS' && attempt > 1)) return;
      await sleep(this.backoffMs(a));
    }
    throw new Error(`session ${sessionId} could not be started within ${MESSAGE_DEADLINE_MS} ms`);
  }

  /**
   * Sends one message until it has its final answer (the turn result without pending approvals), approving the tool
   * calls its turn waits on. `wait: false` asks for 202 and follows the result URL. Records everything in `sent`.
   * @returns the final answer, or undefined when it gave up (`sent.gaveUp` says why).
   */
  async converse(sent: SentMessage, text: string, opts: { waitFalse: boolean }): Promise<SeenResult | undefined> {
    let deadline = Date.now() + MESSAGE_DEADLINE_MS;
    const path = `/sessions/${sent.sessionId}/messages${opts.waitFalse ? '?wait=false' : ''}`;
    while (Date.now() < deadline) {
      sent.attempts++;
      const a = await this.call('POST', path, 'POST /sessions/:id/messages', { text, messageId: sent.messageId });
      noteAnswer(sent, 'POST', a);
      if (a.status === 200 || a.status === 202) deadline = Math.max(deadline, this.#ack(sent) + MESSAGE_DEADLINE_MS);
      if (a.status === 200 && !a.body?.pendingApprovals?.length) return this.#answered(sent, a.body);
      if (a.status === 200 || a.status === 202) {
        if (a.status === 200) await this.approve(sent.sessionId, a.body.pendingApprovals, deadline);
        const final = await this.followResult(sent, deadline);
        if (final) return final;
        continue; // refused at the result URL (429: queue full): send it again
      }
      if (a.status === 409 && a.body?.error?.code === 'SESSION_ENDED') {
        sent.gaveUp = 'SESSION_ENDED';
        return undefined;
      }
      if (a.status === 429 || a.error === 'TimeoutError') {
        // Refused while other messages are in flight, or no answer in our time (the API holds a message up to 100 s
        // in its lane while others are in flight): they may be queued behind a turn that waits on an approval whose
        // own client gave up (its deadline passed during the faults). A client shown a busy session looks at its
        // state and decides what waits on it, as the web chat does; else nothing moves before the approval times out.
        await this.approvePending(sent.sessionId, deadline);
      }
      await sleep(this.backoffMs(a));
    }
    sent.gaveUp ??= `no final answer within ${MESSAGE_DEADLINE_MS} ms of its first send or acknowledgement; last answers: ${sent.lastAnswers?.join(', ')}`;
    return undefined;
  }

  /** Reads the result URL until the final answer; approves on the way. undefined: refused (send again) or deadline. */
  async followResult(sent: SentMessage, deadline: number): Promise<SeenResult | undefined> {
    const path = `/sessions/${sent.sessionId}/messages/${sent.messageId}`;
    for (let polls = 1; Date.now() < deadline; polls++) {
      const a = await this.call('GET', path, 'GET /sessions/:id/messages/:mid');
      noteAnswer(sent, 'GET', a);
      if (a.status === 202 && polls % 4 === 0) {
        // A turn sent with ?wait=false that waits for approval says so only in the session's state (and its events);
        // so does the turn a queued message waits behind, when that turn's own client gave up (seed 7013: two
        // messages queued 6 minutes behind an approval nobody looked at, until the final round decided it).
        await this.approvePending(sent.sessionId, deadline);
      }
      if (a.status === 200 && a.body?.pendingApprovals?.length) {
        await this.approve(sent.sessionId, a.body.pendingApprovals, deadline);
        continue;
      }
      if (a.status === 200) return this.#answered(sent, a.body);
      if (a.status === 429) {
        // Refused (the queue was full) or the per-caller limit: either way, wait and send it again with the same id.
        await sleep(this.backoffMs(a));
        return undefined;
      }
      if (a.status === 404) {
        // An acknowledged message the session does not know: lost. Recorded; sending it again is what a client does.
        sent.gaveUp = undefined;
        this.record.statuses.push({ route: 'lost acknowledged message', status: 404, bad: false, note: `${sent.sessionId}/${sent.messageId}` });
        return undefined;
      }
      if (a.status === 409) {
        sent.gaveUp = `result URL answered 409 ${a.body?.error?.code}`;
        return undefined;
      }
      await sleep(a.status === 202 ? 250 : this.backoffMs(a));
    }
    return undefined;
  }

  /** Reads the session's state and approves every call that waits for a decision there (as the web chat shows them). */
  async approvePending(sessionId: string, deadline: number): Promise<void> {
    const state = await this.call('GET', `/sessions/${sessionId}`, 'GET /sessions/:id');
    if (state.status === 200 && state.body?.pendingApprovals?.length) await this.approve(sessionId, state.body.pendingApprovals, deadline);
  }

  /** Approves every call in `pending` (retrying; 409 already decided / 404 no longer waiting mean it was decided). */
  async approve(sessionId: string, pending: Array<{ callId: string }>, deadline: number): Promise<void> {
    for (const p of pending) {
      while (Date.now() < deadline) {
        const a = await this.call('POST', `/sessions/${sessionId}/approvals/${p.callId}`, 'POST /sessions/:id/approvals/:callId', {
          decision: 'approve',
          approver: 'chaos',
        });
        if (a.status === 200 || a.status === 409 || a.status === 404) break;
        await sleep(this.backoffMs(a));
      }
    }
  }

  /**
   * Ends the session (DELETE, retried; 409 SESSION_ENDED after a retry means an earlier attempt ended it).
   * @returns whether it is known ended.
   */
  async endSession(sessionId: string): Promise<boolean> {
    const deadline = Date.now() + MESSAGE_DEADLINE_MS;
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      const a = await this.call('DELETE', `/sessions/${sessionId}`, 'DELETE /sessions/:id');
      if (a.status === 200 || (a.status === 409 && attempt > 1)) return true;
      await sleep(this.backoffMs(a));
    }
    return false;
  }

  /** Records the first acknowledgement of `sent`. @returns its time (`Date.now()` of the first one). */
  #ack(sent: SentMessage): number {
    if (sent.ackedAt === undefined) {
      sent.ackedAt = Date.now();
      this.record.acked++;
    }
    return sent.ackedAt;
  }

  #answered(sent: SentMessage, body: any): SeenResult {
    const seen: SeenResult = {
      turn: body.turn,
      reply: body.reply,
      messageId: body.messageId,
      events: (body.events ?? []).map((e: any) => ({ seq: e.seq, type: e.type, ...(e.callId ? { callId: e.callId, tool: e.tool } : {}), ...(e.type === 'tool_result' ? { result: e.result } : {}) })),
    };
    sent.answers.push(seen);
    sent.answeredAt ??= Date.now();
    return seen;
  }
}

/** Keeps the last 8 answers `sent` got, as `POST 409 MESSAGE_ALREADY_ANSWERED` (status 0: the request failed). */
function noteAnswer(sent: SentMessage, method: 'POST' | 'GET', a: Answer): void {
  const code = a.body?.error?.code ?? a.body?.status ?? a.error;
  sent.lastAnswers = [...(sent.lastAnswers ?? []), `${method} ${a.status}${code ? ` ${code}` : ''}`].slice(-8);
}

/** Whether `status`+`code` is a documented answer for a valid request during faults (invariant 5). */
export function documentedFaultAnswer(status: number, code: string | undefined, retryAfter: string | undefined): boolean {
  const codes = DOCUMENTED[status];
  return Boolean(codes && code && codes.includes(code) && retryAfter !== undefined);
}
