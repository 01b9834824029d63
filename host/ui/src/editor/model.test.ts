import { describe, expect, it } from 'vitest';
import type { FlowDef } from '../types';
import { bare, findStep, freshId, inputField, insertStep, moveStep, pathsAt, placeProblems, removeStep, sampleFromRun, scopeAt, stepAt } from './model';

const flow: FlowDef = {
  name: 'f',
  trigger: 'manual',
  steps: [
    { id: 'clean', transform: 'clean-contact', input: '{{ trigger }}' },
    {
      id: 'check',
      if: 'true',
      then: [{ id: 'inner', transform: 'echo', input: {} }, { id: '', transform: 'echo' }],
      else: [],
    },
    { id: 'each', for_each: 'trigger.items', steps: [{ id: 'body', transform: 'echo' }] },
    { id: 'risky', action: 'http.request', connection: 'crm', input: { url: '/x' }, on_error: { branch: [{ id: 'handled', transform: 'echo' }] } },
    { id: 'last', transform: 'echo' },
  ],
};

describe('the step tree', () => {
  it('finds, inserts, moves and removes steps without touching the original', () => {
    expect(findStep(flow, 'inner')).toEqual({ list: ['steps', 1, 'then'], index: 0 });
    expect(findStep(flow, 'handled')).toEqual({ list: ['steps', 3, 'on_error', 'branch'], index: 0 });
    const added = insertStep(flow, ['steps', 1, 'else'], 0, { id: 'new', delay: '1m' });
    expect(stepAt(added, { list: ['steps', 1, 'else'], index: 0 })?.id).toBe('new');
    expect(flow.steps[1].else).toEqual([]);
    const moved = moveStep(flow, { list: ['steps'], index: 0 }, 1);
    expect(moved.steps.map((s) => s.id)).toEqual(['check', 'clean', 'each', 'risky', 'last']);
    expect(moveStep(flow, { list: ['steps'], index: 0 }, -1)).toBe(flow);
    const removed = removeStep(flow, { list: ['steps', 1, 'then'], index: 0 });
    expect(removed.steps[1].then?.map((s) => s.id)).toEqual(['']);
    expect(insertStep({ ...flow, steps: [{ id: 'x', if: 'true' }] }, ['steps', 0, 'then'], 0, { id: 'y', delay: '1s' }).steps[0].then).toEqual([{ id: 'y', delay: '1s' }]);
  });

  it('makes ids unique', () => {
    expect(freshId(flow, 'clean')).toBe('clean_2');
    expect(freshId(flow, 'Post Message!')).toBe('post_message');
  });
});

describe('what a step reads', () => {
  it('follows the validation: earlier steps, not loop bodies after the loop, not its holders', () => {
    expect(scopeAt(flow, 'clean').steps).toEqual([]);
    expect(scopeAt(flow, 'inner').steps).toEqual(['clean']);
    expect(scopeAt(flow, 'body')).toEqual({ steps: ['clean', 'inner', '', 'check'], inLoop: true });
    expect(scopeAt(flow, 'handled').steps).toEqual(['clean', 'inner', '', 'check', 'each', 'risky']);
    expect(scopeAt(flow, 'last').steps).toEqual(['clean', 'inner', '', 'check', 'each', 'risky', 'handled']);
  });

  it('offers paths with the sample shape', () => {
    const sample = { trigger: { email: 'a@b.c', tags: ['x'] }, outputs: { clean: { email: 'a@b.c' } }, source: 'pasted' };
    const paths = pathsAt(flow, 'inner', sample);
    expect(paths).toContain('trigger.email');
    expect(paths).toContain('trigger.tags[0]');
    expect(paths).toContain('steps.clean.output.email');
    expect(paths).not.toContain('item');
    expect(pathsAt(flow, 'body', sample)).toContain('item');
  });

  it('reads a sample from a run', () => {
    const sample = sampleFromRun(
      {
        run: { id: 'r', flow: 'f', status: 'succeeded', created_ms: 0, updated_ms: 0, trigger: { a: 1 } },
        steps: [
          { path: 'each[0].body', step_id: 'body', status: 'succeeded', output: 1, attempts: 1, started_ms: 0, seq: 1 },
          { path: 'each[1].body', step_id: 'body', status: 'succeeded', output: 2, attempts: 1, started_ms: 0, seq: 2 },
        ],
      },
      'run r',
    );
    expect(sample.outputs).toEqual({ body: 1 });
    expect(sample.trigger).toEqual({ a: 1 });
  });
});

describe('problems', () => {
  it('are placed on the step and field they name', () => {
    const placed = placeProblems(flow, [
      { path: 'steps.risky.input.url', message: 'bad' },
      { path: 'steps.check.then[1]', message: 'no kind' },
      { path: 'steps[4].transfrom', message: 'unknown field' },
      { path: 'trigger.config.collection', message: 'x' },
      { path: 'name', message: 'y' },
      { path: '', message: 'syntax', line: 3 },
    ]);
    expect(placed.map((p) => [p.target, p.field])).toEqual([
      ['risky', 'input.url'],
      ['check', 'then[1]'],
      ['last', 'transfrom'],
      ['trigger', 'config.collection'],
      [null, 'name'],
      [null, ''],
    ]);
    expect(inputField('input.url')).toBe('url');
    expect(inputField('input')).toBe('');
    expect(inputField('connection')).toBeNull();
    expect(bare('{{ steps.a.output }}')).toBe('steps.a.output');
  });
});

describe('the YAML tab', () => {
  it('prints the flow with its keys in the documented order, inputs as they were', async () => {
    const { flowToYaml } = await import('./yamlText');
    const text = flowToYaml({
      steps: [{ transform: 't', input: { z: 1, a: 2 }, id: 'a', then: undefined }],
      trigger: { polling: { interval: '1m', connection: 'c', trigger: 't', connector: 'x', config: {} } },
      name: 'f',
    } as unknown as FlowDef);
    expect(text).toBe('name: f\ntrigger:\n  polling:\n    connector: x\n    trigger: t\n    connection: c\n    config: {}\n    interval: 1m\nsteps:\n  - id: a\n    transform: t\n    input:\n      z: 1\n      a: 2\n');
  });
});
