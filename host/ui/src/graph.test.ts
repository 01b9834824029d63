import { describe, expect, it } from 'vitest';
import { END_ID, TRIGGER_ID, flowToGraph, layoutGraph, stepNodeId, stepPlugin, stepsById, type Graph } from './graph';
import type { FlowDef } from './types';

const edge = (g: Graph, source: string, target: string) =>
  g.edges.filter((e) => e.source === source && e.target === target);
const s = stepNodeId;

describe('flowToGraph', () => {
  it('chains a trigger, plain steps and an end', () => {
    const def: FlowDef = {
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'clean', transform: 'clean-contact' },
        { id: 'create', action: 'http.request', connection: 'crm' },
      ],
    };
    const g = flowToGraph(def);
    expect(g.nodes.map((n) => n.id)).toEqual([TRIGGER_ID, s('clean'), s('create'), END_ID]);
    expect(g.nodes.find((n) => n.id === s('create'))!.label).toBe('create · http.request');
    expect(g.nodes.find((n) => n.id === s('clean'))!.label).toBe('clean · clean-contact');
    expect(g.nodes[0].label).toBe('trigger · manual');
    expect(edge(g, TRIGGER_ID, s('clean'))).toHaveLength(1);
    expect(edge(g, s('clean'), s('create'))).toHaveLength(1);
    expect(edge(g, s('create'), END_ID)).toHaveLength(1);
    expect(g.edges).toHaveLength(3);
  });

  it('shows sub-flow calls and respond steps as their own kinds', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'sub', call: 'clean', input: { n: 1 } },
        { id: 'answer', respond: { status: 201 } },
      ],
    });
    expect(g.nodes.find((n) => n.id === s('sub'))).toMatchObject({ kind: 'call', label: 'sub · call', detail: 'clean' });
    expect(g.nodes.find((n) => n.id === s('answer'))).toMatchObject({ kind: 'respond', label: 'answer · respond', detail: 'status 201' });
    expect(edge(g, s('sub'), s('answer'))).toHaveLength(1);
  });

  it('labels the trigger from its definition', () => {
    const g = flowToGraph({ name: 'f', trigger: { schedule: { cron: '*/5 * * * *', timezone: 'Europe/Oslo' } }, steps: [] });
    expect(g.nodes[0]).toMatchObject({ label: 'trigger · schedule', detail: '*/5 * * * * (Europe/Oslo)' });
    const w = flowToGraph({ name: 'f', trigger: { webhook: { connector: 'github', trigger: 'issues', connection: 'gh' } }, steps: [] });
    expect(w.nodes[0]).toMatchObject({ label: 'trigger · webhook', detail: 'github.issues' });
    expect(edge(w, TRIGGER_ID, END_ID)).toHaveLength(1);
  });

  it('branches an if into then and else, rejoining at the next step', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'check', if: 'trigger.ok', then: [{ id: 'a', transform: 't' }, { id: 'b', transform: 't' }], else: [{ id: 'c', delay: '1m' }] },
        { id: 'after', transform: 't' },
      ],
    });
    const check = g.nodes.find((n) => n.id === s('check'))!;
    expect(check).toMatchObject({ kind: 'if', label: 'check · if', detail: 'trigger.ok' });
    expect(edge(g, s('check'), s('a'))[0].label).toBe('then');
    expect(edge(g, s('check'), s('c'))[0].label).toBe('else');
    expect(edge(g, s('a'), s('b'))).toHaveLength(1);
    expect(edge(g, s('b'), s('after'))).toHaveLength(1);
    expect(edge(g, s('c'), s('after'))).toHaveLength(1);
    expect(edge(g, s('check'), s('after'))).toHaveLength(0);
  });

  it('goes straight on from an if whose else is empty, with the else label', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [{ id: 'check', if: 'x', then: [{ id: 'a', transform: 't' }] }, { id: 'after', transform: 't' }],
    });
    const direct = edge(g, s('check'), s('after'));
    expect(direct).toHaveLength(1);
    expect(direct[0].label).toBe('else');
  });

  it('gives a switch an edge per case and a default', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'route', switch: 'trigger.kind', cases: { a: [{ id: 'x', transform: 't' }], b: [{ id: 'y', transform: 't' }] }, default: [{ id: 'z', transform: 't' }] },
        { id: 'after', transform: 't' },
      ],
    });
    expect(g.nodes.find((n) => n.id === s('route'))!.kind).toBe('switch');
    expect(edge(g, s('route'), s('x'))[0].label).toBe('a');
    expect(edge(g, s('route'), s('y'))[0].label).toBe('b');
    expect(edge(g, s('route'), s('z'))[0].label).toBe('default');
    for (const id of ['x', 'y', 'z']) expect(edge(g, s(id), s('after'))).toHaveLength(1);
  });

  it('passes an unmatched switch value straight on when there is no default', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [{ id: 'route', switch: 'v', cases: { a: [{ id: 'x', transform: 't' }] } }],
    });
    expect(edge(g, s('route'), END_ID)[0].label).toBe('default');
    expect(edge(g, s('x'), END_ID)).toHaveLength(1);
  });

  it('hangs a for_each body off an each item edge with a dashed back-edge, then done', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'each', for_each: 'trigger.items', concurrency: 4, steps: [{ id: 'one', transform: 't' }, { id: 'two', transform: 't' }] },
        { id: 'after', transform: 't' },
      ],
    });
    const loop = g.nodes.find((n) => n.id === s('each'))!;
    expect(loop).toMatchObject({ kind: 'for_each', detail: 'trigger.items (×4)' });
    expect(edge(g, s('each'), s('one'))[0]).toMatchObject({ label: 'each item', kind: 'loop_body', dashed: false });
    expect(edge(g, s('two'), s('each'))[0]).toMatchObject({ kind: 'loop_back', dashed: true });
    expect(edge(g, s('each'), s('after'))[0]).toMatchObject({ label: 'done', dashed: false });
    expect(edge(g, s('two'), s('after'))).toHaveLength(0);
  });

  it('draws delay and delay_until as delay nodes', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [{ id: 'wait', delay: '10m' }, { id: 'later', delay_until: '{{ trigger.due }}' }],
    });
    expect(g.nodes.find((n) => n.id === s('wait'))).toMatchObject({ kind: 'delay', label: 'wait · delay', detail: '10m' });
    expect(g.nodes.find((n) => n.id === s('later'))).toMatchObject({ kind: 'delay', label: 'later · delay_until', detail: '{{ trigger.due }}' });
  });

  it('draws an on_error branch as a dashed edge whose steps rejoin the next step', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'create', action: 'http.request', connection: 'crm', on_error: { branch: [{ id: 'notify', action: 'slack.post_message', connection: 's' }] } },
        { id: 'after', transform: 't' },
      ],
    });
    expect(edge(g, s('create'), s('notify'))[0]).toMatchObject({ label: 'on error', kind: 'on_error', dashed: true });
    expect(edge(g, s('create'), s('after'))[0]).toMatchObject({ dashed: false, label: undefined });
    expect(edge(g, s('notify'), s('after'))).toHaveLength(1);
    // on_error: continue is no branch
    const c = flowToGraph({ name: 'f', trigger: 'manual', steps: [{ id: 'a', transform: 't', on_error: 'continue' }] });
    expect(c.edges.every((e) => e.kind === 'next')).toBe(true);
  });

  it('nests control steps and keeps edge ids unique', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'check', if: 'x' }, // both branches empty: two edges to the same next node
        {
          id: 'each',
          for_each: 'xs',
          steps: [{ id: 'inner', if: 'item.ok', then: [{ id: 'yes', transform: 't' }] }],
        },
      ],
    });
    const ids = g.edges.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(edge(g, s('check'), s('each')).map((e) => e.label).sort()).toEqual(['else', 'then']);
    // the inner if's two ends both loop back
    expect(edge(g, s('yes'), s('each'))[0].kind).toBe('loop_back');
    expect(edge(g, s('inner'), s('each'))[0].kind).toBe('loop_back');
  });
});

