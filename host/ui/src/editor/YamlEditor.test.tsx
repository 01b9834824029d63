// @vitest-environment jsdom
// The YAML tab's component, lightly (CodeMirror in jsdom cannot measure or type): it mounts with
// the value, takes new values from outside, reports edits, shows and places the problems.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { currentCompletions, startCompletion } from '@codemirror/autocomplete';
import { EditorView } from '@codemirror/view';
import { forEachDiagnostic } from '@codemirror/lint';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import flowSchema from '../../../../schema/flow.schema.json';
import type { JsonSchema, Problem } from './shared';
import { YamlEditor } from './YamlEditor';

const schema = flowSchema as unknown as JsonSchema;
const text = 'name: demo\ntrigger: manual\nsteps:\n  - id: a\n    transform: t\n';

beforeAll(() => {
  // jsdom has no layout; CodeMirror asks for rectangles when it scrolls the cursor into view.
  const rects = () => Object.assign([], { item: () => null }) as unknown as DOMRectList;
  const rect = () => ({ x: 0, y: 0, top: 0, left: 0, right: 0, bottom: 0, width: 0, height: 0, toJSON: () => ({}) }) as DOMRect;
  Range.prototype.getClientRects ??= rects;
  Range.prototype.getBoundingClientRect ??= rect;
});

afterEach(cleanup);

function view(testId = 'yaml-editor'): EditorView {
  const dom = screen.getByTestId(testId).querySelector('.cm-editor') as HTMLElement;
  const v = EditorView.findFromDOM(dom);
  if (!v) throw new Error('no editor');
  return v;
}

function diagnostics(v: EditorView) {
  const out: { from: number; to: number; message: string; severity: string }[] = [];
  forEachDiagnostic(v.state, (d, from, to) => out.push({ from, to, message: d.message, severity: d.severity }));
  return out;
}

describe('YamlEditor', () => {
  it('mounts with the value and its standard DOM', () => {
    render(<YamlEditor value={text} onChange={() => {}} problems={[]} schema={schema} />);
    const root = screen.getByTestId('yaml-editor');
    expect(root.querySelector('.cm-content')).not.toBeNull();
    expect(root.querySelector('.cm-lineNumbers')).not.toBeNull();
    expect(view().state.doc.toString()).toBe(text);
    expect(screen.queryByTestId('yaml-editor-problems')).toBeNull();
  });

  it('reports edits, and takes a new value from outside without echoing it', () => {
    const onChange = vi.fn();
    const { rerender } = render(<YamlEditor value={text} onChange={onChange} problems={[]} schema={schema} testId="yaml" />);
    const v = view('yaml');
    act(() => v.dispatch({ changes: { from: 6, to: 10, insert: 'other' }, selection: { anchor: 11 }, userEvent: 'input.type' }));
    expect(onChange).toHaveBeenLastCalledWith(text.replace('demo', 'other'));
    onChange.mockClear();
    rerender(<YamlEditor value={'name: x\n'} onChange={onChange} problems={[]} schema={schema} testId="yaml" />);
    expect(v.state.doc.toString()).toBe('name: x\n');
    expect(v.state.selection.main.head).toBeLessThanOrEqual(8);
    expect(onChange).not.toHaveBeenCalled();
  });

  it('shows the problems as diagnostics and as a list that moves the cursor', async () => {
    const problems: Problem[] = [
      { path: 'steps.a.transform', message: 'unknown transform' },
      { path: '', message: 'bad indentation', line: 2, column: 10 },
      { path: 'retention', message: 'cannot be placed' },
    ];
    render(<YamlEditor value={text} onChange={() => {}} problems={problems} schema={schema} />);
    const items = screen.getByTestId('yaml-editor-problems').querySelectorAll('li');
    expect([...items].map((li) => li.textContent)).toEqual(['line 5steps.a.transform: unknown transform', 'line 2bad indentation', 'line 1retention: cannot be placed']);
    const v = view();
    await act(async () => {});
    expect(diagnostics(v)).toEqual([
      { from: 0, to: 10, message: 'retention: cannot be placed', severity: 'error' },
      { from: 20, to: 26, message: 'bad indentation', severity: 'error' },
      { from: 48, to: 57, message: 'steps.a.transform: unknown transform', severity: 'error' },
    ]);
    fireEvent.click(items[0]);
    expect(v.state.selection.main.head).toBe(48);
  });

  it('places the problems again when the text changes', async () => {
    const problems: Problem[] = [{ path: 'steps.a.transform', message: 'unknown transform' }];
    const { rerender } = render(<YamlEditor value={text} onChange={() => {}} problems={problems} schema={schema} />);
    rerender(<YamlEditor value={`# a comment\n${text}`} onChange={() => {}} problems={problems} schema={schema} />);
    await act(async () => {});
    expect(diagnostics(view()).map((d) => d.from)).toEqual([60]);
    expect(screen.getByTestId('yaml-editor-problems').textContent).toContain('line 6');
  });

  it('can be read-only', () => {
    const { rerender } = render(<YamlEditor value={text} onChange={() => {}} problems={[]} schema={schema} readOnly />);
    expect(view().state.readOnly).toBe(true);
    rerender(<YamlEditor value={text} onChange={() => {}} problems={[]} schema={schema} />);
    expect(view().state.readOnly).toBe(false);
  });
});

describe('YamlEditor completion', () => {
  it('offers the schema’s keys and the expression paths through CodeMirror', async () => {
    const paths = vi.fn((id: string | null) => (id ? [`steps.${id}.output`] : ['trigger']));
    const doc = 'name: x\ntrigger:\n  polling:\n    \nsteps:\n  - id: a\n    input: "{{ "\n';
    render(<YamlEditor value={doc} onChange={() => {}} problems={[]} schema={schema} expressionPaths={paths} />);
    const v = view();
    const ask = async (pos: number) => {
      act(() => v.dispatch({ selection: { anchor: pos } }));
      act(() => void startCompletion(v));
      await vi.waitFor(() => expect(currentCompletions(v.state).length).toBeGreaterThan(0));
      return currentCompletions(v.state).map((c) => c.label);
    };
    expect(await ask(doc.indexOf('    \n') + 4)).toContain('connector');
    expect(await ask(doc.indexOf('{{ ') + 3)).toEqual(['steps.a.output']);
    expect(paths).toHaveBeenLastCalledWith('a');
  });
});
