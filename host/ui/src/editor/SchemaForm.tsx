// The form for a step's input, driven by its action's JSON Schema, recursively: a typed control per
// declared field, and everywhere a way to put an expression string (`{{ … }}`) in place of the
// type. Nothing is validated or coerced here (problems come from the server, as props), and
// nothing in the value is lost: keys the schema does not declare stay as "extra" rows, and an
// untouched value round-trips unchanged (rendering never calls onChange; an optional field the
// user never set stays absent).

import { useCallback, useEffect, useLayoutEffect, useRef, useState, type DragEvent, type ReactNode } from 'react';
import type { Json } from '../types';
import { ExprInput } from './ExprInput';
import './form.css';
import {
  allowsExtra,
  asObjectSchema,
  childPath,
  emptyValue,
  extraSchema,
  fieldMode,
  fromExpression,
  hasProblemInside,
  insertAt,
  insideJsonString,
  isPlainObject,
  itemPath,
  itemSchema,
  jsonEqual,
  problemAt,
  properties,
  requiredNames,
  schemaKind,
  setKey,
  shownPaths,
  strayProblems,
  swap,
  typeLabel,
  type SchemaObject,
} from './schemaForm';
import type { InsertTarget, JsonSchema, Preview } from './shared';

export interface SchemaFormProps {
  /** The input's JSON Schema; undefined (a transform) edits any JSON. */
  schema: JsonSchema | undefined;
  /** The input; undefined when nothing is set (the first edit of an object form creates `{}`). */
  value: Json | undefined;
  onChange(v: Json | undefined): void;
  /** The data paths expression fields complete. */
  paths: string[];
  /** Problems by field path relative to the input (`url`, `body.email`, `items[0]`; `""` the input itself). */
  problems?: Record<string, string>;
  onFocusTarget?(insert: InsertTarget | null): void;
  preview?(text: string): Promise<Preview>;
  /** Prefix of every data-testid (default `input`). */
  testId?: string;
}

/** What every field needs from the form. */
interface Ctx {
  testId: string;
  paths: string[];
  problems: Record<string, string>;
  /** The fields the user switched to an expression (a non-string value switches by itself). */
  fx: ReadonlySet<string>;
  setFx(path: string, on: boolean): void;
  onFocusTarget?(insert: InsertTarget | null): void;
  preview?(text: string): Promise<Preview>;
}

/** The data-testid of a field's editable control (or group); the root's is `${testId}-root`. */
function controlId(ctx: Ctx, path: string): string {
  return path === '' ? `${ctx.testId}-root` : `${ctx.testId}-field-${path}`;
}

/** The data-testid of a field's tool (`fx`, `remove`, `add`…); the root is named `root`. */
function toolId(ctx: Ctx, tool: string, path: string): string {
  return `${ctx.testId}-${tool}-${path === '' ? 'root' : path}`;
}

function nonEmpty(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Order-sensitive equality: a reordering the user typed is a change. */
function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b));
}

export function SchemaForm({ schema, value, onChange, paths, problems = {}, onFocusTarget, preview, testId = 'input' }: SchemaFormProps) {
  const root = asObjectSchema(schema);
  const [fx, setFxPaths] = useState<ReadonlySet<string>>(() => new Set());
  const ctx: Ctx = {
    testId,
    paths,
    problems,
    fx,
    onFocusTarget,
    preview,
    setFx: (path, on) =>
      setFxPaths((prev) => {
        if (prev.has(path) === on) return prev;
        const next = new Set(prev);
        if (on) next.add(path);
        else next.delete(path);
        return next;
      }),
  };
  // Problems no field shows (the input's own, paths inside JSON or expressions) are listed on top.
  const stray = strayProblems(problems, shownPaths(root, value, fx));
  return (
    <div className="schema-form" data-testid={testId}>
      {stray.length > 0 && (
        <ul className="sf-problems" data-testid={`${testId}-problems`}>
          {stray.map(([path, message]) => (
            <li key={path} className="error-text small">
              {path !== '' && <code className="sf-problem-path">{path}</code>}
              {message}
            </li>
          ))}
        </ul>
      )}
      <Field ctx={ctx} path="" schema={root} value={value} onChange={onChange} />
    </div>
  );
}

interface FieldProps {
  ctx: Ctx;
  path: string;
  /** A property name, `[0]` for an item; none for the root. */
  label?: string;
  schema: SchemaObject | undefined;
  value: Json | undefined;
  onChange(v: Json | undefined): void;
  /** Marked with a red `*`. */
  required?: boolean;
  /** Clearing the text leaves `""` (required fields, items, extra keys) instead of removing the key. */
  keepEmpty?: boolean;
  /** A tag after the label (`extra`). */
  tag?: string;
  /** The row's buttons (remove, move). */
  tools?: ReactNode;
}

