/**
 * `GET /agents` (summaries) and `GET /agents/:agentId` (the snapshot sessions pin, redacted). Snapshots hold no keys:
 * model configs name the environment variable of their key (`apiKeyEnv`). What a YAML still writes literally (llm
 * header values, secret-named or credential-shaped strings) is shown as `[redacted]` (`src/config/redact.ts`).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AgentSnapshot } from '../../src/config/agent.js';
import { redactSnapshot } from '../../src/config/redact.js';
import { CallerError } from '../../src/errors.js';
import { errorReplies } from '../errors.js';

export const AgentSummary = z.object({
  /** The agent id (use it as `agentId`): URL-safe, derived from the YAML `name` when that has spaces. */
  name: z.string(),
  /** The YAML `name` as written (equal to `name` unless it was not URL-safe, e.g. `Nomos Github Bot`). */
  displayName: z.string(),
  configHash: z.string(),
  startStepId: z.string(),
  steps: z.array(z.string()),
  flows: z.array(z.string()),
  tools: z.array(z.string()),
});
export type AgentSummary = z.infer<typeof AgentSummary>;

export const AgentList = z.object({ agents: z.array(AgentSummary) });
export type AgentList = z.infer<typeof AgentList>;

export const AgentParams = z.object({ agentId: z.string().min(1).max(200) });

/** Summary of an agent for `GET /agents`. */
export function summarizeAgent(agent: AgentSnapshot): AgentSummary {
  return {
    name: agent.name,
    displayName: agent.displayName ?? agent.name,
    configHash: agent.configHash,
    startStepId: agent.startStepId,
    steps: agent.steps.map((s) => s.id),
    flows: agent.flows.map((f) => f.id),
    tools: agent.tools.map((t) => t.name),
  };
}

const agentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/agents',
    { schema: { tags: ['agents'], summary: 'List loaded agents', response: { 200: AgentList } } },
    async () => ({ agents: [...app.agents.values()].map(summarizeAgent) }),
  );

  app.get(
    '/agents/:agentId',
    {
      schema: {
        tags: ['agents'],
        summary: 'One agent snapshot (llm header values and secret-looking values redacted)',
        params: AgentParams,
        response: { 200: AgentSnapshot, ...errorReplies(404) },
      },
    },
    async (request) => {
      const agent = app.agents.get(request.params.agentId);
      if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${request.params.agentId} not found`);
      return redactSnapshot(agent);
    },
  );
};

export default agentRoutes;
