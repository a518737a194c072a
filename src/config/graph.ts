/**
 * The map of an agent (`GET /agents/:agentId/graph`, the web app's Agent page): steps, flows and tools as nodes,
 * routes and tool attachments as edges. Pure: a snapshot in, a graph out (no I/O, no `Date`), so the API and the
 * browser draw the same map.
 *
 * Node ids are prefixed by kind so a step, a flow and a tool may share a name: `step:<stepId>`, `flow:<flowId>`,
 * `tool:<toolName>`. `label` is the name as written in the YAML.
 *
 * Flow membership: a flow declares only `enters` and `exits` (NOMOS), so its steps are the ones a session can be at
 * while the flow is active: its entry steps, then every step reached from them along routes, stopping at (and
 * including) its exit steps. A step belongs to at most one flow (the map draws flows as nested boxes, not as
 * overlapping ones): entry steps first (the first flow listing a step in `enters` wins), then exit steps, then the
 * steps between, flows in config order.
 */
import { z } from 'zod';
import type { AgentSnapshot } from './agent.js';

export const GraphNodeKind = z.enum(['step', 'flow', 'tool']);
export type GraphNodeKind = z.infer<typeof GraphNodeKind>;

export const GraphNode = z.object({
  /** `step:<stepId>`, `flow:<flowId>` or `tool:<toolName>`. */
  id: z.string(),
  kind: GraphNodeKind,
  /** The step id, flow id or tool name as written. */
  label: z.string(),
  /** Steps: the agent's `start_step_id`. */
  start: z.boolean().optional(),
  /** Steps: the id (not the node id) of the flow the step belongs to. */
  flowId: z.string().optional(),
  /** Steps: listed in `enters` of its flow. */
  entry: z.boolean().optional(),
  /** Steps: listed in `exits` of its flow. */
  exit: z.boolean().optional(),
});
export type GraphNode = z.infer<typeof GraphNode>;

export const GraphEdgeKind = z.enum(['route', 'tool']);
export type GraphEdgeKind = z.infer<typeof GraphEdgeKind>;

export const GraphEdge = z.object({
  /** Node id of a step. */
  from: z.string(),
  /** Node id of a step (routes) or a tool (tool edges). */
  to: z.string(),
  kind: GraphEdgeKind,
  /** Routes: the route's condition (`when` / `condition`). */
  when: z.string().optional(),
});
export type GraphEdge = z.infer<typeof GraphEdge>;

/** `GET /agents/:agentId/graph`. */
export const AgentGraph = z.object({ nodes: z.array(GraphNode), edges: z.array(GraphEdge) });
export type AgentGraph = z.infer<typeof AgentGraph>;

export const stepNodeId = (stepId: string) => `step:${stepId}`;
export const flowNodeId = (flowId: string) => `flow:${flowId}`;
export const toolNodeId = (tool: string) => `tool:${tool}`;

/** The parts of a snapshot the map needs (a snapshot, or a draft the builder derives from a YAML document). */
export type GraphSource = Pick<AgentSnapshot, 'startStepId' | 'flows'> & {
  steps: ReadonlyArray<Pick<AgentSnapshot['steps'][number], 'id' | 'routes' | 'tools'>>;
  tools: ReadonlyArray<{ name: string }>;
};

/**
 * The flow each step belongs to (see the module comment), by step id. Steps in no flow are absent. Unknown step ids
 * in `enters`/`exits` (an invalid draft) are ignored.
 */
export function flowMembership(agent: GraphSource): Map<string, string> {
  const stepIds = new Set(agent.steps.map((s) => s.id));
  const routes = new Map(agent.steps.map((s) => [s.id, s.routes.map((r) => r.target).filter((t) => stepIds.has(t))]));
  const member = new Map<string, string>();
  for (const flow of agent.flows) for (const id of flow.enters) if (stepIds.has(id) && !member.has(id)) member.set(id, flow.id);
  for (const flow of agent.flows) for (const id of flow.exits) if (stepIds.has(id) && !member.has(id)) member.set(id, flow.id);
  for (const flow of agent.flows) {
    const queue = flow.enters.filter((id) => member.get(id) === flow.id);
    const seen = new Set(queue);
    while (queue.length > 0) {
      const at = queue.shift() as string;
      if (flow.exits.includes(at)) continue; // the flow ends here
      for (const next of routes.get(at) ?? []) {
        if (seen.has(next)) continue;
        seen.add(next);
        if (!member.has(next)) member.set(next, flow.id);
        if (member.get(next) === flow.id) queue.push(next);
      }
    }
  }
  return member;
}

/**
 * Builds the map of an agent: one node per step (config order), flow and tool (loaded tools, then tools steps name
 * that are not loaded, e.g. in a draft), one edge per route (config order, duplicates kept: each is a route) and per
 * step tool. A step id given twice (an invalid draft) is drawn once, with the first step's edges. Never throws.
 */
export function agentGraph(agent: GraphSource): AgentGraph {
  const membership = flowMembership(agent);
  const flows = new Map(agent.flows.map((f) => [f.id, f]));
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const flow of agent.flows) {
    if (!nodes.some((n) => n.id === flowNodeId(flow.id))) nodes.push({ id: flowNodeId(flow.id), kind: 'flow', label: flow.id });
  }
  const toolNames = agent.tools.map((t) => t.name);
  for (const step of agent.steps) {
    if (nodes.some((n) => n.id === stepNodeId(step.id))) continue; // a duplicate id in a draft: drawn once
    const flowId = membership.get(step.id);
    const flow = flowId === undefined ? undefined : flows.get(flowId);
    nodes.push({
      id: stepNodeId(step.id),
      kind: 'step',
      label: step.id,
      ...(step.id === agent.startStepId ? { start: true } : {}),
      ...(flow ? { flowId: flow.id } : {}),
      ...(flow?.enters.includes(step.id) ? { entry: true } : {}),
      ...(flow?.exits.includes(step.id) ? { exit: true } : {}),
    });
    for (const route of step.routes) edges.push({ from: stepNodeId(step.id), to: stepNodeId(route.target), kind: 'route', when: route.condition });
    for (const tool of step.tools) {
      edges.push({ from: stepNodeId(step.id), to: toolNodeId(tool), kind: 'tool' });
      if (!toolNames.includes(tool)) toolNames.push(tool);
    }
  }
  for (const name of toolNames) nodes.push({ id: toolNodeId(name), kind: 'tool', label: name });
  return { nodes, edges };
}