/** One field: its label row, its control (by schema kind and mode), its problem. */
function Field({ ctx, path, label, schema, value, onChange, required = false, keepEmpty = false, tag, tools }: FieldProps) {
  const kind = schemaKind(schema);
  const mode = fieldMode(kind, schema, value, ctx.fx.has(path));
  const problem = path === '' ? undefined : problemAt(ctx.problems, path);
  const invalid = problem !== undefined;
  const id = controlId(ctx, path);
  const name = label ?? 'input';
  const hint = nonEmpty(schema?.description) ?? nonEmpty(schema?.title);
  const fallback = schema?.default === undefined ? undefined : typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default);
  const group = mode === 'typed' && (kind === 'object' || kind === 'array');
  const [collapsed, setCollapsed] = useState(false);
  const forcedOpen = group && hasProblemInside(ctx.problems, path);
  const open = !collapsed || forcedOpen;

  const latest = useRef(onChange);
  useLayoutEffect(() => {
    latest.current = onChange;
  });

  const setText = (t: string) => onChange(t === '' && !keepEmpty ? undefined : t);

  const toggleFx = () => {
    if (mode === 'expr') {
      // back to the typed control: an expression that does not fit is cleared
      ctx.setFx(path, false);
      if (typeof value === 'string') {
        const back = fromExpression(kind, schema, value);
        if (back !== value) onChange(back);
      }
    } else {
      // the current value stays visible, as JSON text, and toggling back restores it
      ctx.setFx(path, true);
      if (value !== undefined && typeof value !== 'string') onChange(JSON.stringify(value));
    }
  };

  // A typed control takes a data path from the panel (a click while it is the focused field, or a
  // drop) as an expression replacing its value.
  const takeExpression = (t: string) => {
    ctx.setFx(path, true);
    latest.current(t);
  };
  const leafEvents = {
    onFocus: () => ctx.onFocusTarget?.(takeExpression),
    onDragOver: (e: DragEvent) => {
      if (Array.from(e.dataTransfer.types).includes('text/plain')) e.preventDefault();
    },
    onDrop: (e: DragEvent) => {
      const dropped = e.dataTransfer.getData('text/plain');
      if (!dropped.includes('{{')) return;
      e.preventDefault();
      takeExpression(dropped);
    },
  };

  const expression = (placeholder?: string) => (
    <ExprInput
      value={typeof value === 'string' ? value : ''}
      onChange={setText}
      paths={ctx.paths}
      placeholder={placeholder}
      testId={id}
      invalid={invalid}
      onFocusTarget={ctx.onFocusTarget}
      preview={ctx.preview}
      ariaLabel={name}
    />
  );

  const typed = (): ReactNode => {
    const cls = invalid ? 'invalid' : undefined;
    switch (kind) {
      case 'string':
        return expression(fallback);
      case 'number':
      case 'integer':
        return (
          <input
            type="number"
            className={cls}
            step={kind === 'integer' ? 1 : 'any'}
            value={typeof value === 'number' ? value : ''}
            placeholder={fallback}
            aria-label={name}
            aria-invalid={invalid || undefined}
            data-testid={id}
            onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
            {...leafEvents}
          />
        );
      case 'boolean':
        // an unset optional boolean shows unchecked and stays absent until clicked
        return (
          <span className="sf-check">
            <label className="check-label">
              <input
                type="checkbox"
                className={cls}
                checked={value === true}
                aria-label={name}
                aria-invalid={invalid || undefined}
                data-testid={id}
                onChange={(e) => onChange(e.target.checked)}
                {...leafEvents}
              />
              {value === undefined ? <span className="muted">not set{fallback !== undefined && ` (default ${fallback})`}</span> : String(value)}
            </label>
            {!required && value !== undefined && (
              <button type="button" className="link-button small" title="Remove the value" data-testid={toolId(ctx, 'unset', path)} onClick={() => onChange(undefined)}>
                unset
              </button>
            )}
          </span>
        );
      case 'enum': {
        const options = Array.isArray(schema?.enum) ? schema.enum : [];
        const index = value === undefined ? -1 : options.findIndex((o) => jsonEqual(o, value));
        return (
          <select
            className={cls}
            value={index < 0 ? '' : String(index)}
            aria-label={name}
            aria-invalid={invalid || undefined}
            data-testid={id}
            onChange={(e) => onChange(e.target.value === '' ? undefined : options[Number(e.target.value)])}
            {...leafEvents}
          >
            {(!required || index < 0) && (
              <option value="" disabled={required}>
                {required ? 'choose…' : fallback !== undefined ? `(default: ${fallback})` : ''}
              </option>
            )}
            {options.map((o, i) => (
              <option key={i} value={String(i)}>
                {typeof o === 'string' ? o : JSON.stringify(o)}
              </option>
            ))}
          </select>
        );
      }
      case 'object':
        return <ObjectRows ctx={ctx} path={path} schema={schema} value={value} onChange={onChange} />;
      case 'array':
        return <ArrayItems ctx={ctx} path={path} schema={schema} value={value} onChange={onChange} />;
      default:
        return null;
    }
  };

  const control =
    mode === 'expr' ? (
      expression('{{ expression }}')
    ) : mode === 'generic' ? (
      <JsonField ctx={ctx} path={path} schema={schema} value={value} onChange={onChange} keepEmpty={keepEmpty} invalid={invalid} label={name} />
    ) : (
      typed()
    );

  const canFx = kind !== 'string' && kind !== 'generic';
  const fxButton = canFx && (
    <button
      type="button"
      className={`button small sf-fx${mode === 'expr' ? ' on' : ''}`}
      aria-label="Use an expression"
      aria-pressed={mode === 'expr'}
      title={mode === 'expr' ? 'Back to the typed control' : 'Use an expression'}
      data-testid={toolId(ctx, 'fx', path)}
      onClick={toggleFx}
    >
      {'{{ }}'}
    </button>
  );

  if (path === '') {
    return (
      <div className="sf-root">
        {(fxButton || hint) && (
          <div className="sf-root-tools">
            {hint && <span className="muted small">{hint}</span>}
            <span className="sf-tools">{fxButton}</span>
          </div>
        )}
        {control}
      </div>
    );
  }

  const type = typeLabel(schema);
  const size = Array.isArray(value) ? `${value.length} items` : isPlainObject(value) ? `${Object.keys(value).length} keys` : 'empty';
  return (
    <div className={`sf-field${invalid ? ' invalid' : ''}`}>
      <div className="sf-label">
        {group && (
          <button
            type="button"
            className="sf-collapse"
            aria-expanded={open}
            aria-label={open ? `Collapse ${name}` : `Expand ${name}`}
            disabled={forcedOpen}
            onClick={() => setCollapsed(!collapsed)}
          >
            {open ? '▾' : '▸'}
          </button>
        )}
        <span className="sf-name">{label}</span>
        {required && (
          <span className="req" title="required">
            *
          </span>
        )}
        {type && <span className="sf-type">{type}</span>}
        {tag && <span className="tag">{tag}</span>}
        <span className="sf-tools">
          {fxButton}
          {tools}
        </span>
      </div>
      {hint && <div className="muted small sf-hint">{hint}</div>}
      {open ? control : <div className="muted small">{size}</div>}
      {problem !== undefined && (
        <div className="error-text small" data-testid={`${ctx.testId}-problem-${path}`}>
          {problem}
        </div>
      )}
    </div>
  );
}

