// The YAML tab of the flow editor: a CodeMirror 6 editor with the flow schema's completion
// (keys, enumerated values, `{{ expression }}` paths) and weft's validation problems shown as
// diagnostics and as a clickable list under it.
//
// CSP: the server sends `style-src 'self'`. CodeMirror's themes go through style-mod, which
// would write a <style> element; cspStyles.ts routes them into a constructable stylesheet
// instead. The rest is in yaml.css. Nothing here needs inline <style> elements or eval.

import { useEffect, useMemo, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { acceptCompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { indentUnit } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Annotation, Compartment, EditorSelection, EditorState, Prec, type ChangeSpec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import type { JsonSchema, Problem } from './shared';
import { completionsAt, lineOf, problemMessage, problemRange } from './yamlSupport';
import './yaml.css';
import { installCspStyles } from './cspStyles';

installCspStyles();

export interface YamlEditorProps {
  value: string;
  onChange(text: string): void;
  problems: Problem[];
  schema: JsonSchema;
  /** The expression paths readable in the step with this id (null: outside steps). */
  expressionPaths?(stepId: string | null): string[];
  /** Default `yaml-editor`; the problem list is `${testId}-problems`. */
  testId?: string;
  readOnly?: boolean;
}

/** Marks the transactions that bring in a `value` from outside (no onChange for them). */
const external = Annotation.define<boolean>();

const INDENT = '  ';

/** Tab: two spaces at the cursor, or indents the selected lines. */
function indentMore(view: EditorView): boolean {
  const { state } = view;
  if (state.readOnly) return false;
  if (state.selection.ranges.every((r) => r.empty)) {
    view.dispatch(
      state.changeByRange((range) => {
        const line = state.doc.lineAt(range.head);
        const n = INDENT.length - ((range.head - line.from) % INDENT.length);
        return { changes: { from: range.head, insert: ' '.repeat(n) }, range: EditorSelection.cursor(range.head + n) };
      }),
      { scrollIntoView: true, userEvent: 'input.indent' },
    );
    return true;
  }
  return shiftLines(view, (line) => (line.length ? [{ from: line.from, insert: INDENT }] : []), 'input.indent');
}

/** Shift-Tab: removes up to two leading spaces from the lines of the selection. */
function indentLess(view: EditorView): boolean {
  if (view.state.readOnly) return false;
  return shiftLines(
    view,
    (line) => {
      const n = /^ {0,2}/.exec(line.text)![0].length;
      return n ? [{ from: line.from, to: line.from + n }] : [];
    },
    'delete.dedent',
  );
}

function shiftLines(view: EditorView, change: (line: { from: number; length: number; text: string }) => ChangeSpec[], userEvent: string): boolean {
  const { state } = view;
  const seen = new Set<number>();
  const changes: ChangeSpec[] = [];
  for (const r of state.selection.ranges) {
    const last = state.doc.lineAt(r.to > r.from && state.doc.lineAt(r.to).from === r.to ? r.to - 1 : r.to).number;
    for (let n = state.doc.lineAt(r.from).number; n <= last; n++) {
      if (seen.has(n)) continue;
      seen.add(n);
      changes.push(...change(state.doc.line(n)));
    }
  }
  if (changes.length) view.dispatch({ changes, scrollIntoView: true, userEvent });
  return true;
}

function diagnostics(text: string, problems: Problem[]): Diagnostic[] {
  return problems
    .map((p) => ({ ...problemRange(text, p), severity: 'error' as const, message: problemMessage(p) }))
    .sort((a, b) => a.from - b.from);
}

const theme = EditorView.theme({
  '&': { height: '100%' },
  '.cm-scroller': { fontFamily: 'var(--mono)', fontSize: '12px', lineHeight: '1.5' },
  '.cm-gutters': { backgroundColor: 'var(--bg)', borderRight: '1px solid var(--border)', color: 'var(--muted)' },
  '&.cm-focused': { outline: 'none' },
});

export function YamlEditor(props: YamlEditorProps) {
  const testId = props.testId ?? 'yaml-editor';
  const hostRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<EditorView | null>(null);
  // The latest props, for the editor's callbacks (the view is made once).
  const latest = useRef(props);
  latest.current = props;
  const readOnly = useRef(new Compartment());

  const applyDiagnostics = () => {
    const view = viewRef.current;
    if (!view) return;
    view.dispatch(setDiagnostics(view.state, diagnostics(view.state.doc.toString(), latest.current.problems)));
  };
  const apply = useRef(applyDiagnostics);
  apply.current = applyDiagnostics;

  useEffect(() => {
    const complete = (cx: CompletionContext): CompletionResult | null => {
      const { schema, expressionPaths } = latest.current;
      if (cx.state.readOnly) return null;
      return completionsAt(schema, cx.state.doc.toString(), cx.pos, { explicit: cx.explicit, expressionPaths });
    };
    let pending = false;
    const view = new EditorView({
      parent: hostRef.current!,
      state: EditorState.create({
        doc: latest.current.value,
        extensions: [
          basicSetup,
          yaml(),
          lintGutter(),
          indentUnit.of(INDENT),
          EditorState.tabSize.of(2),
          Prec.high(keymap.of([{ key: 'Tab', run: (v) => acceptCompletion(v) || indentMore(v), shift: indentLess }])),
          EditorState.languageData.of(() => [{ autocomplete: complete }]),
          readOnly.current.of(EditorState.readOnly.of(!!latest.current.readOnly)),
          theme,
          EditorView.updateListener.of((update) => {
            if (!update.docChanged) return;
            if (!update.transactions.some((tr) => tr.annotation(external))) latest.current.onChange(update.state.doc.toString());
            // The problems' places, recomputed against the new text (after this update is done).
            if (!pending) {
              pending = true;
              queueMicrotask(() => {
                pending = false;
                apply.current();
              });
            }
          }),
        ],
      }),
    });
    viewRef.current = view;
    return () => {
      viewRef.current = null;
      view.destroy();
    };
  }, []);

  // A value from outside (another tab, a reload): replace what differs, the selection mapped.
  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    const cur = view.state.doc.toString();
    const next = props.value;
    if (cur === next) return;
    let start = 0;
    while (start < cur.length && start < next.length && cur[start] === next[start]) start++;
    let endA = cur.length;
    let endB = next.length;
    while (endA > start && endB > start && cur[endA - 1] === next[endB - 1]) {
      endA--;
      endB--;
    }
    view.dispatch({ changes: { from: start, to: endA, insert: next.slice(start, endB) }, annotations: external.of(true) });
  }, [props.value]);

  useEffect(() => {
    apply.current();
  }, [props.problems, props.value]);

  useEffect(() => {
    viewRef.current?.dispatch({ effects: readOnly.current.reconfigure(EditorState.readOnly.of(!!props.readOnly)) });
  }, [props.readOnly]);

  const listed = useMemo(
    () => props.problems.map((p) => ({ problem: p, line: lineOf(props.value, problemRange(props.value, p).from) })),
    [props.problems, props.value],
  );

  const goTo = (p: Problem) => {
    const view = viewRef.current;
    if (!view) return;
    const { from } = problemRange(view.state.doc.toString(), p);
    view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    view.focus();
  };

  return (
    <div className="yaml-editor" data-testid={testId}>
      <div className="yaml-editor-code" ref={hostRef} />
      {listed.length > 0 && (
        <ul className="yaml-editor-problems" data-testid={`${testId}-problems`}>
          {listed.map(({ problem, line }, i) => (
            <li
              key={i}
              role="button"
              tabIndex={0}
              title={`Go to line ${line}`}
              onClick={() => goTo(problem)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  goTo(problem);
                }
              }}
            >
              <span className="yaml-editor-problem-line">line {line}</span>
              <span className="yaml-editor-problem-text">{problemMessage(problem)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
