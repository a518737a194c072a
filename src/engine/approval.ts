/**
 * Approval of tool calls (a turn paused for humans): a decision's calls wait together until every call that needs
 * approval is decided; then the approved calls and those needing none run together, and denied ones become tool
 * errors. Used by the engine's turn loop (./turn.ts) and, for status and refusals, by hosts.
 *
 * Pure.
 */
import { type AgentSnapshot, approvalPolicy } from '../config/agent.js';
import { emit, requireTurn, withTurn } from './turn-state.js';
import type {
  ApprovalDecided,
  ApprovalWait,
  EngineStep,
  PendingApproval,
  SessionState,
  ToolCallRequest,
  ToolCallResult,
  TurnResult,
} from './types.js';

/**
 * The command a turn paused for approval waits on, for a host that resumes it (a workflow run continued as new).
 *
 * @throws Error if no turn is waiting for approval (host bug).
 */
export function resumeTurn(state: SessionState): EngineStep {
  if (!state.turn?.approval) throw new Error('no turn is waiting for approval');
  return awaitApproval(state);
}

/** Calls waiting for approval (oldest first); empty when none. */
export function pendingApprovals(state: SessionState): PendingApproval[] {
  return (state.turn?.approval?.pending ?? []).map(({ onTimeout: _, ...p }) => p);
}

/**
 * Where call `callId` stands for a decision: `pending` (waiting), `decided` (decided in this turn, or seen decided in
 * the kept events), or `unknown` (no such call waits: hosts answer APPROVAL_NOT_FOUND).
 */
export function approvalStatus(state: SessionState, callId: string): 'pending' | 'decided' | 'unknown' {
  const wait = state.turn?.approval;
  if (wait?.pending.some((p) => p.callId === callId)) return 'pending';
  if (wait?.decided.some((d) => d.callId === callId)) return 'decided';
  return state.events.some((e) => e.type === 'approval_decided' && e.callId === callId) ? 'decided' : 'unknown';
}

/**
 * Why a human decision on `callId` must be refused (`queued`: a decision for it is already waiting to be applied),
 * as the error code and message hosts answer with; undefined when the call waits for one.
 */
export function approvalRefusal(
  state: SessionState,
  callId: string,
  queued: boolean,
): { code: 'APPROVAL_ALREADY_DECIDED' | 'APPROVAL_NOT_FOUND'; message: string } | undefined {
  const status = queued ? 'decided' : approvalStatus(state, callId);
  if (status === 'decided') return { code: 'APPROVAL_ALREADY_DECIDED', message: `tool call ${callId} was already decided` };
  if (status === 'unknown') return { code: 'APPROVAL_NOT_FOUND', message: `no tool call ${callId} is waiting for approval in session ${state.sessionId}` };
  return undefined;
}

/** A human's decision as the engine takes it (optional fields only when given). */
export function humanDecision(d: { callId: string; decision: ApprovalDecided['decision']; reason?: string; approver?: string }): ApprovalDecided {
  return {
    callId: d.callId,
    decision: d.decision,
    ...(d.reason !== undefined ? { reason: d.reason } : {}),
    ...(d.approver !== undefined ? { approver: d.approver } : {}),
    timedOut: false,
  };
}

/** Pauses the turn when some of `calls` need approval (emitting `approval_requested` for each); else undefined. */
export function requestApprovals(agent: AgentSnapshot, state: SessionState, calls: ToolCallRequest[], now: string): EngineStep | undefined {
  const pending: ApprovalWait['pending'] = calls.flatMap((c) => {
    const policy = approvalPolicy(agent, c.stepId, c.tool);
    if (!policy) return [];
    const timeoutAt = policy.timeoutMs !== undefined ? new Date(Date.parse(now) + policy.timeoutMs).toISOString() : undefined;
    return [{ callId: c.callId, tool: c.tool, arguments: c.arguments, requestedAt: now, ...(timeoutAt ? { timeoutAt } : {}), onTimeout: policy.onTimeout }];
  });
  if (pending.length === 0) return undefined;
  let s = state;
  for (const p of pending) {
    s = emit(s, { type: 'approval_requested', callId: p.callId, tool: p.tool, arguments: p.arguments, ...(p.timeoutAt ? { timeoutAt: p.timeoutAt } : {}) }, now);
  }
  const approval: ApprovalWait = { calls: calls.map((c) => ({ callId: c.callId, tool: c.tool, arguments: c.arguments })), pending, decided: [] };
  return awaitApproval(withTurn(s, { approval }));
}

