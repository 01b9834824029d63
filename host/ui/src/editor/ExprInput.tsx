// A text field for strings that may hold `{{ expressions }}` (a step's input fields, a generic
// JSON value in expression mode): it completes data paths after `{{`, lets the data panel insert
// a path at the cursor (click or drag and drop), and previews what the text renders to.

import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, type ChangeEvent, type KeyboardEvent } from 'react';
import { applyCompletion, completionAt, completionOptions, insertAt, previewText, type CompletionAt } from './schemaForm';
import type { InsertTarget, Preview } from './shared';

const PREVIEW_DELAY_MS = 300;

export interface ExprInputProps {
  value: string;
  onChange(v: string): void;
  /** The data paths completion offers (`trigger.id`, `steps.fetch.output.email`…). */
  paths: string[];
  /** A textarea (also used, from then on, once the value holds a newline). */
  multiline?: boolean;
  placeholder?: string;
  /** The control's data-testid; the completion list and preview add `-completion`, `-preview`. */
  testId?: string;
  invalid?: boolean;
  /** Called on focus with a function inserting text at this field's cursor. */
  onFocusTarget?(insert: InsertTarget | null): void;
  /** Evaluates the text on sample data (called 300 ms after the last change, when it has `{{`). */
  preview?(text: string): Promise<Preview>;
  ariaLabel?: string;
}

type TextControl = HTMLInputElement | HTMLTextAreaElement;

interface Completion {
  at: CompletionAt;
  options: string[];
  active: number;
}

