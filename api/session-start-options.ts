/**
 * How the API starts a session workflow: its input, memo, search attributes, id reuse policy, and the User Metadata
 * (summary and details) the Temporal UI shows for it. Pure.
 */
import type { AgentSnapshot } from '../src/config/agent.js';
import type { SessionSeed } from '../src/engine/seed.js';
import {
  agentSearchAttribute,
  infoMemo,
  type SessionInfo,
  type SessionWorkflowInput,
  sessionWorkflowId,
  statusSearchAttribute,
  stepSearchAttribute,
} from '../workflows/shared.js';

/**
 * The Temporal UI's "User Metadata" of a session's start: a one-line summary (agent, user, name; at most 200
 * characters) and Markdown details (agent, config hash, user, name, how it started). Shown for the first run;
 * later runs (continue-as-new) do not carry user metadata in this SDK, so the memo holds the same facts.
 */
export function sessionUserMetadata(
  agent: AgentSnapshot,
  info: SessionInfo | undefined,
  how: { firstMessage?: boolean; initiate?: boolean; seed?: SessionSeed },
): { staticSummary: string; staticDetails: string } {
  const who = info?.userId !== undefined ? ` for user ${info.userId}` : '';
  const named = info?.name ? `: ${info.name}` : '';
  const started = how.seed ? 'from a seed (NOMOS session_data)' : how.initiate ? 'with the agent speaking first' : how.firstMessage ? 'with a first message' : 'empty';
  const details = [
    `**Agent** ${agent.name} (config \`${agent.configHash}\`)`,
    ...(info?.userId !== undefined ? [`**User** ${info.userId}`] : []),
    ...(info?.name ? [`**Name** ${info.name}`] : []),
    `**Started** ${started}, at step \`${how.seed?.stepId ?? agent.startStepId}\``,
  ];
  return { staticSummary: `${agent.name} session${who}${named}`.slice(0, 200), staticDetails: details.join('\n\n') };
}

/**
 * Start options of a session workflow (conflict policy left to the caller). `info` goes into the input (and its user
 * id and name into the memo) only when it has a field: sessions without it start exactly as before. `seed` goes into
 * the input too (and its step into the memo and search attributes). Search attributes only when `searchable` (they
 * are registered in the namespace).
 */
export function sessionStartOptions(
  agent: AgentSnapshot,
  sessionId: string,
  how: { firstMessage?: boolean; initiate?: boolean; info?: SessionInfo; seed?: SessionSeed },
  taskQueue: string,
  searchable: boolean,
) {
    const info = how.info && Object.keys(how.info).length > 0 ? how.info : undefined;
    const input: SessionWorkflowInput = {
      sessionId,
      agent,
      ...(how.firstMessage ? { firstMessage: true } : {}),
      ...(how.initiate ? { initiate: true } : {}),
      ...(info ? { info } : {}),
      ...(how.seed ? { seed: how.seed } : {}),
    };
    const stepId = how.seed?.stepId ?? agent.startStepId;
    return {
      ...(searchable
        ? {
            typedSearchAttributes: [
              { key: agentSearchAttribute, value: agent.name },
              { key: stepSearchAttribute, value: stepId },
              { key: statusSearchAttribute, value: 'active' },
            ],
          }
        : {}),
      taskQueue,
      workflowId: sessionWorkflowId(sessionId),
      args: [input] as [SessionWorkflowInput],
      memo: {
        agent: agent.name,
        configHash: agent.configHash,
        stepId,
        ...infoMemo(info),
      },
      ...sessionUserMetadata(agent, info, how),
      // A closed session's id stays taken: a new session can never inherit an old conversation's id.
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    };
}