interface GroupProps {
  ctx: Ctx;
  path: string;
  schema: SchemaObject | undefined;
  value: Json | undefined;
  onChange(v: Json | undefined): void;
}

/** An object's rows: the declared properties in schema order, then the value's other keys. */
function ObjectRows({ ctx, path, schema, value, onChange }: GroupProps) {
  const obj = isPlainObject(value) ? value : undefined;
  const props = properties(schema);
  const required = requiredNames(schema);
  const known = new Set(props.map(([k]) => k));
  const extras = obj ? Object.keys(obj).filter((k) => !known.has(k)) : [];
  const extraSch = extraSchema(schema);
  const has = (k: string) => obj !== undefined && Object.hasOwn(obj, k);

  const set = (k: string) => (v: Json | undefined) => {
    if (v === undefined && !has(k)) return;
    onChange(setKey(obj, k, v));
  };

  return (
    <div className="sf-group" data-testid={controlId(ctx, path)}>
      {props.map(([k, s]) => (
        <Field
          key={`p:${k}`}
          ctx={ctx}
          path={childPath(path, k)}
          label={k}
          schema={s}
          value={has(k) ? obj![k] : undefined}
          onChange={set(k)}
          required={required.has(k)}
          keepEmpty={required.has(k)}
        />
      ))}
      {extras.map((k) => (
        <Field
          key={`x:${k}`}
          ctx={ctx}
          path={childPath(path, k)}
          label={k}
          schema={extraSch}
          value={obj![k]}
          onChange={set(k)}
          keepEmpty
          tag={extraSch ? undefined : 'extra'}
          tools={
            <button type="button" className="button small" aria-label={`Remove ${k}`} title="Remove" data-testid={toolId(ctx, 'remove', childPath(path, k))} onClick={() => set(k)(undefined)}>
              ×
            </button>
          }
        />
      ))}
      {allowsExtra(schema) && (
        <AddKey
          ctx={ctx}
          path={path}
          taken={(k) => (known.has(k) ? 'a field above has this name' : has(k) ? 'already set' : undefined)}
          onAdd={(k) => onChange(setKey(obj, k, emptyValue(schemaKind(extraSch), extraSch)))}
        />
      )}
    </div>
  );
}