/** The `awaitApproval` command of a paused turn, with the early result its caller gets. */
function awaitApproval(state: SessionState): EngineStep {
  const turn = requireTurn(state);
  const waiting = pendingApprovals(state);
  const names = waiting.map((p) => `${p.tool} (call ${p.callId})`).join(', ');
  const result: TurnResult = {
    messageId: turn.messageId,
    turn: turn.number,
    reply: `Waiting for approval to run ${names}; the reply follows once it is decided.`,
    stepId: state.stepId,
    ...(state.flow ? { flowId: state.flow.flowId } : {}),
    ended: false,
    events: state.events.filter((e) => e.seq >= turn.firstEventSeq),
    pendingApprovals: waiting,
  };
  return { state, command: { type: 'awaitApproval', approvals: turn.approval!.pending, result } };
}

/** The tool error a denied call reports to the model. */
function deniedMessage(tool: string, d: ApprovalDecided): string {
  if (d.timedOut) return `call to ${tool} was not approved in time (denied by its approval timeout)`;
  return `call to ${tool} was denied by ${d.approver ? `approver ${d.approver}` : 'a human approver'}${d.reason ? `: ${d.reason}` : ''}`;
}

/**
 * Where a turn stands after one approval decision: still `waiting` (the next `awaitApproval` step), or every call
 * decided — `denied` calls as tool errors to record, and the calls to `run` now (possibly none).
 */
export type ApprovalOutcome =
  | { waiting: EngineStep }
  | { state: SessionState; denied: ToolCallResult[]; run: ToolCallRequest[] };

/**
 * Applies one decision on a waiting call (emitting `approval_decided`).
 *
 * @throws Error if `d.callId` is not waiting for approval (host bug: hosts check {@link approvalRefusal} first).
 */
export function applyApproval(agent: AgentSnapshot, state: SessionState, d: ApprovalDecided, now: string): ApprovalOutcome {
  const wait = requireTurn(state).approval;
  const p = wait?.pending.find((x) => x.callId === d.callId);
  if (!wait || !p) throw new Error(`call ${d.callId} is not waiting for approval`);
  let s = emit(
    state,
    {
      type: 'approval_decided',
      callId: d.callId,
      tool: p.tool,
      decision: d.decision,
      ...(d.approver !== undefined ? { approver: d.approver } : {}),
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
      timedOut: d.timedOut,
    },
    now,
  );
  const decided = [...wait.decided, { callId: d.callId, decision: d.decision, ...(d.decision === 'deny' ? { error: deniedMessage(p.tool, d) } : {}) }];
  const pending = wait.pending.filter((x) => x.callId !== d.callId);
  if (pending.length > 0) return { waiting: awaitApproval(withTurn(s, { approval: { ...wait, pending, decided } })) };

  // All decided: denied calls become tool errors now, the others run together.
  const denied = new Map(decided.flatMap((x) => (x.decision === 'deny' ? [[x.callId, x.error ?? 'denied'] as const] : [])));
  s = withTurn(s, { approval: undefined });
  return {
    state: s,
    denied: wait.calls.flatMap((c) => (denied.has(c.callId) ? [{ callId: c.callId, tool: c.tool, ok: false as const, error: denied.get(c.callId)! }] : [])),
    run: wait.calls
      .filter((c) => !denied.has(c.callId))
      .map((c) => ({ sessionId: s.sessionId, agentName: agent.name, stepId: s.stepId, ...c })),
  };
}
