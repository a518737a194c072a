/**
 * What the chaos load saw, as the checker needs it: every message a client sent and every answer it got, every HTTP
 * status by route, every SSE event a subscriber read, and the faults injected. Plain data, filled by the load and
 * the fault injector, read by `check.ts` and `report.ts`.
 */

/** The turn result fields the checker compares (a subset of `TurnResult`). */
export interface SeenResult {
  turn: number;
  reply: string;
  messageId: string;
  events: Array<{ seq: number; type: string; callId?: string; tool?: string; result?: any }>;
}

/** One message a client sent (it retries it with the same id until it has its final answer). */
export interface SentMessage {
  sessionId: string;
  messageId: string;
  /** `Date.now()` of the first attempt. */
  sentAt: number;
  /** `Date.now()` of the first 200 or 202 (undefined: never acknowledged). */
  ackedAt?: number;
  /** `Date.now()` of the final answer. */
  answeredAt?: number;
  /** Every final answer (200 without pending approvals) got for this id: first send, resends, result URL. */
  answers: SeenResult[];
  /** Attempts (POSTs) made. */
  attempts: number;
  /** Part of a burst (sent concurrently with others: no order among them). */
  burst: boolean;
  /** Given up (no final answer before the run's deadline for it). */
  gaveUp?: string;
  /** The last answers this id got (`POST 409 MESSAGE_ALREADY_ANSWERED`, `GET 202`, ...), newest last: why it gave up. */
  lastAnswers?: string[];
}

/** One session the load drove. */
export interface SessionRecord {
  sessionId: string;
  /** Whether the client ended it (DELETE) and got the end acknowledged. */
  endedByClient: boolean;
  messages: SentMessage[];
}

/** What one SSE subscriber read. */
export interface Subscription {
  sessionId: string;
  /** Event seqs with their types, in the order read (gap messages excluded). */
  events: Array<{ seq: number; type: string }>;
  /** `event: gap` messages read (fromSeq..toSeq, inclusive). */
  gaps: Array<{ fromSeq: number; toSeq: number }>;
  /** Connections opened (1 + resumes with Last-Event-ID). */
  connections: number;
}

/** An HTTP answer or failure, by kind, for invariant 5. */
export interface StatusSeen {
  /** e.g. `POST /sessions/:id/messages`. */
  route: string;
  /** HTTP status, or 0 for a connection error or a client time-out. */
  status: number;
  code?: string;
  retryAfter?: string;
  /** Whether the request was deliberately bad (oversized, malformed). */
  bad: boolean;
  /** For bad requests: the status the API documents for it. */
  expected?: number;
  /** What the request was (bad requests), or the error text (status 0). */
  note?: string;
}

/** A fault the injector ran. */
export interface FaultRecord {
  kind: FaultKind;
  target: string;
  /** ms since the load started. */
  atMs: number;
  /** How long it lasted (down time, stall), ms. */
  durationMs: number;
  note?: string;
}

/** Every kind of fault the injector knows. */
export const FAULT_KINDS = ['worker-kill', 'api-kill', 'temporal-kill', 'postgres-kill', 'worker-stall', 'burst', 'bad-requests'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The run's record. */
export class RunRecord {
  readonly sessions = new Map<string, SessionRecord>();
  readonly subscriptions: Subscription[] = [];
  readonly statuses: StatusSeen[] = [];
  readonly faults: FaultRecord[] = [];
  /** Messages acknowledged so far (drives progress-based fault times). */
  acked = 0;
  readonly startedAt = Date.now();

  session(sessionId: string): SessionRecord {
    let s = this.sessions.get(sessionId);
    if (!s) this.sessions.set(sessionId, (s = { sessionId, endedByClient: false, messages: [] }));
    return s;
  }
}