/** A name input and button adding a key to an object. */
function AddKey({ ctx, path, taken, onAdd }: { ctx: Ctx; path: string; taken(name: string): string | undefined; onAdd(name: string): void }) {
  const [name, setName] = useState('');
  const clash = name === '' ? undefined : taken(name);
  const add = () => {
    if (name === '' || clash) return;
    onAdd(name);
    setName('');
  };
  return (
    <div className="sf-add-key">
      <input
        type="text"
        value={name}
        placeholder="field name"
        aria-label="New field name"
        data-testid={toolId(ctx, 'newkey', path)}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            add();
          }
        }}
      />
      <button type="button" className="button small" disabled={name === '' || clash !== undefined} data-testid={toolId(ctx, 'addkey', path)} onClick={add}>
        Add field
      </button>
      {clash && <span className="error-text small">{clash}</span>}
    </div>
  );
}

/** An array's items, each with move and remove buttons, and an "Add item" button. */
function ArrayItems({ ctx, path, schema, value, onChange }: GroupProps) {
  const list = Array.isArray(value) ? value : [];
  const items = itemSchema(schema);
  // an item is never absent: a cleared one is null
  const set = (i: number) => (v: Json | undefined) => onChange(list.map((x, j) => (j === i ? (v ?? null) : x)));
  return (
    <div className="sf-group" data-testid={controlId(ctx, path)}>
      {list.length === 0 && <div className="muted small">no items</div>}
      {list.map((item, i) => {
        const p = itemPath(path, i);
        return (
          <Field
            key={i}
            ctx={ctx}
            path={p}
            label={`[${i}]`}
            schema={items}
            value={item}
            onChange={set(i)}
            keepEmpty
            tools={
              <>
                <button type="button" className="button small" aria-label="Move up" title="Move up" disabled={i === 0} data-testid={toolId(ctx, 'up', p)} onClick={() => onChange(swap(list, i, i - 1))}>
                  ↑
                </button>
                <button type="button" className="button small" aria-label="Move down" title="Move down" disabled={i === list.length - 1} data-testid={toolId(ctx, 'down', p)} onClick={() => onChange(swap(list, i, i + 1))}>
                  ↓
                </button>
                <button type="button" className="button small" aria-label="Remove item" title="Remove" data-testid={toolId(ctx, 'remove', p)} onClick={() => onChange(list.filter((_, j) => j !== i))}>
                  ×
                </button>
              </>
            }
          />
        );
      })}
      <div>
        <button type="button" className="button small" data-testid={toolId(ctx, 'add', path)} onClick={() => onChange([...list, emptyValue(schemaKind(items), items)])}>
          Add item
        </button>
      </div>
    </div>
  );
}

interface JsonFieldProps {
  ctx: Ctx;
  path: string;
  schema: SchemaObject | undefined;
  value: Json | undefined;
  onChange(v: Json | undefined): void;
  keepEmpty: boolean;
  invalid: boolean;
  label: string;
}

/** Text typed in the JSON editor: what it parsed to (`base`), or why it does not parse. */
interface Draft {
  text: string;
  base: Json | undefined;
  error?: string;
}

/**
 * Any JSON value: a string in an ExprInput ("expression"), anything else as JSON text parsed on
 * every change ("JSON"); while the text does not parse it stays, with the parser's message, and
 * the value does not change.
 */
