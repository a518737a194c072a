/**
 * `POST /sessions/:sessionId/approvals/:callId`: a human approves or denies a tool call its session is waiting on
 * (docs/approvals.md). On the Temporal backend this is the `decideApproval` workflow update, whose
 * validator refuses unknown calls (404 APPROVAL_NOT_FOUND), decided ones (409 APPROVAL_ALREADY_DECIDED) and ended
 * sessions (409 SESSION_ENDED) before anything reaches history. The decision is recorded as an `approval_decided`
 * event (archived with its turn); a denial reaches the model as the call's tool error, with the reason.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApprovalReply, ApprovalRequest, CallId, SessionId } from '../../workflows/shared.js';
import { errorReplies } from '../errors.js';

export const ApprovalParams = z.object({ sessionId: SessionId, callId: CallId });

/** Body: `{decision: approve|deny, reason?, approver?}`. Unknown fields are rejected. */
export const ApprovalBody = z.strictObject(ApprovalRequest.omit({ callId: true }).shape);
export type ApprovalBody = z.infer<typeof ApprovalBody>;

const approvalRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/sessions/:sessionId/approvals/:callId',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Approve or deny a tool call waiting for approval',
        description:
          'The call ids waiting are in `GET /sessions/:sessionId` (`pendingApprovals`), the `approval_requested` ' +
          'events and the early turn result. 404 APPROVAL_NOT_FOUND (no such call waits), 409 ' +
          'APPROVAL_ALREADY_DECIDED, 409 SESSION_ENDED.',
        params: ApprovalParams,
        body: ApprovalBody,
        response: { 200: ApprovalReply, ...errorReplies(404, 409, 503) },
      },
    },
    async (request) => app.backend.decideApproval(request.params.sessionId, { callId: request.params.callId, ...request.body }),
  );
};

export default approvalRoutes;
