/**
 * Human approval inside the session workflow: the `decideApproval` update's validator and handler, and the
 * `awaitApproval` executor that waits for a decision with `condition()` and one durable timer per call that has an
 * approval timeout. A worker restart replays into the same wait; continue-as-new carries the wait in the engine
 * state (`turn.approval`) and the next run arms the timers again from their absolute `timeoutAt`.
 *
 * Sandbox-safe: imports `@temporalio/workflow` and pure engine code only.
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation, log, sleep } from '@temporalio/workflow';
import type { EngineCommand } from '../src/engine/types.js';
import { approvalRefusal, approvalStatus, humanDecision } from '../src/engine/engine.js';
import type { ApprovalDecided, SessionState } from '../src/engine/types.js';
import { now } from './activity-executors.js';
import { type ApprovalLookup, type ApprovalReply, type ApprovalRequest, ApprovalRequest as ApprovalRequestSchema, SESSION_CONTINUING } from './shared.js';

type AwaitCommand = Extract<EngineCommand, { type: 'awaitApproval' }>;

/** Decisions accepted by the update and not yet given to the engine, and the timers of the calls still waiting. */
export class ApprovalInbox {
  private readonly inbox: ApprovalDecided[] = [];
  private readonly timers = new Map<string, CancellationScope>();

  /**
   * @param state the session's current engine state.
   * @param refusing why new decisions are refused right now (`ended`, or `continuing` while the run is about to
   *   continue as new: the inbox is not carried, so the API sends the decision again to the next run), else undefined.
   */
  constructor(
    private readonly state: () => SessionState,
    private readonly refusing: () => 'ended' | 'continuing' | undefined,
  ) {}

  /**
   * Update validator: refuses before anything reaches history.
   * @throws ApplicationFailure INVALID_REQUEST, SESSION_ENDED, APPROVAL_ALREADY_DECIDED, APPROVAL_NOT_FOUND
   *   (non-retryable), or SESSION_CONTINUING (retryable: send again).
   */
  validate(request: ApprovalRequest): void {
    const parsed = ApprovalRequestSchema.safeParse(request);
    if (!parsed.success) {
      throw ApplicationFailure.nonRetryable(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), 'INVALID_REQUEST');
    }
    const state = this.state();
    const refusing = this.refusing();
    if (refusing === 'ended') throw ApplicationFailure.nonRetryable(`session ${state.sessionId} has ended`, 'SESSION_ENDED');
    const refusal = approvalRefusal(state, request.callId, this.inbox.some((d) => d.callId === request.callId));
    if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.code);
    if (refusing === 'continuing') throw ApplicationFailure.retryable(`session ${state.sessionId} is continuing as new; send again`, SESSION_CONTINUING);
  }

  /**
   * `approvalDecision` signal handler (the API's way in when the update finds no room): takes the decision when the
   * validator would, else drops it with a warning (the API confirms with {@link lookup} and sends it again).
   */
  signal(request: ApprovalRequest): void {
    try {
      this.validate(request);
    } catch (err) {
      log.warn('approval signal dropped', { callId: request?.callId, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.push(humanDecision(request));
  }

  /** `getApproval` query: where `callId`'s approval stands (see {@link ApprovalLookup}). */
  lookup(callId: string): ApprovalLookup {
    const queued = this.inbox.find((d) => d.callId === callId);
    if (queued) return { status: 'queued', decision: queued };
    const state = this.state();
    const status = approvalStatus(state, callId);
    if (status !== 'decided') return { status };
    const event = [...state.events].reverse().find((e) => e.type === 'approval_decided' && e.callId === callId);
    if (event?.type !== 'approval_decided') return { status };
    const { decision, approver, reason, timedOut, at } = event;
    return { status, decision: { decision, timedOut, at, ...(approver !== undefined ? { approver } : {}), ...(reason !== undefined ? { reason } : {}) } };
  }

  /** Update handler: queues the decision for the engine and answers at once. */
  accept(request: ApprovalRequest): ApprovalReply {
    this.push(humanDecision(request));
    return { callId: request.callId, decision: request.decision, decidedAt: now() };
  }

  /**
   * The `awaitApproval` executor: arms a durable timer for each waiting call with a `timeoutAt` (once per run), then
   * waits for the first decision. Returns `'suspend'` when `suspend()` becomes true first (continue-as-new is due, or
   * the session is ending); the timers then die with the run.
   */
  async wait(command: AwaitCommand, suspend: () => boolean): Promise<ApprovalDecided | 'suspend'> {
    for (const p of command.approvals) {
      if (p.timeoutAt && !this.timers.has(p.callId)) this.arm(p.callId, p.tool, Date.parse(p.timeoutAt), p.onTimeout);
    }
    await condition(() => this.inbox.length > 0 || suspend());
    const decided = this.inbox.shift();
    if (!decided) return 'suspend';
    this.timers.get(decided.callId)?.cancel();
    this.timers.delete(decided.callId);
    return decided;
  }

  private push(decided: ApprovalDecided): void {
    if (!this.inbox.some((d) => d.callId === decided.callId)) this.inbox.push(decided);
  }

  /**
   * A durable timer deciding `callId` by its policy at `atMs` (workflow time) unless somebody decides first. Its
   * summary (shown in the Temporal UI's timeline instead of a bare duration) names the call and the policy.
   */
  private arm(callId: string, tool: string, atMs: number, onTimeout: 'deny' | 'allow'): void {
    const scope = new CancellationScope();
    this.timers.set(callId, scope);
    const summary = `approval timeout: ${tool} (${callId}), then ${onTimeout}`;
    scope
      .run(() => sleep(Math.max(1, atMs - Date.now()), { summary }))
      .then(
        () => {
          this.timers.delete(callId);
          if (approvalStatus(this.state(), callId) === 'pending') {
            this.push({ callId, decision: onTimeout === 'allow' ? 'approve' : 'deny', timedOut: true });
          }
        },
        (err) => {
          if (!isCancellation(err)) throw err;
        },
      );
  }
}
