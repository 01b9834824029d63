// The flow's diagram: flowToGraph + dagre positions, drawn read-only by React Flow.

import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useMemo, type KeyboardEvent } from 'react';
import { NODE_WIDTH, flowToGraph, layoutGraph, nodeHeight, type NodeKind } from '../graph';
import type { FlowDef } from '../types';

type WeftNodeData = {
  label: string;
  detail?: string;
  kind: NodeKind;
  stepId?: string;
  width: number;
  height: number;
  selected: boolean;
  onSelect?: (stepId: string) => void;
  mark?: NodeMark;
};

/** What the editor shows on a node: its problems, and how it did in the last test. */
export interface NodeMark {
  problems?: number;
  status?: string;
  pinned?: boolean;
}

/** The selection id of the trigger node, when the trigger is selectable. */
export const TRIGGER_SELECTION = ':trigger';
type WeftNode = Node<WeftNodeData, 'weft'>;

const KIND_ICON: Partial<Record<NodeKind, string>> = {
  trigger: '⚡',
  if: '◇',
  switch: '⑂',
  for_each: '↻',
  delay: '⏱',
  action: '→',
  transform: 'ƒ',
  call: '⤷',
  respond: '↩',
};

const WeftNodeView = memo(function WeftNodeView({ data }: NodeProps<WeftNode>) {
  const testId = data.stepId !== undefined && data.kind !== 'trigger' ? `node-${data.stepId}` : `flow-node-${data.kind}`;
  const mark = data.mark;
  return (
    <>
      <Handle type="target" position={Position.Top} id="in" isConnectable={false} />
      <Handle type="target" position={Position.Right} id="back-in" isConnectable={false} className="handle-hidden" />
      <div
        className={`flow-node kind-${data.kind}${data.selected ? ' selected' : ''}${mark?.problems ? ' has-problems' : ''}`}
        style={{ width: data.width, height: data.height }}
        data-testid={testId}
        title={data.detail ? `${data.label}\n${data.detail}` : data.label}
        {...(data.stepId !== undefined
          ? {
              role: 'button',
              tabIndex: 0,
              'aria-pressed': data.selected,
              onKeyDown: (e: KeyboardEvent) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  data.onSelect?.(data.stepId!);
                }
              },
            }
          : {})}
      >
        <div className="flow-node-label">
          {KIND_ICON[data.kind] && <span className="flow-node-icon">{KIND_ICON[data.kind]}</span>}
          {data.label}
        </div>
        {data.detail && <div className="flow-node-detail">{data.detail}</div>}
        {mark && (mark.problems || mark.status || mark.pinned) && (
          <div className="flow-node-marks">
            {mark.problems ? (
              <span className="node-problems" data-testid={`${testId}-problems`} title={`${mark.problems} problem${mark.problems === 1 ? '' : 's'}`}>
                ⚠ {mark.problems}
              </span>
            ) : null}
            {mark.pinned && mark.status !== 'pinned' && <span className="tag" title="Its output is pinned: a test does not call it">pinned</span>}
            {mark.status && (
              <span className={`pill pill-${mark.status}`} data-testid={`${testId}-status`}>
                {mark.status}
              </span>
            )}
          </div>
        )}
      </div>
      <Handle type="source" position={Position.Bottom} id="out" isConnectable={false} />
      <Handle type="source" position={Position.Right} id="back-out" isConnectable={false} className="handle-hidden" />
    </>
  );
});

const nodeTypes = { weft: WeftNodeView };

export default function FlowDiagram({
  def,
  selected,
  onSelect,
  marks,
  triggerSelectable = false,
}: {
  def: FlowDef;
  selected: string | null;
  onSelect: (stepId: string) => void;
  /** Per step id (and TRIGGER_SELECTION): what to show on its node. */
  marks?: Record<string, NodeMark>;
  /** Clicking the trigger node selects TRIGGER_SELECTION. */
  triggerSelectable?: boolean;
}) {
  const { nodes, edges } = useMemo(() => {
    const graph = flowToGraph(def);
    const pos = layoutGraph(graph);
    const nodes: WeftNode[] = graph.nodes.map((n) => {
      const p = pos.get(n.id)!;
      return {
        id: n.id,
        type: 'weft',
        position: { x: p.x, y: p.y },
        data: {
          label: n.label,
          detail: n.detail,
          kind: n.kind,
          stepId: n.stepId ?? (triggerSelectable && n.kind === 'trigger' ? TRIGGER_SELECTION : undefined),
          width: n.kind === 'end' ? 80 : NODE_WIDTH,
          height: nodeHeight(n),
          selected: false,
          onSelect,
          mark: marks?.[n.stepId ?? (n.kind === 'trigger' ? TRIGGER_SELECTION : '')],
        },
        draggable: false,
        connectable: false,
      };
    });
    const edges: Edge[] = graph.edges.map((e) => {
      const back = e.kind === 'loop_back';
      return {
        id: e.id,
        source: e.source,
        target: e.target,
        sourceHandle: back ? 'back-out' : 'out',
        targetHandle: back ? 'back-in' : 'in',
        label: e.label,
        type: back ? 'smoothstep' : 'default',
        className: `edge-${e.kind}`,
        style: e.dashed ? { strokeDasharray: '6 4' } : undefined,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        labelBgPadding: [4, 2] as [number, number],
        labelBgBorderRadius: 3,
        focusable: false,
        selectable: false,
      };
    });
    return { nodes, edges };
  }, [def, onSelect, marks, triggerSelectable]);

  const shown = useMemo(
    () => nodes.map((n) => (n.data.stepId !== undefined && n.data.stepId === selected ? { ...n, data: { ...n.data, selected: true } } : n)),
    [nodes, selected],
  );

  return (
    <div className="diagram" data-testid="flow-diagram">
      <ReactFlow<WeftNode>
        nodes={shown}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1.2 }}
        minZoom={0.2}
        nodesDraggable={false}
        nodesConnectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        elementsSelectable={false}
        onNodeClick={(_, node) => {
          if (node.data.stepId !== undefined) onSelect(node.data.stepId);
        }}
      >
        <Background gap={16} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
