// A flow definition as a diagram: nodes and edges (flowToGraph), and their positions, top to
// bottom, by dagre (layoutGraph). Pure: the React Flow component only draws the result.

import dagre from '@dagrejs/dagre';
import type { FlowDef, StepDef, TriggerDef } from './types';

export type NodeKind = 'trigger' | 'action' | 'transform' | 'call' | 'respond' | 'if' | 'switch' | 'for_each' | 'delay' | 'end' | 'unknown';

export interface GraphNode {
  /** `step:<id>` for steps (ids are unique within a flow), `trigger`, `end`. */
  id: string;
  kind: NodeKind;
  /** e.g. `create · http.request`. */
  label: string;
  /** A second line: the condition, the list, the delay… */
  detail?: string;
  /** The step's id; absent for the trigger and end nodes. */
  stepId?: string;
}

export type EdgeKind = 'next' | 'branch' | 'loop_body' | 'loop_back' | 'on_error';

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label?: string;
  kind: EdgeKind;
  dashed: boolean;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const TRIGGER_ID = 'trigger';
export const END_ID = 'end';
export const stepNodeId = (stepId: string) => `step:${stepId}`;

/** An open end of the graph: the next node built is joined to it. */
interface Exit {
  from: string;
  label?: string;
  kind: EdgeKind;
  dashed: boolean;
}

/** The kind of step a definition is (exactly one key decides). */
export function stepKind(step: StepDef): NodeKind {
  if (step.action !== undefined) return 'action';
  if (step.transform !== undefined) return 'transform';
  if (step.call !== undefined) return 'call';
  if (step.respond !== undefined) return 'respond';
  if (step.if !== undefined) return 'if';
  if (step.switch !== undefined) return 'switch';
  if (step.for_each !== undefined) return 'for_each';
  if (step.delay !== undefined || step.delay_until !== undefined) return 'delay';
  return 'unknown';
}

function stepLabel(step: StepDef): { label: string; detail?: string } {
  switch (stepKind(step)) {
    case 'action':
      return { label: `${step.id} · ${step.action}`, detail: step.connection ? `connection ${step.connection}` : undefined };
    case 'transform':
      return { label: `${step.id} · ${step.transform}` };
    case 'call':
      return { label: `${step.id} · call`, detail: step.call };
    case 'respond':
      return { label: `${step.id} · respond`, detail: `status ${typeof step.respond?.status === 'string' || typeof step.respond?.status === 'number' ? step.respond.status : 200}` };
    case 'if':
      return { label: `${step.id} · if`, detail: step.if };
    case 'switch':
      return { label: `${step.id} · switch`, detail: step.switch };
    case 'for_each':
      return {
        label: `${step.id} · for_each`,
        detail: step.concurrency && step.concurrency > 1 ? `${step.for_each} (×${step.concurrency})` : step.for_each,
      };
    case 'delay':
      return step.delay !== undefined
        ? { label: `${step.id} · delay`, detail: step.delay }
        : { label: `${step.id} · delay_until`, detail: step.delay_until };
    default:
      return { label: step.id };
  }
}

export function triggerLabel(trigger: TriggerDef): { label: string; detail?: string } {
  if (trigger === 'manual' || typeof trigger !== 'object' || trigger === null) return { label: 'trigger · manual' };
  if ('webhook' in trigger) return { label: 'trigger · webhook', detail: `${trigger.webhook.connector}.${trigger.webhook.trigger}` };
  if ('polling' in trigger) {
    const p = trigger.polling;
    return { label: 'trigger · polling', detail: `${p.connector}.${p.trigger}${p.interval ? ` every ${p.interval}` : ''}` };
  }
  if ('schedule' in trigger) {
    const s = trigger.schedule;
    return { label: 'trigger · schedule', detail: `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` };
  }
  return { label: 'trigger' };
}