function JsonField({ ctx, path, schema, value, onChange, keepEmpty, invalid, label }: JsonFieldProps) {
  const prefersJson = typeof schema?.type === 'string' && schema.type !== 'string';
  const [override, setOverride] = useState<'expr' | 'json' | null>(null);
  const mode = typeof value === 'string' ? (override === 'json' ? 'json' : 'expr') : value === undefined ? (override ?? (prefersJson ? 'json' : 'expr')) : 'json';

  // The typed text stays as typed while it stands for the current value; a value changed from
  // outside shows pretty-printed.
  const [draft, setDraft] = useState<Draft | null>(null);
  const live = draft && sameJson(draft.base, value) ? draft : null;
  const shown = live ? live.text : value === undefined ? '' : JSON.stringify(value, null, 2);

  const edit = (t: string) => {
    setOverride('json');
    if (t.trim() === '') {
      if (keepEmpty) {
        setDraft({ text: t, base: value, error: 'empty (write null for no value)' });
      } else {
        setDraft({ text: t, base: undefined });
        if (value !== undefined) onChange(undefined);
      }
      return;
    }
    try {
      const parsed = JSON.parse(t) as Json;
      setDraft({ text: t, base: parsed });
      if (!sameJson(parsed, value)) onChange(parsed);
    } catch (err) {
      setDraft({ text: t, base: value, error: err instanceof Error ? err.message : String(err) });
    }
  };

  const toExpression = () => {
    setOverride('expr');
    setDraft(null);
    if (live?.error !== undefined) onChange(live.text.trim() === '' ? (keepEmpty ? '' : undefined) : live.text);
    else if (value !== undefined && typeof value !== 'string') onChange(JSON.stringify(value));
  };
  const toJson = () => {
    setOverride('json');
    setDraft(null);
    if (typeof value !== 'string') return;
    try {
      // a JSON text held as a string (as toExpression leaves it) becomes its value again
      const parsed = JSON.parse(value) as Json;
      if (typeof parsed !== 'string') onChange(parsed);
    } catch {
      // any other string shows as a JSON string
    }
  };

  // The data panel inserts at the cursor, as a JSON string unless the cursor is inside one.
  const area = useRef<HTMLTextAreaElement | null>(null);
  const selection = useRef({ start: 0, end: 0 });
  const mounted = useRef(false);
  const latest = useRef({ shown, edit });
  useLayoutEffect(() => {
    latest.current = { shown, edit };
  });
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const remember = () => {
    const node = area.current;
    if (node) selection.current = { start: node.selectionStart, end: node.selectionEnd };
  };
  const insert = useCallback<InsertTarget>((t) => {
    if (!mounted.current) return;
    const { shown: current, edit: apply } = latest.current;
    const { start, end } = selection.current;
    const next = insertAt(current, start, end, insideJsonString(current, start) ? t : JSON.stringify(t));
    selection.current = { start: next.cursor, end: next.cursor };
    apply(next.text);
  }, []);

  return (
    <div className="sf-json">
      <div className="sf-mode" role="group" aria-label="Edit as">
        <button type="button" aria-pressed={mode === 'expr'} data-testid={toolId(ctx, 'as-expr', path)} title="A string, which may hold {{ expressions }}" onClick={mode === 'expr' ? undefined : toExpression}>
          expression
        </button>
        <button type="button" aria-pressed={mode === 'json'} data-testid={toolId(ctx, 'as-json', path)} title="Any JSON value" onClick={mode === 'json' ? undefined : toJson}>
          JSON
        </button>
      </div>
      {mode === 'expr' ? (
        <ExprInput
          value={typeof value === 'string' ? value : ''}
          onChange={(t) => onChange(t === '' && !keepEmpty ? undefined : t)}
          paths={ctx.paths}
          placeholder="{{ expression }}"
          testId={controlId(ctx, path)}
          invalid={invalid}
          onFocusTarget={ctx.onFocusTarget}
          preview={ctx.preview}
          ariaLabel={label}
        />
      ) : (
        <>
          <textarea
            ref={area}
            className={`code-input${invalid || live?.error !== undefined ? ' invalid' : ''}`}
            value={shown}
            rows={Math.min(Math.max(shown.split('\n').length, 2), 16)}
            placeholder="JSON"
            spellCheck={false}
            aria-label={label}
            aria-invalid={invalid || live?.error !== undefined || undefined}
            data-testid={controlId(ctx, path)}
            onChange={(e) => {
              selection.current = { start: e.target.selectionStart, end: e.target.selectionEnd };
              edit(e.target.value);
            }}
            onFocus={() => ctx.onFocusTarget?.(insert)}
            onSelect={remember}
            onBlur={remember}
          />
          {live?.error !== undefined && (
            <div className="error-text small" data-testid={toolId(ctx, 'json-error', path)}>
              not JSON: {live.error}
            </div>
          )}
        </>
      )}
    </div>
  );
}
