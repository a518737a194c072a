/**
 * The map itself: React Flow (`@xyflow/react`, on Preact through `preact/compat`) drawing an {@link AgentGraph}
 * laid out by elkjs (`../map-layout.ts`): steps (start, entry and exit marked), flows as boxes around their steps,
 * tools beside the steps that may call them, routes as arrows labelled with their condition. Zoom, pan, fit and a
 * minimap come from React Flow. A session overlay marks the current step and flow and counts the routes taken; an
 * edit mode lets steps be connected by dragging from a step's right handle (a route, or a tool attachment).
 */
import { Background, Controls, Handle, MiniMap, type Edge, type Node, type NodeProps, Position, ReactFlow, ReactFlowProvider, useReactFlow, applyNodeChanges, type NodeChange, MarkerType } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AgentGraph } from '../../../src/config/graph.js';
import { layoutGraph } from '../map-layout.js';
import { type MapOverlay, routeKey } from '../map-overlay.js';

/** Edge ids the builder uses: `route:<fromStep>:<n>` (the step's n-th route), `uses:<fromStep>:<tool>`. */
export function edgeIds(graph: AgentGraph): string[] {
  const counters = new Map<string, number>();
  return graph.edges.map((e) => {
    const from = e.from.slice('step:'.length);
    if (e.kind === 'tool') return `uses:${from}:${e.to.slice('tool:'.length)}`;
    const n = counters.get(from) ?? 0;
    counters.set(from, n + 1);
    return `route:${from}:${n}`;
  });
}

export interface AgentMapProps {
  graph: AgentGraph;
  overlay?: MapOverlay;
  /** Steps of the turn picked in the inspector (highlighted). */
  turnSteps?: string[];
  /** Validation errors by node or edge id. */
  problems: Record<string, string[]>;
  selected?: string;
  onSelect(id: string | undefined): void;
  /** Edit mode: a connection drawn from step `from` to node `to` (a step or a tool node id). */
  onConnect?: (from: string, to: string) => void;
}

interface StepData extends Record<string, unknown> {
  label: string;
  start?: boolean;
  entry?: boolean;
  exit?: boolean;
  current?: boolean;
  inTurn?: boolean;
  visits?: number;
  approvals?: number;
  failures?: number;
  problems?: string[];
  editable?: boolean;
}

