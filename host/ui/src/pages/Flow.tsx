import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { activateFlow, deactivateFlow, flowDiff, getFlow, getFlowVersion, getRun, listFlowVersions, listRuns, messageOf, restoreVersion, startRun } from '../api';
import { CopyButton, ErrorBox, ErrorKindBadge, Facts, JsonValue, Loading, RelTime, Section, StatusPill } from '../components';
import { absoluteTime } from '../format';
import { stepsById } from '../graph';
import { useNow, useTitle } from '../hooks';
import type { FlowDetail, FlowVersion, Json, RunWithSteps, StoredFlow } from '../types';
import FlowDiagram from './FlowDiagram';

export default function FlowPage({ name }: { name: string }) {
  useTitle(`Flow ${name}`);
  const [detail, setDetail] = useState<FlowDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [versions, setVersions] = useState<FlowVersion[] | null>(null);
  const [versionsError, setVersionsError] = useState<string | null>(null);
  const [shown, setShown] = useState<{ flow: StoredFlow; yaml?: string } | null>(null);
  const [versionError, setVersionError] = useState<string | null>(null);
  const [selectedStep, setSelectedStep] = useState<string | null>(null);
  const [toggleError, setToggleError] = useState<string | null>(null);
  const [toggling, setToggling] = useState(false);
  const now = useNow(15_000);

  const load = useCallback(() => {
    getFlow(name).then(
      (d) => {
        setDetail(d);
        setShown((prev) => (prev && prev.flow.version !== d.flow.version ? prev : { flow: d.flow, yaml: d.yaml }));
        setError(null);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, [name]);

  useEffect(() => {
    load();
    listFlowVersions(name).then(setVersions, (e: unknown) => setVersionsError(messageOf(e)));
  }, [name, load]);

  const showVersion = (v: number) => {
    setVersionError(null);
    if (detail && v === detail.flow.version) {
      setShown({ flow: detail.flow, yaml: detail.yaml });
      return;
    }
    getFlowVersion(name, v).then(
      (out) => setShown({ flow: out.flow, yaml: out.yaml }),
      (e: unknown) => setVersionError(`version ${v}: ${messageOf(e)}`),
    );
  };

  const onSelect = useCallback((stepId: string) => setSelectedStep(stepId), []);

  if (error && !detail) {
    return (
      <div className="page">
        <div className="crumbs">
          <Link href="/flows">Flows</Link> /
        </div>
        <h1>{name}</h1>
        <ErrorBox error={error} testId="flow-error" />
      </div>
    );
  }
  if (!detail || !shown) return <Loading />;

  const trigger = detail.trigger;
  const poll = trigger.poll_state ?? trigger.poll;
  const pollError = poll?.error ?? poll?.last_error;
  const toggle = (on: boolean) => {
    setToggling(true);
    setToggleError(null);
    (on ? activateFlow(name) : deactivateFlow(name)).then(
      () => {
        setToggling(false);
        load();
      },
      (e: unknown) => {
        setToggling(false);
        setToggleError(messageOf(e));
      },
    );
  };
  const stepDef = selectedStep ? stepsById(shown.flow.def).get(selectedStep) : undefined;
  const isCurrent = shown.flow.version === detail.flow.version;
  // A manual flow has nothing to activate: its runs start by hand or through the API.
  const manual = trigger.kind === 'manual' || detail.flow.def.trigger === 'manual';

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/flows">Flows</Link> /
          </div>
          <h1>{name}</h1>
          {detail.flow.def.description && <p className="muted">{detail.flow.def.description}</p>}
        </div>
        <div className="head-actions">
          <Link href={`/flows/${encodeURIComponent(name)}/edit`} className="button primary" data-testid="edit-flow">
            Edit
          </Link>
          <Link href={`/runs?flow=${encodeURIComponent(name)}`} className="button">
            Runs
          </Link>
          {manual ? (
            <span className="muted" data-testid="manual-note">
              manual — runs start by hand or through the API
            </span>
          ) : (
            <label className="switch with-label">
              <input type="checkbox" role="switch" checked={trigger.active} disabled={toggling} onChange={(e) => toggle(e.target.checked)} data-testid={`toggle-${name}`} />
              <span>{trigger.active ? 'Active' : 'Inactive'}</span>
            </label>
          )}
        </div>
      </header>
      <ErrorBox error={toggleError} testId="toggle-error" onDismiss={() => setToggleError(null)} />
      {error && <ErrorBox error={`refresh failed: ${error}`} />}

      <div className="diagram-row">
        <Section title={isCurrent ? 'Diagram' : `Diagram — version ${shown.flow.version}`}>
          <FlowDiagram def={shown.flow.def} selected={selectedStep} onSelect={onSelect} />
        </Section>
        {selectedStep && (
          <StepPanel key={selectedStep} flow={name} stepId={selectedStep} def={stepDef} onClose={() => setSelectedStep(null)} />
        )}
      </div>

      <div className="flow-grid">
        <Section title="Trigger" testId="trigger-card">
          <Facts
            items={[
              ['Kind', <span className="tag">{trigger.kind}</span>],
              ...(manual ? [] : ([['Active', trigger.active ? 'yes' : 'no']] as [string, ReactNode][])),
              ['Version', detail.flow.version],
              ['Updated', <RelTime ms={detail.flow.updated_ms} now={now} />],
              ...(trigger.next_ms ? ([['Next', <RelTime ms={trigger.next_ms} now={now} />]] as [string, ReactNode][]) : []),
            ]}
          />
          {(trigger.plugins_missing ?? []).length > 0 && <p className="warning-text">⚠ Plugins missing: {trigger.plugins_missing!.join(', ')}. The flow starts no runs until they are installed.</p>}
          {trigger.error && (
            <p className="error-text" data-testid="trigger-error">
              {trigger.error}
            </p>
          )}
          {trigger.kind === 'webhook' && (
            <div className="webhook">
              <h3>Webhook URL</h3>
              {trigger.webhook_url ? (
                <div className="copy-row">
                  <code className="url" data-testid="webhook-url">
                    {trigger.webhook_url}
                  </code>
                  <CopyButton text={trigger.webhook_url} testId="copy-webhook" />
                </div>
              ) : (
                <p className="muted">Activate the flow to mint its URL.</p>
              )}
              {trigger.manual_subscription && <p className="muted small">The connector cannot register this URL: paste it into the application by hand.</p>}
              {trigger.polling_fallback && <p className="warning-text small">Could not subscribe: polling the fallback trigger instead.</p>}
            </div>
          )}
          {poll && (
            <div className="poll" data-testid="poll-state">
              <h3>Poll state</h3>
              <Facts
                items={[
                  ['Cursor', poll.cursor !== undefined ? <code data-testid="poll-cursor">{poll.cursor}</code> : '—'],
                  ...(poll.mark !== undefined ? ([['Mark', <code>{poll.mark}</code>]] as [string, ReactNode][]) : []),
                  ...(poll.seen !== undefined ? ([['Seen ids', poll.seen]] as [string, ReactNode][]) : []),
                  ['Last poll', poll.last_ms ? <RelTime ms={poll.last_ms} now={now} /> : '—'],
                ]}
              />
              {pollError && (
                <p className="error-text" data-testid="poll-error">
                  {pollError}
                </p>
              )}
              {poll.more && <p className="muted small">More records are waiting: the next poll comes soon.</p>}
            </div>
          )}
        </Section>
        <RunNow name={name} />
      </div>

      <Section title="Definition">
        <div className="yaml-grid">
          <div className="versions">
            <h3>Versions</h3>
            <ErrorBox error={versionsError} />
            <ul className="plain-list" data-testid="versions">
              {(versions ?? [{ version: detail.flow.version, updated_ms: detail.flow.updated_ms }]).map((v) => (
                <li key={v.version}>
                  <button
                    type="button"
                    className={`version-button${v.version === shown.flow.version ? ' active' : ''}`}
                    onClick={() => showVersion(v.version)}
                    aria-pressed={v.version === shown.flow.version}
                    data-testid={`version-${v.version}`}
                  >
                    v{v.version}
                    {v.version === detail.flow.version && <span className="tag">current</span>}
                    <span className="muted small" title={absoluteTime(v.updated_ms)}>
                      <RelTime ms={v.updated_ms} now={now} />
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
          <div className="yaml">
            <ErrorBox error={versionError} />
            <div className="muted small">version {shown.flow.version}{isCurrent ? ' (current)' : ''}</div>
            <VersionTools
              name={name}
              shown={shown.flow.version}
              current={detail.flow.version}
              onRestored={() => {
                setShown(null);
                load();
                listFlowVersions(name).then(setVersions, (e: unknown) => setVersionsError(messageOf(e)));
              }}
            />
            <pre className="code" data-testid="flow-yaml">
              {shown.yaml ?? JSON.stringify(shown.flow.def, null, 2)}
            </pre>
          </div>
        </div>
      </Section>
    </div>
  );
}

/** Compare the shown version with another, and roll back to it. */
function VersionTools({ name, shown, current, onRestored }: { name: string; shown: number; current: number; onRestored: () => void }) {
  const [against, setAgainst] = useState<number | ''>('');
  const [diff, setDiff] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setDiff(null);
    setAgainst('');
  }, [shown]);
  const compare = (other: number) => {
    setAgainst(other);
    setError(null);
    const [from, to] = other < shown ? [other, shown] : [shown, other];
    flowDiff(name, from, to).then(
      (out) => setDiff(out.changed ? out.diff : `versions ${from} and ${to} are the same`),
      (e: unknown) => setError(messageOf(e)),
    );
  };
  const restore = () => {
    setBusy(true);
    setError(null);
    restoreVersion(name, shown).then(
      () => {
        setBusy(false);
        onRestored();
      },
      (e: unknown) => {
        setBusy(false);
        setError(messageOf(e));
      },
    );
  };
  return (
    <div className="version-tools">
      <div className="button-row">
        {current > 1 && (
          <label className="inline-field">
            Compare with{' '}
            <select value={against} onChange={(e) => e.target.value !== '' && compare(Number(e.target.value))} data-testid="diff-against">
              <option value="">version…</option>
              {Array.from({ length: current }, (_, i) => current - i)
                .filter((v) => v !== shown)
                .map((v) => (
                  <option key={v} value={v}>
                    v{v}
                    {v === current ? ' (current)' : ''}
                  </option>
                ))}
            </select>
          </label>
        )}
        {shown !== current && (
          <button type="button" className="button small" onClick={restore} disabled={busy} data-testid="restore-version">
            {busy ? 'Rolling back…' : `Roll back to v${shown}`}
          </button>
        )}
      </div>
      <ErrorBox error={error} testId="version-error" />
      {diff !== null && (
        <pre className="diff" data-testid="version-diff">
          {diff.split('\n').map((line, i) => (
            <span key={i} className={line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : undefined}>
              {line || ' '}
            </span>
          ))}
        </pre>
      )}
    </div>
  );
}

function RunNow({ name }: { name: string }) {
  const [, navigate] = useLocation();
  const [text, setText] = useState('{}');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = () => {
    let event: Json;
    try {
      event = JSON.parse(text) as Json;
    } catch (e) {
      setError(`The input is not JSON: ${messageOf(e)}`);
      return;
    }
    setError(null);
    setBusy(true);
    startRun(name, event).then(
      (out) => {
        setBusy(false);
        navigate(`/runs/${encodeURIComponent(out.run.id)}`);
      },
      (e: unknown) => {
        setBusy(false);
        setError(messageOf(e));
      },
    );
  };
  return (
    <Section title="Run now">
      <label className="field">
        <span>Trigger event (JSON)</span>
        <textarea className="code-input" rows={7} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} data-testid="run-input" />
      </label>
      <ErrorBox error={error} testId="run-input-error" />
      <button type="button" className="button primary" onClick={submit} disabled={busy} data-testid="run-now">
        {busy ? 'Starting…' : 'Run now'}
      </button>
    </Section>
  );
}

/** A step's definition and what it did in the flow's latest run. */
function StepPanel({ flow, stepId, def, onClose }: { flow: string; stepId: string; def: unknown; onClose: () => void }) {
  const [last, setLast] = useState<RunWithSteps | null | 'none'>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    listRuns({ flow, limit: 1 })
      .then(async (runs) => (runs.length === 0 ? 'none' : await getRun(runs[0].id)))
      .then(
        (out) => live && setLast(out),
        (e: unknown) => live && setError(messageOf(e)),
      );
    return () => {
      live = false;
    };
  }, [flow]);
  const records = last && last !== 'none' ? last.steps.filter((s) => s.step_id === stepId) : [];
  const record = records[records.length - 1];
  return (
    <aside className="card step-panel" data-testid="step-panel" aria-label={`Step ${stepId}`}>
      <header className="card-head">
        <h2 className="mono">{stepId}</h2>
        <button type="button" className="link-button" onClick={onClose} aria-label="Close" data-testid="step-panel-close">
          ×
        </button>
      </header>
      <div className="card-body">
        <h3>Definition</h3>
        <JsonValue value={def} testId="step-def" />
        <h3>Last run</h3>
        <ErrorBox error={error} />
        {last === null && !error && <Loading />}
        {last === 'none' && <p className="muted">This flow has not run yet.</p>}
        {last && last !== 'none' && (
          <>
            <p className="small">
              <Link href={`/runs/${encodeURIComponent(last.run.id)}`} className="mono">
                {last.run.id}
              </Link>{' '}
              <StatusPill status={last.run.status} />
            </p>
            {!record && <p className="muted">This step did not run in the last run.</p>}
            {record && (
              <>
                <p className="small">
                  <span className="mono">{record.path}</span> <StatusPill status={record.status} />
                  {records.length > 1 && <span className="muted"> (last of {records.length} records)</span>}
                </p>
                {record.error && (
                  <div className="step-error-head">
                    <ErrorKindBadge kind={record.error.kind} />
                    <pre className="error-text">{record.error.message}</pre>
                  </div>
                )}
                <h3>Input</h3>
                <JsonValue value={record.input} testId="step-panel-input" />
                <h3>Output</h3>
                <JsonValue value={record.output} testId="step-panel-output" />
              </>
            )}
          </>
        )}
      </div>
    </aside>
  );
}
