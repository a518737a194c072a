/**
 * What the session shows outside its workflow: the `getState` view, and the memo and search attributes the Temporal
 * UI lists and filters by (kept in step with the state after each turn, and passed on at continue-as-new).
 *
 * Sandbox-safe: imports `@temporalio/workflow` and pure code only.
 */
import { upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AgentSnapshot } from '../src/config/agent.js';
import { pendingApprovals } from '../src/engine/engine.js';
import type { SessionState } from '../src/engine/types.js';
import { agentSearchAttribute, infoMemo, type SessionInfo, type SessionView, statusSearchAttribute, stepSearchAttribute } from './shared.js';

/** The `getState` view of a session (small: no memory contents). */
export function sessionView(agent: AgentSnapshot, state: SessionState, info: SessionInfo, run: number, queued: number, busy: boolean): SessionView {
  return {
    sessionId: state.sessionId,
    agentName: agent.name,
    configHash: agent.configHash,
    status: state.status,
    stepId: state.stepId,
    ...(state.flow ? { flowId: state.flow.flowId } : {}),
    turns: state.counters.turns,
    queued,
    busy,
    run,
    lastEventSeq: state.counters.events - 1,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    ...info,
    pendingApprovals: pendingApprovals(state),
  };
}

/**
 * The session's memo (`agent`, `configHash`, `stepId`, `flowId`, `status`, `turns`) and search attributes. Search
 * attributes are set only where the starter set them: that is how a session knows they are registered on its cluster.
 */
export class SessionIndex {
  private readonly searchable: boolean;
  private indexed: { stepId: string | undefined; status: string | undefined };

  constructor(
    private readonly agent: AgentSnapshot,
    private readonly state: () => SessionState,
  ) {
    const started = workflowInfo().typedSearchAttributes;
    this.searchable = started.get(agentSearchAttribute) !== undefined;
    this.indexed = { stepId: started.get(stepSearchAttribute), status: started.get(statusSearchAttribute) };
  }

  private memoValue() {
    const state = this.state();
    return {
      agent: this.agent.name,
      configHash: this.agent.configHash,
      stepId: state.stepId,
      flowId: state.flow?.flowId ?? null,
      status: state.status,
      turns: state.counters.turns,
    };
  }

  /**
   * Upserts the memo (with `extra` fields, e.g. token usage, in the same command), and the step and status search
   * attributes when they changed.
   */
  update(extra: Record<string, unknown> = {}): void {
    const state = this.state();
    upsertMemo({ ...this.memoValue(), ...extra });
    if (this.searchable && (this.indexed.stepId !== state.stepId || this.indexed.status !== state.status)) {
      this.indexed = { stepId: state.stepId, status: state.status };
      upsertSearchAttributes([
        { key: stepSearchAttribute, value: state.stepId },
        { key: statusSearchAttribute, value: state.status },
      ]);
    }
  }

  /** Memo and search attributes for the next run (continue-as-new), so it shows the current step from its start. */
  continueAsNewOptions(info: SessionInfo) {
    const state = this.state();
    return {
      memo: { ...this.memoValue(), ...infoMemo(info) },
      ...(this.searchable
        ? {
            typedSearchAttributes: [
              { key: agentSearchAttribute, value: this.agent.name },
              { key: stepSearchAttribute, value: state.stepId },
              { key: statusSearchAttribute, value: state.status },
            ],
          }
        : {}),
    };
  }
}
