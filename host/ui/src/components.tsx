// Small shared pieces: status pills, times, errors, the JSON viewer.

import JsonView from '@uiw/react-json-view';
import { useState, type ReactNode } from 'react';
import { absoluteTime, errorKindText, relativeTime } from './format';
import { ERROR_KINDS } from './types';

export function StatusPill({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`pill pill-${status}`} data-testid={testId}>
      {status}
    </span>
  );
}

/**
 * A step error's kind (`rate-limited`, `auth`…) as a small badge, labelled "kind" by the
 * stylesheet (so the text is the kind alone); its meaning in the tooltip.
 */
export function ErrorKindBadge({ kind, testId }: { kind: string | undefined; testId?: string }) {
  if (!kind) return null;
  const known = (ERROR_KINDS as string[]).includes(kind);
  return (
    <span className={`kind-badge${known ? ` kind-${kind}` : ''}`} title={errorKindText(kind)} data-testid={testId}>
      {kind}
    </span>
  );
}

export function RelTime({ ms, now }: { ms: number | undefined | null; now?: number }) {
  if (ms === undefined || ms === null) return <span className="muted">—</span>;
  return (
    <time dateTime={new Date(ms).toISOString()} title={absoluteTime(ms)}>
      {relativeTime(ms, now)}
    </time>
  );
}

export function ErrorBox({ error, testId, onDismiss }: { error: string | null | undefined; testId?: string; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error-box" role="alert" data-testid={testId}>
      <span className="error-text">{error}</span>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <div className="loading muted">{what}…</div>;
}

/**
 * A value as a collapsible JSON tree (objects and arrays) or as text (everything else). Values
 * are untrusted plugin output: they are only ever rendered as text nodes.
 */
export function JsonValue({ value, testId, collapsed = 2 }: { value: unknown; testId?: string; collapsed?: number | boolean }) {
  if (value === undefined) {
    return (
      <div className="json-empty muted" data-testid={testId}>
        —
      </div>
    );
  }
  if (value !== null && typeof value === 'object') {
    return (
      <div className="json-view" data-testid={testId}>
        <JsonView
          value={value as object}
          collapsed={collapsed}
          shortenTextAfterLength={160}
          displayDataTypes={false}
          enableClipboard={false}
          highlightUpdates={false}
          style={{ fontSize: 12, fontFamily: 'var(--mono)', backgroundColor: 'transparent' }}
        />
      </div>
    );
  }
  return (
    <pre className="json-scalar" data-testid={testId}>
      {JSON.stringify(value)}
    </pre>
  );
}

export function CopyButton({ text, testId, label = 'Copy' }: { text: string; testId?: string; label?: string }) {
  const [state, setState] = useState<string | null>(null);
  const copy = () => {
    if (!navigator.clipboard) {
      setState('clipboard unavailable');
      return;
    }
    navigator.clipboard.writeText(text).then(
      () => setState('copied'),
      (e: unknown) => setState(`copy failed: ${e instanceof Error ? e.message : String(e)}`),
    );
    setTimeout(() => setState(null), 2000);
  };
  return (
    <button type="button" className="button small" onClick={copy} data-testid={testId}>
      {state ?? label}
    </button>
  );
}

export function Section({ title, children, actions, testId }: { title: ReactNode; children: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <header className="card-head">
        <h2>{title}</h2>
        {actions && <div className="card-actions">{actions}</div>}
      </header>
      <div className="card-body">{children}</div>
    </section>
  );
}

/** Label/value pairs in a compact grid. */
export function Facts({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([k, v], i) => (
        <div key={i} className="fact">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
