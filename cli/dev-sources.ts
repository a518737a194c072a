/**
 * `stepwise dev`'s agent files for the flow builder's Save (`PUT /agents/:agentId/source`, api/routes/agent-builder.ts):
 * which file each agent came from, and reloading one after a write.
 *
 * A reload swaps, in place, the snapshot the API starts new sessions with (`agents`, the map the API reads) and the
 * tool registry the worker's activities use (`tools`). Running sessions keep the snapshot pinned in their workflow
 * input (steps, routes, prompts, configHash), so a reload never changes a conversation under way; their tool calls
 * go to the agent's current registry by tool name (a tool the new file no longer has fails them with TOOL_NOT_FOUND).
 * Replaced registries stay open until {@link DevAgentSources.close} (a running call may still use one).
 */
import type { ToolRegistry } from '../activities/tools.js';
import type { AgentSourceStore } from '../api/routes/agent-builder.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { type LoadedAgent, loadAgent } from '../runtime/agents/load.js';
import { ConfigError } from '../src/errors.js';

export interface DevAgentSources extends AgentSourceStore {
  /** Closes the registries replaced by reloads (MCP connections). Never throws. */
  close(): Promise<void>;
}

/**
 * @param loaded the agents as loaded at start (their `file`s)
 * @param agents the API's agents by id, updated in place by a reload
 * @param tools the worker's tool registries by agent id, updated in place by a reload
 * @param env the environment the agents were loaded with (`$VAR` interpolation)
 */
export function devAgentSources(
  loaded: readonly LoadedAgent[],
  agents: Map<string, AgentSnapshot>,
  tools: Map<string, ToolRegistry>,
  env: NodeJS.ProcessEnv,
): DevAgentSources {
  const files = new Map(loaded.map((a) => [a.snapshot.name, a.file]));
  const retired: ToolRegistry[] = [];
  return {
    fileOf: (agentId) => files.get(agentId),
    async reload(agentId) {
      const file = files.get(agentId);
      if (!file) throw new ConfigError([{ file: agentId, path: '', message: `agent ${agentId} has no file`, severity: 'error' }]);
      const next = await loadAgent(file, { env });
      if (next.snapshot.name !== agentId) {
        await next.tools.close();
        throw new ConfigError([{ file, path: 'name', message: `the file now names agent "${next.snapshot.name}", not "${agentId}"`, severity: 'error' }]);
      }
      const previous = tools.get(agentId);
      if (previous) retired.push(previous);
      tools.set(agentId, next.tools);
      agents.set(agentId, next.snapshot);
      return next.snapshot;
    },
    async close() {
      await Promise.all(retired.map((r) => r.close().catch(() => undefined)));
    },
  };
}
