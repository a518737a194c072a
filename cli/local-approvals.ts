/**
 * Approval waits of one in-process session (`LocalSessions`): decisions not yet given to the engine, the engine's
 * waiting `awaitApproval` executor, and a timer per call with an approval timeout. Not durable (like the backend).
 */
import { approvalRefusal, approvalStatus, humanDecision } from '../src/engine/engine.js';
import type { ApprovalDecided, EngineCommand, SessionState } from '../src/engine/types.js';
import { CallerError } from '../src/errors.js';
import type { ApprovalRequest } from '../workflows/shared.js';

type AwaitCommand = Extract<EngineCommand, { type: 'awaitApproval' }>;

/**
 * Holds one session's approval decisions until the engine asks for them, and arms a timer per call with a timeout
 * (the decision `on_timeout` gives). @see LocalSessions for the caller; refusals throw CallerError
 * (APPROVAL_NOT_FOUND, APPROVAL_ALREADY_DECIDED).
 */
export class LocalApprovals {
  private readonly inbox: ApprovalDecided[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private waiter: ((d: ApprovalDecided | 'suspend') => void) | undefined;
  private abandoned = false;

  /** @param now the backend's clock (ISO-8601), to turn `timeoutAt` into a delay. */
  constructor(private readonly now: () => string) {}

  /**
   * Queues a decision (a human's). @throws CallerError APPROVAL_ALREADY_DECIDED or APPROVAL_NOT_FOUND against
   * `state`, the session's current state.
   */
  decide(state: SessionState, request: ApprovalRequest): void {
    const refusal = approvalRefusal(state, request.callId, this.inbox.some((d) => d.callId === request.callId));
    if (refusal) throw new CallerError(refusal.code, refusal.message);
    this.push(humanDecision(request));
  }

  /** The `awaitApproval` executor: arms timeouts, then resolves with the first decision (or `'suspend'` on {@link abandon}). */
  wait(command: AwaitCommand, state: () => SessionState): Promise<ApprovalDecided | 'suspend'> {
    if (this.abandoned) return Promise.resolve('suspend');
    for (const p of command.approvals) {
      if (!p.timeoutAt || this.timers.has(p.callId)) continue;
      const delayMs = Math.max(0, Date.parse(p.timeoutAt) - Date.parse(this.now()));
      const timer = setTimeout(() => {
        this.timers.delete(p.callId);
        if (approvalStatus(state(), p.callId) === 'pending') {
          this.push({ callId: p.callId, decision: p.onTimeout === 'allow' ? 'approve' : 'deny', timedOut: true });
        }
      }, delayMs);
      timer.unref();
      this.timers.set(p.callId, timer);
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.wake();
    });
  }

  /** Stops waiting (the session ends): the waiting turn is suspended and abandoned; timers are cleared. */
  abandon(): void {
    this.abandoned = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.inbox.length = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.('suspend');
  }

  private push(decided: ApprovalDecided): void {
    if (this.inbox.some((d) => d.callId === decided.callId)) return;
    this.inbox.push(decided);
    this.wake();
  }

  private wake(): void {
    const next = this.waiter && this.inbox.shift();
    if (!next || !this.waiter) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    clearTimeout(this.timers.get(next.callId));
    this.timers.delete(next.callId);
    waiter(next);
  }
}