function StepNode({ data, selected }: NodeProps<Node<StepData>>) {
  const classes = ['map-step', data.current && 'is-current', data.inTurn && 'in-turn', data.problems?.length && 'has-problem', selected && 'is-selected'].filter(Boolean).join(' ');
  return (
    <div class={classes} data-step={data.label} title={data.problems?.join('\n')}>
      <Handle type="target" position={Position.Left} />
      <div class="map-step-label">{data.label}</div>
      <div class="map-step-marks">
        {data.start && <span class="mark mark-start">start</span>}
        {data.entry && <span class="mark mark-entry">entry</span>}
        {data.exit && <span class="mark mark-exit">exit</span>}
        {data.current && <span class="mark mark-current">here</span>}
        {!!data.visits && <span class="mark mark-visits" title="turns in this step">{data.visits}×</span>}
        {!!data.approvals && <span class="mark mark-approval" title="waited for approval">⏸ {data.approvals}</span>}
        {!!data.failures && <span class="mark mark-failure" title="failed decisions or tools">⚠ {data.failures}</span>}
        {!!data.problems?.length && <span class="mark mark-problem">{data.problems.length} error{data.problems.length === 1 ? '' : 's'}</span>}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function ToolNode({ data, selected }: NodeProps<Node<{ label: string }>>) {
  return (
    <div class={`map-tool${selected ? ' is-selected' : ''}`} data-tool={data.label}>
      <Handle type="target" position={Position.Left} />
      <span class="map-tool-kind">tool</span> {data.label}
    </div>
  );
}

function FlowNode({ data, selected }: NodeProps<Node<{ label: string; current?: boolean; problems?: string[] }>>) {
  return (
    <div class={`map-flow${data.current ? ' is-current' : ''}${data.problems?.length ? ' has-problem' : ''}${selected ? ' is-selected' : ''}`} data-flow={data.label}>
      <span class="map-flow-label">flow {data.label}</span>
    </div>
  );
}

const nodeTypes = { step: StepNode, tool: ToolNode, flow: FlowNode };

function MapInner(props: AgentMapProps) {
  const { graph, overlay, problems } = props;
  const [nodes, setNodes] = useState<Node[]>([]);
  const { fitView } = useReactFlow();
  // Re-layout when the structure changes (not for overlay or selection changes).
  const structure = JSON.stringify([graph.nodes.map((n) => [n.id, n.flowId]), graph.edges.map((e) => [e.from, e.to])]);
  const [laidOut, setLaidOut] = useState<Map<string, { x: number; y: number; width: number; height: number; parentId?: string }>>(new Map());
  useEffect(() => {
    let live = true;
    layoutGraph(graph).then(
      (placed) => {
        if (!live) return;
        setLaidOut(new Map(placed.map((p) => [p.node.id, p])));
        requestAnimationFrame(() => void fitView({ padding: 0.12 }));
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [structure]);

  useEffect(() => {
    const out: Node[] = [];
    for (const n of graph.nodes) {
      const at = laidOut.get(n.id);
      if (!at) continue;
      const label = n.label;
      const common = { id: n.id, position: { x: at.x, y: at.y }, selected: props.selected === n.id, ...(at.parentId ? { parentId: at.parentId } : {}) };
      if (n.kind === 'flow') {
        out.push({ ...common, type: 'flow', data: { layout: laidOut, label, current: overlay?.flowId === label, problems: problems[n.id] }, style: { width: at.width, height: at.height }, zIndex: -1 });
      } else if (n.kind === 'tool') {
        out.push({ ...common, type: 'tool', data: { layout: laidOut, label } });
      } else {
        const data: StepData = {
          label,
          ...(n.start ? { start: true } : {}),
          ...(n.entry ? { entry: true } : {}),
          ...(n.exit ? { exit: true } : {}),
          current: overlay !== undefined && overlay.stepId === label,
          inTurn: props.turnSteps?.includes(label) ?? false,
          visits: overlay?.visits[label] ?? 0,
          approvals: overlay?.approvals[label] ?? 0,
          failures: overlay?.failures[label] ?? 0,
          problems: problems[n.id] ?? [],
          editable: props.onConnect !== undefined,
        };
        out.push({ ...common, type: 'step', data: { ...data, layout: laidOut } });
      }
    }
    // Parents before children, as React Flow requires.
    out.sort((a, b) => Number(a.type !== 'flow') - Number(b.type !== 'flow'));
    // Keep what React Flow measured (a node without `measured` stays hidden until its size changes) and, within one
    // layout, where the user dragged it.
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return out.map((n) => {
        const was = old.get(n.id);
        if (!was) return n;
        return { ...n, ...(was.measured ? { measured: was.measured } : {}), ...(was.data.layout === laidOut ? { position: was.position } : {}) };
      });
    });
  }, [laidOut, graph, overlay, problems, props.selected, props.turnSteps]);

  const ids = useMemo(() => edgeIds(graph), [graph]);
  const edges: Edge[] = graph.edges.map((e, i) => {
    const id = ids[i]!;
    const from = e.from.slice('step:'.length);
    const count = e.kind === 'route' ? (overlay?.routeCounts[routeKey(from, e.to.slice('step:'.length))] ?? 0) : 0;
    const bad = (problems[id] ?? []).length > 0;
    const when = e.when ? (e.when.length > 32 ? `${e.when.slice(0, 30)}…` : e.when) : '';
    return {
      id,
      source: e.from,
      target: e.to,
      selected: props.selected === id,
      ...(e.kind === 'route'
        ? {
            label: count > 0 ? `${when} ×${count}` : when,
            markerEnd: { type: MarkerType.ArrowClosed },
            className: `map-route${count > 0 ? ' is-taken' : ''}${bad ? ' has-problem' : ''}`,
            style: { strokeWidth: count > 0 ? Math.min(2 + count, 7) : 1.5 },
          }
        : { className: `map-tool-edge${bad ? ' has-problem' : ''}`, style: { strokeDasharray: '4 4' } }),
    };
  });

  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onNodesChange={(changes: NodeChange[]) => setNodes((ns) => applyNodeChanges(changes.filter((c) => c.type === 'position' || c.type === 'dimensions'), ns))}
      onNodeClick={(_, n) => props.onSelect(n.id)}
      onEdgeClick={(_, e) => props.onSelect(e.id)}
      onPaneClick={() => props.onSelect(undefined)}
      onConnect={(c) => {
        if (c.source && c.target && props.onConnect) props.onConnect(c.source, c.target);
      }}
      nodesConnectable={props.onConnect !== undefined}
      deleteKeyCode={null}
      minZoom={0.2}
      fitView
      proOptions={{ hideAttribution: true }}
    >
      <Background />
      <Controls showInteractive={false} />
      <MiniMap pannable zoomable ariaLabel="Minimap of the agent" style={{ width: 150, height: 100 }} />
    </ReactFlow>
  );
}

export function AgentMap(props: AgentMapProps) {
  return (
    <div class="agent-map" data-testid="agent-map">
      <ReactFlowProvider>
        <MapInner {...props} />
      </ReactFlowProvider>
    </div>
  );
}
