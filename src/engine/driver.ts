/**
 * Runs one turn to completion by playing the engine's commands through injected executors.
 *
 * The same driver serves every host: the session workflow (executors = activities), `stepwise chat` and the
 * benchmark (executors = direct calls). Executors must not throw for model or tool misbehaviour; they translate
 * failures into {@link EngineInput}s (`decisionInvalid`, `decideFailed`, tool errors, `summarizeFailed`).
 *
 * Pure (no Node imports); the clock is injected.
 */
import type { AgentSnapshot } from '../config/agent.js';
import type { FileRef } from './files.js';
import { advance, startTurn } from './engine.js';
import type {
  ApprovalDecided,
  EngineCommand,
  EngineStep,
  DecideRequest,
  EngineInput,
  RankRequest,
  SessionState,
  SummarizeRequest,
  ToolCallRequest,
  ToolCallResult,
  TurnResult,
} from './types.js';
import type { ProviderUsage } from './usage.js';

/**
 * What a host may add to a successful outcome: the provider call's token usage and the model that answered (hosts
 * sum it, see ./usage.ts; the engine ignores it).
 */
export interface CallReport {
  usage?: ProviderUsage;
  model?: string;
}

/** Outcome of asking the model: a raw decision, unusable output, or a failure to get any. */
export type DecideOutcome =
  | ({ type: 'decided'; decision: unknown } & CallReport)
  | { type: 'decisionInvalid'; message: string }
  | { type: 'decideFailed'; message: string };

/** Outcome of summarising. */
export type SummarizeOutcome = ({ type: 'summarized'; summary: string } & CallReport) | { type: 'summarizeFailed'; message: string };

/** Outcome of ranking by embeddings. */
export type RankOutcome = ({ type: 'ranked'; scores: number[] } & CallReport) | { type: 'rankFailed'; message: string };

/** Why a host without a `rank` executor falls back to BM25. */
export const NO_RANKER_MESSAGE = 'this host does not rank with embeddings';

/** What a host provides to run turns. */
export interface TurnExecutors {
  decide(request: DecideRequest): Promise<DecideOutcome>;
  /** Runs all calls (in parallel) and returns one result per call, in the same order. */
  runTools(calls: ToolCallRequest[]): Promise<ToolCallResult[]>;
  summarize(request: SummarizeRequest): Promise<SummarizeOutcome>;
  /**
   * Scores `request.candidates` against `request.query` with the embeddings model (cosine, one per candidate, in
   * order). Must not throw for provider failures: `rankFailed` (the turn then uses BM25). Optional: a host without it
   * answers every `rank` with `rankFailed`.
   */
  rank?(request: RankRequest): Promise<RankOutcome>;
  /** Current time as ISO-8601 (in workflows: `new Date().toISOString()`, which Temporal makes replay-safe). */
  now(): string;
  /** Called after every engine transition, e.g. to publish events live. Optional. */
  onState?(state: SessionState): void;
  /**
   * Waits for a human decision on one of `command.approvals` (the calls still waiting), arming its timeouts. Return
   * `'suspend'` to stop playing the turn where it is (its state carries the wait; the workflow continues as new and
   * resumes it with {@link playTurn} + `resumeTurn`). Optional: a host without approvers denies every such call.
   */
  awaitApproval?(command: Extract<EngineCommand, { type: 'awaitApproval' }>): Promise<ApprovalDecided | 'suspend'>;
  /** Called each time the turn pauses for approval, with the early result its caller gets. Optional. */
  onPaused?(result: TurnResult): void;
}

/** How playing a turn stopped: finished with a result, or suspended while waiting for approval. */
export type TurnOutcome = { state: SessionState; result: TurnResult } | { state: SessionState; suspended: true };

/** Without an `awaitApproval` executor, calls needing approval are denied with this reason. */
export const NO_APPROVER_REASON = 'no approver is available in this host';

/**
 * Runs a user message (or, with `opening`, an opening turn without one) through the engine until the turn finishes.
 *
 * @returns the new state and the turn result.
 * @throws only what the executors throw (they should not) or engine host-bug errors (a turn already running).
 */
export async function runTurn(
  agent: AgentSnapshot,
  state: SessionState,
  message: { messageId: string; text: string; opening?: boolean; files?: FileRef[] },
  exec: TurnExecutors,
): Promise<{ state: SessionState; result: TurnResult }> {
  const out = await playTurn(agent, startTurn(agent, state, { ...message, now: exec.now() }), exec);
  if ('suspended' in out) throw new Error('runTurn: the host suspended the turn; use playTurn to allow that');
  return out;
}

/**
 * Plays a turn from `step` (from `startTurn`, or `resumeTurn` for a turn paused for approval) until it finishes or
 * the host's `awaitApproval` suspends it.
 *
 * @throws only what the executors throw, or engine host-bug errors.
 */
export async function playTurn(agent: AgentSnapshot, first: EngineStep, exec: TurnExecutors): Promise<TurnOutcome> {
  let step = first;
  for (;;) {
    exec.onState?.(step.state);
    const { command } = step;
    let input: EngineInput;
    switch (command.type) {
      case 'finish':
        return { state: step.state, result: command.result };
      case 'awaitApproval': {
        exec.onPaused?.(command.result);
        const decided = exec.awaitApproval
          ? await exec.awaitApproval(command)
          : { callId: command.approvals[0]!.callId, decision: 'deny' as const, reason: NO_APPROVER_REASON, timedOut: false };
        if (decided === 'suspend') return { state: step.state, suspended: true };
        input = { type: 'approvalDecided', ...decided, now: exec.now() };
        break;
      }
      case 'decide':
        input = { ...(await exec.decide(command.request)), now: exec.now() };
        break;
      case 'runTools':
        input = { type: 'toolResults', results: await exec.runTools(command.calls), now: exec.now() };
        break;
      case 'summarize':
        input = { ...(await exec.summarize(command.request)), now: exec.now() };
        break;
      case 'rank': {
        const ranked = exec.rank ? await exec.rank(command.request) : { type: 'rankFailed' as const, message: NO_RANKER_MESSAGE };
        input = { ...ranked, now: exec.now() };
        break;
      }
    }
    step = advance(agent, step.state, input);
  }
}
