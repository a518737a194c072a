/**
 * How the API starts a fork's workflow (docs/time-travel.md): a session's start options (`./session-start-options.ts`)
 * with the parent's snapshot in the input, and the memo and search attributes at the snapshot's step. Pure.
 */
import type { SessionWorkflowInput } from '../workflows/shared.js';

/** The Temporal start options of a fork: a session's start options with the fork's snapshot in the input. */
export function forkStartOptions<O extends { args: [SessionWorkflowInput]; memo: Record<string, unknown> }>(
  options: O,
  fork: { state: string; answered: Array<[string, number]> },
): O {
  const stepId = (JSON.parse(fork.state) as { stepId?: string }).stepId;
  const typed = (options as { typedSearchAttributes?: Array<{ key: { name: string }; value: unknown }> }).typedSearchAttributes;
  return {
    ...options,
    args: [{ ...options.args[0], fork }],
    memo: { ...options.memo, ...(stepId ? { stepId } : {}) },
    ...(typed && stepId ? { typedSearchAttributes: typed.map((a) => (a.key.name === 'StepwiseStep' ? { ...a, value: stepId } : a)) } : {}),
  };
}
