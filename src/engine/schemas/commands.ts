/** What the engine asks its host to do next (commands), and the host's answers (inputs). */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { ApprovalDecision } from './common.js';
import type { DecideRequest, RankRequest, SummarizeRequest, ToolCallRequest, ToolCallResult } from './activity-protocol.js';
import type { TurnResult } from './events.js';
import type { ApprovalWait, SessionState } from './state.js';


/** What the engine asks its host to do next. */
export type EngineCommand =
  | { type: 'decide'; request: DecideRequest }
  | { type: 'runTools'; calls: ToolCallRequest[] }
  | { type: 'summarize'; request: SummarizeRequest }
  /** Rank candidates by embeddings before the next decision (sessions with `embeddings` only). */
  | { type: 'rank'; request: RankRequest }
  /**
   * Wait for a human decision on one of `approvals` (the undecided calls; arm a durable timer for each `timeoutAt`).
   * `result` is what the turn's caller gets meanwhile: a reply saying approval is pending, with `pendingApprovals`.
   */
  | { type: 'awaitApproval'; approvals: ApprovalWait['pending']; result: TurnResult }
  | { type: 'finish'; result: TurnResult };

/** A decision on a waiting call: by a human (`approver`, `reason`), or by its timeout policy (`timedOut`). */
export const ApprovalDecided = lazySchema(() => z.object({
  callId: z.string(),
  decision: ApprovalDecision,
  approver: z.string().optional(),
  reason: z.string().optional(),
  timedOut: z.boolean(),
}));
export type ApprovalDecided = z.infer<typeof ApprovalDecided>;

/** The host's answer to the last command; `now` is the host's clock (ISO-8601). */
export type EngineInput =
  | { type: 'decided'; decision: unknown; now: string }
  /** The model's output was unusable (not JSON, refused): re-asked like an invalid decision. */
  | { type: 'decisionInvalid'; message: string; now: string }
  /** The model could not be reached or refused the request for good: the turn ends with a fallback reply. */
  | { type: 'decideFailed'; message: string; now: string }
  | { type: 'toolResults'; results: ToolCallResult[]; now: string }
  | { type: 'summarized'; summary: string; now: string }
  | { type: 'summarizeFailed'; message: string; now: string }
  /** Scores of the `rank` command's candidates, in order. */
  | { type: 'ranked'; scores: number[]; now: string }
  /** Ranking failed for good: BM25 for the rest of the turn (a `retrieval_fallback` event says why). */
  | { type: 'rankFailed'; message: string; now: string }
  | ({ type: 'approvalDecided'; now: string } & ApprovalDecided);

/** One engine transition. */
export interface EngineStep {
  state: SessionState;
  command: EngineCommand;
}