export function flowToGraph(def: FlowDef): Graph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const seen = new Map<string, number>();

  const connect = (exit: Exit, target: string) => {
    const base = `${exit.from}->${target}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    edges.push({
      id: n === 0 ? base : `${base}#${n}`,
      source: exit.from,
      target,
      label: exit.label,
      kind: exit.kind,
      dashed: exit.dashed,
    });
  };

  /** Builds `steps` after `entries`; returns the open ends after the last step. */
  const build = (steps: StepDef[], entries: Exit[]): Exit[] => {
    let open = entries;
    for (const step of steps) {
      const id = stepNodeId(step.id);
      const kind = stepKind(step);
      nodes.push({ id, kind, stepId: step.id, ...stepLabel(step) });
      for (const e of open) connect(e, id);
      const next: Exit = { from: id, kind: 'next', dashed: false };
      switch (kind) {
        case 'if': {
          const branch = (label: string, body: StepDef[] | undefined) =>
            build(body ?? [], [{ from: id, label, kind: 'branch', dashed: false }]);
          open = [...branch('then', step.then), ...branch('else', step.else)];
          break;
        }
        case 'switch': {
          const exits: Exit[] = [];
          for (const [key, body] of Object.entries(step.cases ?? {})) {
            exits.push(...build(body, [{ from: id, label: key, kind: 'branch', dashed: false }]));
          }
          // With no default, an unmatched value goes straight on.
          exits.push(...build(step.default ?? [], [{ from: id, label: 'default', kind: 'branch', dashed: false }]));
          open = exits;
          break;
        }
        case 'for_each': {
          const body = step.steps ?? [];
          const bodyExits = build(body, [{ from: id, label: 'each item', kind: 'loop_body', dashed: false }]);
          if (body.length > 0) {
            for (const e of bodyExits) connect({ from: e.from, kind: 'loop_back', dashed: true, label: e.label }, id);
          }
          open = [{ from: id, label: 'done', kind: 'next', dashed: false }];
          break;
        }
        default: {
          open = [next];
          const onError = step.on_error;
          if (onError && typeof onError === 'object' && 'branch' in onError && Array.isArray(onError.branch)) {
            // The branch runs, then the run goes on: its ends rejoin at the next step.
            open.push(...build(onError.branch, [{ from: id, label: 'on error', kind: 'on_error', dashed: true }]));
          }
        }
      }
    }
    return open;
  };

  nodes.push({ id: TRIGGER_ID, kind: 'trigger', ...triggerLabel(def.trigger) });
  const ends = build(def.steps ?? [], [{ from: TRIGGER_ID, kind: 'next', dashed: false }]);
  nodes.push({ id: END_ID, kind: 'end', label: 'end' });
  for (const e of ends) connect(e, END_ID);
  return { nodes, edges };
}

export interface Positioned {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const NODE_WIDTH = 220;
export function nodeHeight(node: GraphNode): number {
  if (node.kind === 'end') return 32;
  return node.detail ? 54 : 38;
}

/**
 * Positions of the nodes (top-left corners), top to bottom. Loop back-edges are left out of the
 * layout so they do not turn the ranking upside down.
 */
export function layoutGraph(graph: Graph): Map<string, Positioned> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 36, ranksep: 48, edgesep: 16, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    g.setNode(n.id, { width: n.kind === 'end' ? 80 : NODE_WIDTH, height: nodeHeight(n) });
  }
  for (const e of graph.edges) {
    if (e.kind === 'loop_back') continue;
    // Labelled edges get room for their label.
    g.setEdge(e.source, e.target, e.label ? { width: e.label.length * 7, height: 14, labelpos: 'c' } : {}, e.id);
  }
  dagre.layout(g);
  const out = new Map<string, Positioned>();
  for (const n of graph.nodes) {
    const p = g.node(n.id) as { x: number; y: number; width: number; height: number };
    out.set(n.id, { x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height });
  }
  return out;
}

/** Every step definition by id (ids are unique within a flow), nested ones included. */
export function stepsById(def: FlowDef | undefined): Map<string, StepDef> {
  const out = new Map<string, StepDef>();
  const walk = (steps: StepDef[] | undefined) => {
    for (const s of steps ?? []) {
      out.set(s.id, s);
      walk(s.then);
      walk(s.else);
      for (const body of Object.values(s.cases ?? {})) walk(body);
      walk(s.default);
      walk(s.steps);
      if (s.on_error && typeof s.on_error === 'object' && 'branch' in s.on_error) walk(s.on_error.branch);
    }
  };
  walk(def?.steps);
  return out;
}

/**
 * The plugin a step names, as the run's `plugins` map keys it (`http`, `http@1.2.0`,
 * `clean-contact`, `clean-contact@<hash>`), and the action when it is one.
 */
export function stepPlugin(step: StepDef | undefined): { key: string; name: string; action?: string } | null {
  if (!step) return null;
  if (step.transform) {
    const at = step.transform.indexOf('@');
    return { key: step.transform, name: at < 0 ? step.transform : step.transform.slice(0, at) };
  }
  if (step.action) {
    const a = step.action;
    const at = a.indexOf('@');
    if (at < 0) {
      const dot = a.indexOf('.');
      if (dot < 0) return { key: a, name: a };
      return { key: a.slice(0, dot), name: a.slice(0, dot), action: a.slice(dot + 1) };
    }
    // connector@version.action: the version may hold dots, the action does not.
    const dot = a.lastIndexOf('.');
    if (dot < at) return { key: a, name: a.slice(0, at) };
    return { key: a.slice(0, dot), name: a.slice(0, at), action: a.slice(dot + 1) };
  }
  return null;
}
