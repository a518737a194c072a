/**
 * Auto-layout of an agent's map with elkjs (ELK's layered, Sugiyama-style algorithm): flows are compound nodes
 * around their steps (`hierarchyHandling: INCLUDE_CHILDREN`, so routes may cross flow borders), routes run left to
 * right, tools sit beside the steps that call them. Positions come back relative to the parent (a flow), which is
 * how React Flow places a node with `parentId`.
 */
import ELK, { type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { AgentGraph, GraphNode } from '../../src/config/graph.js';

export const STEP_SIZE = { width: 190, height: 58 };
export const TOOL_SIZE = { width: 150, height: 34 };

export interface Placed {
  node: GraphNode;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Node id of the flow around it. */
  parentId?: string;
}

const elk = new ELK();

/** Room between layers for a route's label, and between the nodes of a layer (ELK reads it per level: root and flows). */
const SPACING = { 'elk.layered.spacing.nodeNodeBetweenLayers': '190', 'elk.spacing.nodeNode': '44', 'elk.spacing.edgeNode': '24' };

/** Lays the graph out; resolves with every node placed (flows before their steps). Rejects only on an ELK bug. */
export async function layoutGraph(graph: AgentGraph): Promise<Placed[]> {
  const byFlow = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) if (n.kind === 'step' && n.flowId) byFlow.set(n.flowId, [...(byFlow.get(n.flowId) ?? []), n]);
  const sized = (n: GraphNode): ElkNode => ({ id: n.id, ...(n.kind === 'tool' ? TOOL_SIZE : STEP_SIZE) });
  // Children in the YAML's order (a flow where its first step is, tools last), which ELK keeps where it can.
  const children: ElkNode[] = [];
  const flowIds = new Set(graph.nodes.filter((n) => n.kind === 'flow').map((n) => n.label));
  const placedFlows = new Set<string>();
  const flowNode = (flowId: string): ElkNode => {
    const steps = byFlow.get(flowId) ?? [];
    return {
      id: `flow:${flowId}`,
      layoutOptions: { 'elk.padding': '[top=36,left=20,bottom=20,right=20]', ...SPACING },
      // A flow reads left to right: its entry steps in its first layer, its exit steps in its last.
      children: steps.map((n) => {
        const side = n.entry && !n.exit ? 'FIRST' : n.exit && !n.entry ? 'LAST' : undefined;
        return { ...sized(n), ...(side ? { layoutOptions: { 'elk.layered.layering.layerConstraint': side } } : {}) };
      }),
      ...(steps.length === 0 ? STEP_SIZE : {}),
    };
  };
  for (const n of graph.nodes) {
    if (n.kind !== 'step') continue;
    if (n.flowId && flowIds.has(n.flowId)) {
      if (!placedFlows.has(n.flowId)) children.push(flowNode(n.flowId));
      placedFlows.add(n.flowId);
    } else children.push(sized(n));
  }
  for (const id of flowIds) if (!placedFlows.has(id)) children.push(flowNode(id));
  for (const n of graph.nodes) if (n.kind === 'tool') children.push(sized(n));
  const ids = new Set(graph.nodes.map((n) => n.id));
  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      ...SPACING,
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      // The YAML's order where the graph allows (the start step first). (Inside a flow, entry and exit steps are
      // placed first and last instead: these two options on a flow's level made elkjs 0.12.2 throw here.)
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
      'elk.edgeLabels.inline': 'true',
    },
    children,
    edges: graph.edges
      .filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to)
      .map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  };
  const laid = await elk.layout(root);
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const out: Placed[] = [];
  const visit = (list: ElkNode[] | undefined, parentId?: string) => {
    for (const c of list ?? []) {
      const node = nodes.get(c.id);
      if (!node) continue;
      out.push({ node, x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? STEP_SIZE.width, height: c.height ?? STEP_SIZE.height, ...(parentId ? { parentId } : {}) });
      visit(c.children, c.id);
    }
  };
  visit(laid.children);
  return out;
}
