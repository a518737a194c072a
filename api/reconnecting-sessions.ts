/**
 * {@link ReconnectingSessions}: lets the API start, and answer 503, while Temporal is unreachable, reconnecting in
 * the background until it can hand every call to the real backend.
 */
import type { AgentSnapshot } from '../src/config/agent.js';
import type { SessionSeed } from '../src/engine/seed.js';
import type { TurnResult } from '../src/engine/types.js';
import { CallerError, SystemError } from '../src/errors.js';
import type { RewindReply, TurnStateLookup } from '../src/engine/rewind.js';
import type { ApprovalReply, ApprovalRequest, EventsPage, SessionHistory, SessionInfo, SessionInfoPatch, SessionView, TurnLookup, UserMessage } from '../workflows/shared.js';
import type { BackendHealth, SessionBackend } from './sessions.js';

export interface ReconnectingSessionsOptions {
  /** Opens the real backend; throws while Temporal is unreachable. */
  connect(): Promise<SessionBackend>;
  /** Delay between attempts, in ms. Default 5 s. The timer is unref'd (it never keeps the process alive). */
  retryMs?: number;
  /** Told about every attempt (for logs). */
  onAttempt?(result: { connected: boolean; error?: string }): void;
}

/**
 * A backend that stands in until Temporal is reachable: `health()` reports `unavailable` with the last connection
 * error, session methods throw `SystemError('TEMPORAL_UNAVAILABLE')` (HTTP 503), and it keeps calling `connect()`
 * every `retryMs` until one succeeds; from then on every call goes to the connected backend.
 */
export class ReconnectingSessions implements SessionBackend {
  private current: SessionBackend | undefined;
  private lastError = 'not connected yet';
  private timer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private closed = false;
  private readonly retryMs: number;
  /** `onSessionActivity` listeners, handed to the real backend once connected. */
  private readonly activity = new Set<(sessionId: string) => void>();

  constructor(private readonly options: ReconnectingSessionsOptions) {
    this.retryMs = options.retryMs ?? 5_000;
  }

  /** True once `connect()` has succeeded. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  /** Tries to connect now; on failure keeps retrying in the background. Never throws. Resolves to `connected`. */
  async connectOrRetry(): Promise<boolean> {
    await this.tryConnect();
    if (!this.current && !this.closed && !this.timer) {
      this.timer = setInterval(() => void this.tryConnect(), this.retryMs);
      this.timer.unref();
    }
    return this.connected;
  }

  async start(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<void> {
    return this.backend().start(agent, sessionId, info);
  }
  async health(): Promise<BackendHealth> {
    if (this.current) return this.current.health();
    return { temporal: 'unavailable', detail: this.lastError };
  }

  async startWithMessage(agent: AgentSnapshot, sessionId: string, message: UserMessage, info?: SessionInfo, seed?: SessionSeed): Promise<TurnResult> {
    return this.backend().startWithMessage(agent, sessionId, message, info, seed);
  }
  async startWithOpening(agent: AgentSnapshot, sessionId: string, info?: SessionInfo): Promise<TurnResult> {
    return this.backend().startWithOpening(agent, sessionId, info);
  }
  async updateInfo(sessionId: string, patch: SessionInfoPatch): Promise<SessionView> {
    return this.backend().updateInfo(sessionId, patch);
  }
  async send(sessionId: string, message: UserMessage, options?: { updateId?: string }): Promise<TurnResult> {
    return this.backend().send(sessionId, message, options);
  }
  onSessionActivity(listener: (sessionId: string) => void): () => void {
    this.activity.add(listener);
    return () => this.activity.delete(listener);
  }
  async post(sessionId: string, message: UserMessage): Promise<void> {
    return this.backend().post(sessionId, message);
  }
  async turnResult(sessionId: string, messageId: string): Promise<TurnLookup> {
    return this.backend().turnResult(sessionId, messageId);
  }
  async state(sessionId: string): Promise<SessionView> {
    return this.backend().state(sessionId);
  }
  async history(sessionId: string): Promise<SessionHistory> {
    return this.backend().history(sessionId);
  }
  async events(sessionId: string, fromSeq: number): Promise<EventsPage> {
    return this.backend().events(sessionId, fromSeq);
  }
  async end(sessionId: string): Promise<SessionView> {
    return this.backend().end(sessionId);
  }
  async decideApproval(sessionId: string, request: ApprovalRequest): Promise<ApprovalReply> {
    return this.backend().decideApproval(sessionId, request);
  }
  async rewind(sessionId: string, toTurn: number): Promise<RewindReply> {
    const b = this.backend();
    if (!b.rewind) throw new CallerError('REWIND_NOT_SUPPORTED', 'this backend cannot rewind sessions');
    return b.rewind(sessionId, toTurn);
  }
  async turnState(sessionId: string, turn: number): Promise<TurnStateLookup> {
    const b = this.backend();
    if (!b.turnState) throw new CallerError('REWIND_NOT_SUPPORTED', 'this backend cannot read past turns');
    return b.turnState(sessionId, turn);
  }
  async startFork(agent: AgentSnapshot, sessionId: string, info: SessionInfo, fork: { state: string; answered: Array<[string, number]> }): Promise<void> {
    const b = this.backend();
    if (!b.startFork) throw new CallerError('REWIND_NOT_SUPPORTED', 'this backend cannot fork sessions');
    return b.startFork(agent, sessionId, info, fork);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.attempt;
    await this.current?.close();
  }

  private backend(): SessionBackend {
    if (this.current) return this.current;
    throw new SystemError('TEMPORAL_UNAVAILABLE', 'Temporal is unavailable; the API is reconnecting, retry later');
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tryConnect(): Promise<void> {
    if (this.attempt || this.current || this.closed) return this.attempt ?? Promise.resolve();
    this.attempt = (async () => {
      try {
        const backend = await this.options.connect();
        if (this.closed) {
          await backend.close();
          return;
        }
        this.current = backend;
        backend.onSessionActivity?.((sessionId) => {
          for (const listener of this.activity) listener(sessionId);
        });
        this.stopTimer();
        this.options.onAttempt?.({ connected: true });
      } catch (err) {
        this.lastError = (err as Error).message;
        this.options.onAttempt?.({ connected: false, error: this.lastError });
      } finally {
        this.attempt = undefined;
      }
    })();
    return this.attempt;
  }
}