export function ExprInput({ value, onChange, paths, multiline, placeholder, testId, invalid, onFocusTarget, preview, ariaLabel }: ExprInputProps) {
  const control = useRef<TextControl | null>(null);
  // The selection, kept up to date so an insertion after blur (a data panel click) lands there.
  const selection = useRef({ start: value.length, end: value.length });
  // A cursor position to apply once the text it belongs to is rendered.
  const pendingCursor = useRef<{ text: string; cursor: number } | null>(null);
  const mounted = useRef(false);
  const latest = useRef({ value, onChange, preview });
  useLayoutEffect(() => {
    latest.current = { value, onChange, preview };
  });
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const [completion, setCompletion] = useState<Completion | null>(null);
  const listId = useId();

  // Once the value has held a newline the field stays a textarea (no focus loss while editing).
  const [tall, setTall] = useState(false);
  if (!tall && value.includes('\n')) setTall(true);
  const textarea = multiline || tall;

  useLayoutEffect(() => {
    const pending = pendingCursor.current;
    const node = control.current;
    pendingCursor.current = null;
    if (!pending || !node || node.value !== pending.text) return;
    node.setSelectionRange(pending.cursor, pending.cursor);
    selection.current = { start: pending.cursor, end: pending.cursor };
  }, [value]);

  const remember = () => {
    const node = control.current;
    if (node) selection.current = { start: node.selectionStart ?? node.value.length, end: node.selectionEnd ?? node.value.length };
  };

  const refresh = (text: string, cursor: number) => {
    const at = completionAt(text, cursor);
    const options = at ? completionOptions(paths, at.partial) : [];
    setCompletion(at && options.length > 0 ? { at, options, active: 0 } : null);
  };

  const emit = (text: string, cursor: number) => {
    selection.current = { start: cursor, end: cursor };
    pendingCursor.current = { text, cursor };
    latest.current.onChange(text);
  };

  const accept = (path: string) => {
    if (!completion) return;
    const next = applyCompletion(value, completion.at, path);
    setCompletion(null);
    emit(next.text, next.cursor);
  };

  // Stable for the field's life; reads the latest value, does nothing once the field is gone.
  const insert = useCallback<InsertTarget>((text) => {
    if (!mounted.current) return;
    const { start, end } = selection.current;
    const next = insertAt(latest.current.value, start, end, text);
    selection.current = { start: next.cursor, end: next.cursor };
    pendingCursor.current = next;
    latest.current.onChange(next.text);
    control.current?.focus();
  }, []);

  const onKeyDown = (e: KeyboardEvent<TextControl>) => {
    if (!completion) return;
    const n = completion.options.length;
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        setCompletion({ ...completion, active: (completion.active + 1) % n });
        break;
      case 'ArrowUp':
        e.preventDefault();
        setCompletion({ ...completion, active: (completion.active + n - 1) % n });
        break;
      case 'Enter':
      case 'Tab':
        e.preventDefault();
        accept(completion.options[completion.active]);
        break;
      case 'Escape':
        // closes the list only (not a surrounding dialog)
        e.preventDefault();
        e.stopPropagation();
        setCompletion(null);
        break;
    }
  };

  const onKeyUp = (e: KeyboardEvent<TextControl>) => {
    remember();
    if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) {
      const node = e.currentTarget;
      refresh(node.value, node.selectionStart ?? node.value.length);
    }
  };

  useEffect(() => {
    if (completion) document.getElementById(`${listId}-${completion.active}`)?.scrollIntoView?.({ block: 'nearest' });
  }, [completion, listId]);

  // The preview: debounced, and only the response for the current text is shown.
  const wantsPreview = preview !== undefined && value.includes('{{');
  const [shown, setShown] = useState<{ text: string; result: Preview } | null>(null);
  useEffect(() => {
    if (!wantsPreview) return;
    let current = true;
    const timer = setTimeout(() => {
      const run = latest.current.preview;
      if (!run) return;
      Promise.resolve()
        .then(() => run(value))
        .then(
          (result) => current && setShown({ text: value, result }),
          (err: unknown) => current && setShown({ text: value, result: { error: err instanceof Error ? err.message : String(err) } }),
        );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [value, wantsPreview]);

  // Drops from the data panel (`text/plain` = `{{ path }}`) are left to the browser, which inserts
  // the text and fires an input event: no drag handler here may call preventDefault.
  const props = {
    ref: (node: TextControl | null) => {
      control.current = node;
    },
    value,
    placeholder,
    className: `expr-field${invalid ? ' invalid' : ''}`,
    'aria-label': ariaLabel,
    'aria-invalid': invalid || undefined,
    'aria-autocomplete': 'list' as const,
    'aria-controls': completion ? listId : undefined,
    'aria-activedescendant': completion ? `${listId}-${completion.active}` : undefined,
    'data-testid': testId,
    spellCheck: false,
    autoComplete: 'off',
    onChange: (e: ChangeEvent<TextControl>) => {
      const text = e.target.value;
      const cursor = e.target.selectionStart ?? text.length;
      selection.current = { start: cursor, end: e.target.selectionEnd ?? cursor };
      onChange(text);
      refresh(text, cursor);
    },
    onFocus: () => onFocusTarget?.(insert),
    onBlur: () => {
      remember();
      setCompletion(null);
    },
    onSelect: remember,
    onClick: () => {
      remember();
      const node = control.current;
      if (node) refresh(node.value, node.selectionStart ?? node.value.length);
    },
    onKeyDown,
    onKeyUp,
  };

  return (
    <div className="expr-input">
      <div className="expr-box">
        {textarea ? <textarea {...props} rows={Math.min(Math.max(value.split('\n').length, 2), 12)} /> : <input type="text" {...props} />}
        {completion && (
          <ul className="expr-completion" role="listbox" id={listId} aria-label="Data paths" data-testid={testId && `${testId}-completion`}>
            {completion.options.map((p, i) => (
              <li
                key={p}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === completion.active}
                // keep the focus in the field
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => accept(p)}
              >
                {p}
              </li>
            ))}
          </ul>
        )}
      </div>
      {wantsPreview && shown && <PreviewLine result={shown.result} stale={shown.text !== value} testId={testId && `${testId}-preview`} />}
    </div>
  );
}

function PreviewLine({ result, stale, testId }: { result: Preview; stale: boolean; testId?: string }) {
  return (
    <div className={`expr-preview${stale ? ' stale' : ''}`} data-testid={testId} title="What this renders to on the sample data">
      {result.error !== undefined ? (
        <span className="error-text">{result.error}</span>
      ) : (
        <>
          <span className="muted">= </span>
          {previewText(result.value)}
        </>
      )}
    </div>
  );
}
