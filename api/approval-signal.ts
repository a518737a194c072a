/**
 * Deciding an approval when the `decideApproval` update finds no room. Temporal caps the updates in flight per
 * workflow execution (`history.maxInFlightUpdates`, 10 by default, https://docs.temporal.io/workflows#limits): the
 * `sendMessage` updates of messages queued behind a turn that waits for approval stay in flight until that turn ends,
 * from every API instance (two instances each let 8 in), and only the approval can end it. Found by the chaos suite
 * (docs/chaos.md): a burst session stuck on an approval no client could decide.
 *
 * So the decision goes in as the `approvalDecision` signal (signals have no such cap) and is confirmed with the
 * `getApproval` query: answered once the workflow records it, sent again when the run that got it dropped it (a
 * run about to continue as new drops it; the signal then reaches the next run).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { CallerError, SystemError } from '../src/errors.js';
import { type ApprovalReply, type ApprovalRequest, approvalSignal, getApproval } from '../workflows/shared.js';
import { untilConfirmed } from './update-retries.js';

/**
 * Decides `request` by signal and waits, until `deadline` (epoch ms), for the workflow to record it.
 *
 * @returns the decision as recorded, with the workflow's time of it.
 * @throws CallerError APPROVAL_NOT_FOUND (no such call waits) or APPROVAL_ALREADY_DECIDED (decided otherwise: by
 *   somebody else or its timeout), as the update's validator would (the same decision by the same approver, already
 *   recorded, is answered as this one: the update attempt before may have landed); SystemError TEMPORAL_UNAVAILABLE (retryable:
 *   the decision may still be applied) when it is not recorded by the deadline; client errors of the query/signal
 *   (the caller maps them).
 */
export function decideBySignal(handle: WorkflowHandle, sessionId: string, request: ApprovalRequest, deadline: number): Promise<ApprovalReply> {
  return untilConfirmed<ApprovalReply>(
    async () => {
      const found = await handle.query(getApproval, request.callId);
      if (found.status === 'unknown') {
        throw new CallerError('APPROVAL_NOT_FOUND', `no tool call ${request.callId} is waiting for approval in session ${sessionId}`);
      }
      // Still pending: send it (again, after RESIGNAL_MS, in case the run that got it dropped it while continuing as new).
      if (found.status === 'pending') return { send: true };
      const d = found.decision;
      // The same decision by the same approver is this one (sent here, or by the update attempt before it).
      const ours = d !== undefined && !d.timedOut && d.decision === request.decision && d.approver === request.approver;
      if (!ours) throw new CallerError('APPROVAL_ALREADY_DECIDED', `tool call ${request.callId} was already decided`);
      return found.status === 'decided' ? { done: { callId: request.callId, decision: d.decision, decidedAt: d.at ?? new Date().toISOString() } } : { send: false };
    },
    () => handle.signal(approvalSignal, request),
    deadline,
    () => new SystemError('TEMPORAL_UNAVAILABLE', `the decision on tool call ${request.callId} was sent but not yet recorded; send it again`),
  );
}
