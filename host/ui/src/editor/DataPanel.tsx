// The data panel: the trigger's and every earlier step's output from a sample (a recent run, a
// test run, or pasted JSON), as trees whose fields insert their expression when clicked or
// dragged into a field.

import { useState } from 'react';
import type { Json } from '../types';
import type { Sample, Scope } from './model';

const MAX_CHILDREN = 50;

function preview(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.length}]`;
  if (typeof value === 'object') return '{…}';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function Field({ path, name, value, onPick, depth }: { path: string; name: string; value: Json; onPick: (path: string) => void; depth: number }) {
  const [open, setOpen] = useState(depth < 2);
  const nested = value !== null && typeof value === 'object';
  const entries: [string | number, Json][] = nested ? (Array.isArray(value) ? value.map((v, i) => [i, v] as [number, Json]) : Object.entries(value)) : [];
  return (
    <li>
      <div className="data-row">
        {nested ? (
          <button type="button" className="data-toggle" onClick={() => setOpen(!open)} aria-label={open ? 'Collapse' : 'Expand'} aria-expanded={open}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="data-toggle" />
        )}
        <button
          type="button"
          className="data-key"
          draggable
          onDragStart={(e) => e.dataTransfer.setData('text/plain', `{{ ${path} }}`)}
          onMouseDown={(e) => e.preventDefault() /* keep the field's cursor */}
          onClick={() => onPick(path)}
          title={`Insert {{ ${path} }}`}
          data-testid={`data-${path}`}
        >
          {name}
        </button>
        <span className="data-value muted">{preview(value)}</span>
      </div>
      {nested && open && entries.length > 0 && (
        <ul className="data-tree">
          {entries.slice(0, MAX_CHILDREN).map(([key, v]) => (
            <Field key={String(key)} path={childPath(path, key)} name={typeof key === 'number' ? `[${key}]` : key} value={v} onPick={onPick} depth={depth + 1} />
          ))}
          {entries.length > MAX_CHILDREN && <li className="muted small">… {entries.length - MAX_CHILDREN} more</li>}
        </ul>
      )}
    </li>
  );
}

export function DataPanel({
  sample,
  scope,
  onPick,
  sources,
  onSource,
  onPaste,
  hint,
}: {
  sample: Sample | null;
  scope: Scope;
  /** A data path was clicked. */
  onPick: (path: string) => void;
  /** Where samples can come from (`latest run`, `latest test`…), the current one first. */
  sources: { key: string; label: string }[];
  onSource: (key: string) => void;
  /** A pasted trigger event. */
  onPaste: (event: Json) => void;
  hint?: string;
}) {
  const [pasting, setPasting] = useState(false);
  const [text, setText] = useState('{\n  \n}');
  const [error, setError] = useState<string | null>(null);
  const paste = () => {
    try {
      onPaste(JSON.parse(text) as Json);
      setPasting(false);
      setError(null);
    } catch (e) {
      setError(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return (
    <aside className="card data-panel" data-testid="data-panel" aria-label="Sample data">
      <header className="card-head">
        <h2>Data</h2>
        <select value="" onChange={(e) => (e.target.value === 'paste' ? setPasting(true) : onSource(e.target.value))} data-testid="sample-source" aria-label="Sample">
          <option value="">{sample ? sample.source : 'no sample'}</option>
          {sources.map((s) => (
            <option key={s.key} value={s.key}>
              {s.label}
            </option>
          ))}
          <option value="paste">Paste an event…</option>
        </select>
      </header>
      <div className="card-body">
        {pasting && (
          <div className="paste">
            <textarea className="code-input" rows={8} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} data-testid="sample-paste" aria-label="Sample event (JSON)" />
            {error && <p className="error-text small">{error}</p>}
            <div className="button-row">
              <button type="button" className="button small primary" onClick={paste} data-testid="sample-paste-use">
                Use as the trigger event
              </button>
              <button type="button" className="button small" onClick={() => setPasting(false)}>
                Cancel
              </button>
            </div>
          </div>
        )}
        <p className="muted small">{hint ?? 'Click a field to insert it where the cursor is, or drag it into a field.'}</p>
        {!sample && <p className="muted">No sample yet: run the flow, test it, or paste an event.</p>}
        {sample && (
          <ul className="data-tree root">
            <Field path="trigger" name="trigger" value={sample.trigger} onPick={onPick} depth={0} />
            {scope.steps
              .filter((id) => id in sample.outputs)
              .map((id) => (
                <Field key={id} path={`steps.${id}.output`} name={`steps.${id}.output`} value={sample.outputs[id]} onPick={onPick} depth={1} />
              ))}
            {scope.steps
              .filter((id) => id && !(id in sample.outputs))
              .map((id) => (
                <li key={id} className="muted small">
                  steps.{id}: no output in this sample
                </li>
              ))}
          </ul>
        )}
      </div>
    </aside>
  );
}