describe('layoutGraph', () => {
  it('lays the nodes out top to bottom', () => {
    const g = flowToGraph({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'check', if: 'x', then: [{ id: 'a', transform: 't' }], else: [{ id: 'b', transform: 't' }] },
        { id: 'each', for_each: 'xs', steps: [{ id: 'one', transform: 't' }] },
      ],
    });
    const pos = layoutGraph(g);
    expect(pos.size).toBe(g.nodes.length);
    const y = (id: string) => pos.get(id)!.y;
    expect(y(TRIGGER_ID)).toBeLessThan(y(s('check')));
    expect(y(s('check'))).toBeLessThan(y(s('a')));
    expect(y(s('a'))).toBe(y(s('b')));
    expect(pos.get(s('a'))!.x).not.toBe(pos.get(s('b'))!.x);
    expect(y(s('a'))).toBeLessThan(y(s('each')));
    expect(y(s('each'))).toBeLessThan(y(s('one')));
    expect(y(s('each'))).toBeLessThan(y(END_ID));
  });
});

describe('stepsById and stepPlugin', () => {
  it('finds nested steps', () => {
    const byId = stepsById({
      name: 'f',
      trigger: 'manual',
      steps: [
        { id: 'a', if: 'x', then: [{ id: 'b', transform: 't' }], else: [{ id: 'c', transform: 't' }] },
        { id: 'd', switch: 'x', cases: { k: [{ id: 'e', transform: 't' }] }, default: [{ id: 'f', transform: 't' }] },
        { id: 'g', for_each: 'x', steps: [{ id: 'h', transform: 't', on_error: { branch: [{ id: 'i', transform: 't' }] } }] },
      ],
    });
    expect([...byId.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  });

  it('names the plugin as the run keys it', () => {
    expect(stepPlugin({ id: 'x', action: 'http.request' })).toEqual({ key: 'http', name: 'http', action: 'request' });
    expect(stepPlugin({ id: 'x', action: 'http@1.2.0.request' })).toEqual({ key: 'http@1.2.0', name: 'http', action: 'request' });
    expect(stepPlugin({ id: 'x', transform: 'clean-contact' })).toEqual({ key: 'clean-contact', name: 'clean-contact' });
    expect(stepPlugin({ id: 'x', transform: 'clean@abc123' })).toEqual({ key: 'clean@abc123', name: 'clean' });
    expect(stepPlugin({ id: 'x', delay: '1m' })).toBeNull();
  });
});
