import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { cancelRun, getFlowVersion, getRun, listPlugins, messageOf, replayRun, rerunRun, startRun } from '../api';
import { ErrorBox, ErrorKindBadge, Facts, JsonValue, Loading, RelTime, Section, StatusPill } from '../components';
import { useServerEvents } from '../events';
import { absoluteTime, clockTime, duration, relativeTime, seconds } from '../format';
import { stepPlugin, stepsById } from '../graph';
import { useNow, useThrottle, useTitle } from '../hooks';
import { isFinal, type FlowDef, type Json, type PluginList, type RunReplay, type RunWithSteps, type Step, type StepReplay } from '../types';
import { failedStep, stepAttempts, waterfallRows, type Attempt, type BarSegment, type WaterfallRow } from '../waterfall';
import { nameFromFile } from './Plugins';

export function RunPage({ id }: { id: string }) {
  useTitle(`Run ${id}`);
  const [, navigate] = useLocation();
  const [data, setData] = useState<RunWithSteps | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [def, setDef] = useState<FlowDef | null>(null);
  const [defError, setDefError] = useState<string | null>(null);
  const [plugins, setPlugins] = useState<PluginList | null>(null);
  const [pluginsError, setPluginsError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [currentVersion, setCurrentVersion] = useState(false);
  const autoSelected = useRef(false);
  const generation = useRef(0);

  const load = useCallback(() => {
    const gen = ++generation.current;
    getRun(id).then(
      (d) => {
        if (gen !== generation.current) return;
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (gen !== generation.current) return;
        setError(messageOf(e));
      },
    );
  }, [id]);

  useEffect(load, [load]);

  const run = data?.run;
  const final = run ? isFinal(run.status) : true;
  const refetch = useThrottle(load, 250);

  useServerEvents(
    {
      onRun: (e) => {
        if (e.id === id) refetch();
      },
      onStep: (e) => {
        if (e.run === id) refetch();
      },
      onReconnect: load,
    },
    // From the start (before the first answer), so no change is missed; off once the run ended.
    !(run && final),
  );

  // The flow version the run executes: which plugin each step names.
  const flowName = run?.flow;
  const flowVersion = run?.version;
  useEffect(() => {
    if (!flowName || flowVersion === undefined) return;
    getFlowVersion(flowName, flowVersion).then(
      (v) => setDef(v.flow.def),
      (e: unknown) => setDefError(`flow ${flowName} version ${flowVersion}: ${messageOf(e)}`),
    );
  }, [flowName, flowVersion]);

  useEffect(() => {
    listPlugins().then(setPlugins, (e: unknown) => setPluginsError(`cannot list plugins: ${messageOf(e)}`));
  }, []);

  // A failed run opens on its failed step.
  useEffect(() => {
    if (!data || autoSelected.current) return;
    autoSelected.current = true;
    if (data.run.status === 'failed') {
      const f = failedStep(data.steps);
      if (f) setSelected(f.path);
    }
  }, [data]);

  const now = useNow(1000, !final);
  const rows = useMemo(() => (data ? waterfallRows(data.run, data.steps, now) : []), [data, now]);
  const select = useCallback((path: string) => setSelected(path), []);

  if (error && !data) {
    return (
      <div className="page">
        <h1>Run</h1>
        <ErrorBox error={error} testId="run-load-error" />
      </div>
    );
  }
  if (!data || !run) return <Loading />;

  const act = (what: string, action: () => Promise<void>) => {
    setBusy(what);
    setActionError(null);
    action().then(
      () => setBusy(null),
      (e: unknown) => {
        setBusy(null);
        setActionError(messageOf(e));
      },
    );
  };
  const rerun = () =>
    act('rerun', async () => {
      const out = await rerunRun(run.id, currentVersion);
      navigate(`/runs/${encodeURIComponent(out.run.id)}`);
    });
  const cancel = () =>
    act('cancel', async () => {
      await cancelRun(run.id);
      load();
    });

  const end = final ? run.updated_ms : now;
  const runErrorKind = run.status === 'failed' ? failedStep(data.steps)?.error?.kind : undefined;
  const selectedRow = rows.find((r) => r.path === selected);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/runs">Runs</Link> /
          </div>
          <h1 className="mono">{run.id}</h1>
        </div>
        <div className="head-actions">
          {run.status === 'failed' && (
            <>
              <label className="check-label" title="Use the flow's current version instead of the run's">
                <input type="checkbox" checked={currentVersion} onChange={(e) => setCurrentVersion(e.target.checked)} data-testid="rerun-current-version" />
                current flow version
              </label>
              <button type="button" className="button primary" onClick={rerun} disabled={busy !== null} data-testid="rerun">
                {busy === 'rerun' ? 'Starting…' : 'Re-run from failed step'}
              </button>
            </>
          )}
          {!final && (
            <button type="button" className="button danger" onClick={cancel} disabled={busy !== null} data-testid="cancel">
              {busy === 'cancel' ? 'Cancelling…' : 'Cancel'}
            </button>
          )}
          <button type="button" className="button" onClick={() => setEditing((v) => !v)} aria-expanded={editing} data-testid="edit-rerun">
            Run again with edited input
          </button>
        </div>
      </header>
      <ErrorBox error={actionError} testId="action-error" onDismiss={() => setActionError(null)} />
      {error && <ErrorBox error={`refresh failed: ${error}`} />}

      <div className="card run-summary">
        <Facts
          items={[
            ['Status', <StatusPill status={run.status} testId="run-status" />],
            ['Flow', <Link href={`/flows/${encodeURIComponent(run.flow)}`}>{run.flow}</Link>],
            ['Version', run.version ?? '—'],
            ['Created', <RelTime ms={run.created_ms} now={now} />],
            ['Duration', duration(end - run.created_ms) + (final ? '' : ' so far')],
            ...(run.wake_ms ? ([['Wakes', <RelTime ms={run.wake_ms} now={now} />]] as [string, ReactNode][]) : []),
            ...(run.test
              ? ([['Test run', <span className="tag" data-testid="test-run" title="Started from the flow editor: listed apart from the flow's runs">test{run.test.until ? ` until ${run.test.until}` : ''}</span>]] as [string, ReactNode][])
              : []),
            ...(run.rerun_of
              ? ([['Re-run of', <Link href={`/runs/${encodeURIComponent(run.rerun_of)}`} className="mono" data-testid="rerun-of">{run.rerun_of}</Link>]] as [string, ReactNode][])
              : []),
            ...(run.parent
              ? ([['Called by', <span><Link href={`/runs/${encodeURIComponent(run.parent.run)}`} className="mono" data-testid="parent-run">{run.parent.run}</Link> (step <span className="mono">{run.parent.step}</span>)</span>]] as [string, ReactNode][])
              : []),
            ...(run.failure_of
              ? ([['Reports the failure of', <Link href={`/runs/${encodeURIComponent(run.failure_of)}`} className="mono" data-testid="failure-of">{run.failure_of}</Link>]] as [string, ReactNode][])
              : []),
            ...(run.error_run
              ? ([['Error flow run', <Link href={`/runs/${encodeURIComponent(run.error_run)}`} className="mono" data-testid="error-run">{run.error_run}</Link>]] as [string, ReactNode][])
              : []),
          ]}
        />
        {run.error && (
          <div className="run-error" data-testid="run-error">
            <ErrorKindBadge kind={runErrorKind} testId="run-error-kind" />
            <pre className="error-message">{run.error}</pre>
          </div>
        )}
      </div>

      {editing && <EditRerun flow={run.flow} trigger={run.trigger} onStarted={(newId) => navigate(`/runs/${encodeURIComponent(newId)}`)} />}

      <Replay runId={run.id} ended={final} />

      <div className="run-body">
        <Section title={`Steps (${data.steps.length})`} testId="waterfall-card">
          <Waterfall rows={rows} selected={selected} onSelect={select} />
        </Section>
        <div className="run-side">
          {selectedRow ? (
            <StepDetail
              row={selectedRow}
              steps={data.steps}
              def={def}
              defError={defError}
              runPlugins={run.plugins}
              plugins={plugins}
              pluginsError={pluginsError}
              now={now}
            />
          ) : (
            <div className="card muted side-hint">Select a step to see its input, output, error and logs.</div>
          )}
          <Section title="Trigger event">
            <JsonValue value={run.trigger} testId="run-trigger" />
          </Section>
          <Section title="Output">
            <JsonValue value={run.output} testId="run-output" />
          </Section>
        </div>
      </div>
    </div>
  );
}

function EditRerun({ flow, trigger, onStarted }: { flow: string; trigger: Json | undefined; onStarted: (id: string) => void }) {
  const [text, setText] = useState(() => JSON.stringify(trigger ?? {}, null, 2));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = () => {
    let event: Json;
    try {
      event = JSON.parse(text) as Json;
    } catch (e) {
      setError(`not JSON: ${messageOf(e)}`);
      return;
    }
    setBusy(true);
    setError(null);
    startRun(flow, event).then(
      (out) => {
        setBusy(false);
        onStarted(out.run.id);
      },
      (e: unknown) => {
        setBusy(false);
        setError(messageOf(e));
      },
    );
  };
  return (
    <Section title={`Run ${flow} again with this trigger event`}>
      <textarea className="code-input" rows={10} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} data-testid="edit-rerun-input" />
      <ErrorBox error={error} testId="edit-rerun-error" />
      <button type="button" className="button primary" onClick={submit} disabled={busy} data-testid="edit-rerun-submit">
        {busy ? 'Starting…' : 'Start run'}
      </button>
    </Section>
  );
}

/**
 * Replays the run offline: each action called again with the input it had, answered from what its
 * step recorded, on the run's plugin versions or on a candidate. Nothing reaches an application and
 * nothing is written, so it may be tried freely.
 */
function Replay({ runId, ended }: { runId: string; ended: boolean }) {
  const [plugin, setPlugin] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<RunReplay | null>(null);
  const replay = () => {
    const version = plugin.trim();
    if (version && file) {
      setError('give an installed version or a .wasm file, not both');
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    // A transform goes by the name its file gives it, as when installing one.
    replayRun(runId, file ? { wasm: file, name: nameFromFile(file.name) } : version ? { plugin: version } : undefined).then(
      (r) => {
        setBusy(false);
        setResult(r);
      },
      (e: unknown) => {
        setBusy(false);
        setError(messageOf(e));
      },
    );
  };
  return (
    <Section title="Replay" testId="replay-card">
      <div className="toolbar">
        <label className="inline-field" title="An installed version to replay with instead of the run's">
          <span>with</span>
          <input type="text" value={plugin} onChange={(e) => setPlugin(e.target.value)} placeholder="NAME@VERSION" spellCheck={false} data-testid="replay-plugin" />
        </label>
        <label className="inline-field" title="A component not installed, to replay with instead of the run's version">
          <span>or</span>
          <input
            type="file"
            accept=".wasm,application/wasm"
            className="file-input"
            aria-label="Candidate plugin (.wasm)"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            data-testid="replay-file"
          />
        </label>
        <button
          type="button"
          className="button"
          onClick={replay}
          disabled={!ended || busy}
          title={ended ? undefined : 'A run can be replayed once it has ended'}
          data-testid="replay-run"
        >
          {busy ? 'Replaying…' : 'Replay'}
        </button>
      </div>
      <p className="muted small">
        Calls the run's actions again with the inputs they had, answered from what the run recorded, on its plugin versions or on the one given here, and
        compares the outputs. It reaches no application and writes nothing.
      </p>
      <ErrorBox error={error} testId="replay-error" />
      {result && <ReplayResult replay={result} />}
    </Section>
  );
}

/** Each verdict as a word, in the colour of the run status it is closest to. */
const VERDICTS: Record<string, { label: string; tone: string }> = {
  same: { label: 'Same', tone: 'succeeded' },
  differs: { label: 'Differs', tone: 'waiting' },
  now_succeeds: { label: 'Now succeeds', tone: 'succeeded' },
  still_fails: { label: 'Still fails', tone: 'failed' },
  now_fails: { label: 'Now fails', tone: 'failed' },
  not_replayable: { label: 'Not replayable', tone: 'cancelled' },
};

function ReplayResult({ replay }: { replay: RunReplay }) {
  const verdict = VERDICTS[replay.verdict] ?? { label: replay.verdict, tone: 'queued' };
  return (
    <div className="replay-result" data-testid="replay-result">
      <div className="replay-verdict">
        <span className={`pill pill-${verdict.tone}`} data-testid="replay-verdict" data-verdict={replay.verdict}>
          {verdict.label}
        </span>
        <span data-testid="replay-summary">{replay.summary}</span>
      </div>
      <ol className="plain-list replay-steps">
        {replay.steps.map((step) => (
          <ReplayedStep key={step.path} step={step} />
        ))}
      </ol>
    </div>
  );
}

function ReplayedStep({ step }: { step: StepReplay }) {
  const finding = step.skipped ? 'skipped' : step.same ? 'same' : 'differs';
  return (
    <li className="replay-step" data-testid={`replay-step-${step.path}`}>
      <div className="replay-step-line">
        <span className="mono">{step.path}</span>
        <span className={finding === 'differs' ? 'warning-text strong' : 'muted'} data-testid={`replay-finding-${step.path}`}>
          {finding}
        </span>
        {step.plugin && <span className="mono muted small">{step.plugin}</span>}
      </div>
      {step.skipped && <div className="muted small">{step.skipped}</div>}
      {(step.differences ?? []).length > 0 && (
        <ul className="plain-list replay-lines">
          {step.differences!.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
      )}
      {(step.unanswered ?? []).length > 0 && (
        <>
          <div className="muted small">not in the recording:</div>
          <ul className="plain-list replay-lines">
            {step.unanswered!.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        </>
      )}
    </li>
  );
}

function Waterfall({ rows, selected, onSelect }: { rows: WaterfallRow[]; selected: string | null; onSelect: (path: string) => void }) {
  if (rows.length === 0) {
    return (
      <div className="empty muted" data-testid="waterfall">
        No steps have run yet.
      </div>
    );
  }
  return (
    <div className="waterfall" data-testid="waterfall" role="listbox" aria-label="Steps">
      {rows.map((row) => (
        <WaterfallLine key={row.path} row={row} selected={row.path === selected} onSelect={onSelect} />
      ))}
    </div>
  );
}

const WaterfallLine = memo(function WaterfallLine({ row, selected, onSelect }: { row: WaterfallRow; selected: boolean; onSelect: (path: string) => void }) {
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect(row.path);
    }
  };
  const testId = row.step ? `step-row-${row.path}` : `step-group-${row.path}`;
  const attempts = row.step && row.step.attempts > 1 ? ` ×${row.step.attempts}` : '';
  return (
    <div
      role="option"
      tabIndex={0}
      className={`wf-row${selected ? ' selected' : ''}${row.step ? '' : ' group'}`}
      onClick={() => onSelect(row.path)}
      onKeyDown={onKey}
      aria-selected={selected}
      data-testid={testId}
      data-status={row.status}
      title={row.path}
    >
      <div className="wf-name" style={{ paddingLeft: 6 + row.depth * 16 }}>
        {row.branch && <span className="wf-branch">{row.branch}</span>}
        <span className="wf-label">{row.label}</span>
      </div>
      <div className="wf-track">
        {row.segments ? (
          <>
            {/* the whole step, faint, under its attempts */}
            <div className={`wf-bar wf-span bar-${row.status}`} style={{ left: `${row.offsetPct}%`, width: `${row.widthPct}%` }} />
            {row.segments.map((seg, i) => (
              <div key={i} className={segmentClass(seg)} style={{ left: `${seg.offsetPct}%`, width: `${seg.widthPct}%` }} title={segmentTitle(seg)} />
            ))}
          </>
        ) : (
          <div className={`wf-bar bar-${row.status}${row.open ? ' open' : ''}`} style={{ left: `${row.offsetPct}%`, width: `${row.widthPct}%` }} />
        )}
      </div>
      <div className="wf-time">
        {duration(row.endMs - row.startMs)}
        {attempts && <span className="wf-attempts">{attempts}</span>}
      </div>
    </div>
  );
});

/** Every attempt of a step: the retried ones with their errors and back-offs, then the last. */
function Attempts({ step, now }: { step: Step; now: number }) {
  const { attempts, unrecorded, next } = stepAttempts(step);
  return (
    <div className="attempts" data-testid="step-attempts">
      <h3>Attempts</h3>
      <ol className="attempt-list">
        {unrecorded > 0 && (
          <li className="attempt muted small">
            {unrecorded === 1 ? 'Attempt 1 is' : `Attempts 1–${unrecorded} are`} counted but not recorded.
          </li>
        )}
        {attempts.map((a, i) => (
          <AttemptItem
            key={a.attempt}
            attempt={a}
            following={attempts[i + 1]?.attempt ?? next?.attempt ?? a.attempt + 1}
            waiting={next !== undefined && i === attempts.length - 1}
            now={now}
          />
        ))}
        {next && (
          <li className="attempt attempt-next" data-testid="step-next-attempt">
            <span className="attempt-number">#{next.attempt}</span>
            <span>
              next attempt at{' '}
              <time dateTime={new Date(next.atMs).toISOString()} title={absoluteTime(next.atMs)}>
                {clockTime(next.atMs)}
              </time>{' '}
              ({untilNext(next.atMs, now)})
            </span>
          </li>
        )}
      </ol>
    </div>
  );
}

/** "in 41 s", "in a moment", or "due now" once the time has come. */
function untilNext(atMs: number, now: number): string {
  if (atMs <= now) return 'due now';
  const rel = relativeTime(atMs, now);
  return rel === 'just now' ? 'in a moment' : rel;
}

function AttemptItem({ attempt: a, following, waiting, now }: { attempt: Attempt; following: number; waiting: boolean; now: number }) {
  const open = a.endMs === undefined;
  return (
    <li className={`attempt${a.retried ? ' attempt-retried' : ' attempt-last'}`} data-testid={`attempt-${a.attempt}`}>
      <div className="attempt-line">
        <span className="attempt-number">#{a.attempt}</span>
        <StatusPill status={a.status} />
        <time dateTime={new Date(a.startMs).toISOString()} title={a.estimatedStart ? `about ${absoluteTime(a.startMs)} (the end of the back-off)` : absoluteTime(a.startMs)}>
          {a.estimatedStart ? '≈ ' : ''}
          {clockTime(a.startMs)}
        </time>
        <span className="muted">{open ? (a.status === 'waiting' ? 'waiting' : `${seconds(now - a.startMs)} so far`) : seconds(a.endMs! - a.startMs)}</span>
      </div>
      {a.error && (
        <div className="attempt-error">
          <ErrorKindBadge kind={a.error.kind} />
          <span className="error-text">{a.error.message}</span>
        </div>
      )}
      {a.waitMs !== undefined && (
        <div className="attempt-wait muted small">
          {waiting ? 'waiting' : 'waited'} {seconds(a.waitMs)} before attempt {following}
        </div>
      )}
    </li>
  );
}

function segmentClass(seg: BarSegment): string {
  if (seg.kind === 'wait') return `wf-seg wf-wait${seg.open ? ' open' : ''}`;
  if (seg.kind === 'failed') return 'wf-seg wf-failed-attempt';
  return `wf-bar wf-seg wf-last bar-${seg.status}${seg.open ? ' open' : ''}`;
}

function segmentTitle(seg: BarSegment): string {
  const took = duration(seg.endMs - seg.startMs);
  if (seg.kind === 'wait') return `back-off after attempt ${seg.attempt}: ${seg.open ? `${took} so far` : took}`;
  if (seg.kind === 'failed') return `attempt ${seg.attempt} failed after ${took}`;
  return `attempt ${seg.attempt}: ${seg.status}, ${seg.open ? `${took} so far` : took}`;
}

function StepDetail({
  row,
  steps,
  def,
  defError,
  runPlugins,
  plugins,
  pluginsError,
  now,
}: {
  row: WaterfallRow;
  steps: Step[];
  def: FlowDef | null;
  defError: string | null;
  runPlugins: Record<string, string> | undefined;
  plugins: PluginList | null;
  pluginsError: string | null;
  now: number;
}) {
  const step = row.step;
  if (!step) {
    // A loop item: its value is in the loop record's input (the list).
    const loopPath = row.path.replace(/\[\d+\]$/, '');
    const loop = steps.find((s) => s.path === loopPath);
    const index = Number(/\[(\d+)\]$/.exec(row.path)?.[1]);
    const item = Array.isArray(loop?.input) && Number.isInteger(index) ? loop.input[index] : undefined;
    return (
      <Section title={<span className="mono">{row.path}</span>} testId="step-detail">
        <Facts
          items={[
            ['Status', <StatusPill status={row.status} />],
            ['Duration', duration(row.endMs - row.startMs)],
          ]}
        />
        {row.group === 'item' && (
          <>
            <h3>Item</h3>
            <JsonValue value={item} />
          </>
        )}
      </Section>
    );
  }
  const stepDef = def ? stepsById(def).get(step.step_id) : undefined;
  const plugin = stepPlugin(stepDef);
  const hash = plugin && runPlugins ? runPlugins[plugin.key] : undefined;
  const version = hash && plugins ? plugins.plugins.find((p) => p.name === plugin?.name)?.versions.find((v) => v.hash === hash)?.version : undefined;
  return (
    <Section title={<span className="mono">{step.path}</span>} testId="step-detail">
      <Facts
        items={[
          ['Status', <StatusPill status={step.status} testId="step-status" />],
          ...(step.pinned ? ([['Pinned', <span className="tag" title="A test run gave this output: the step was not called">output given, not called</span>]] as [string, ReactNode][]) : []),
          ['Attempts', step.attempts],
          ...(step.node ? ([['Node', <span className="mono" data-testid="step-node">{step.node}</span>]] as [string, ReactNode][]) : []),
          ...(step.child
            ? ([['Sub-flow run', <Link href={`/runs/${encodeURIComponent(step.child)}`} className="mono" data-testid="step-child">{step.child}</Link>]] as [string, ReactNode][])
            : []),
          ['Started', <span title={absoluteTime(step.started_ms)}>{absoluteTime(step.started_ms)}</span>],
          ['Duration', duration(row.endMs - row.startMs) + (row.open ? ' so far' : '')],
          ...(step.wake_ms ? ([['Wakes', <RelTime ms={step.wake_ms} now={now} />]] as [string, ReactNode][]) : []),
          ...(step.throttled && step.status === 'waiting'
            ? ([['Waiting for', <span data-testid="step-throttled">its turn under the connection's rate limit</span>]] as [string, ReactNode][])
            : []),
          ...(plugin
            ? ([
                [
                  'Plugin',
                  <span data-testid="step-plugin">
                    {plugin.key}
                    {plugin.action ? ` · ${plugin.action}` : ''}
                    {version ? ` — ${version}` : ''}
                    {hash && (
                      <span className="mono muted" title={hash}>
                        {' '}
                        {hash.slice(0, 12)}
                      </span>
                    )}
                  </span>,
                ],
              ] as [string, ReactNode][])
            : []),
        ]}
      />
      {defError && <p className="muted small">{defError}</p>}
      {pluginsError && <p className="muted small">{pluginsError}</p>}
      {step.error && (
        <div className="step-error" data-testid="step-error">
          <div className="step-error-head">
            <ErrorKindBadge kind={step.error.kind} testId="step-error-kind" />
            <pre className="error-text">{step.error.message}</pre>
          </div>
          <div className="small">
            {step.error.retryable ? 'retryable' : 'not retryable'}
            {step.error.retry_after_ms !== undefined && ` · retry after ${duration(step.error.retry_after_ms)}`}
          </div>
        </div>
      )}
      <Attempts step={step} now={now} />
      <h3>Input</h3>
      <JsonValue value={step.input} testId="step-input" />
      <h3>Output</h3>
      <JsonValue value={step.output} testId="step-output" />
      <h3>Logs</h3>
      <ol className="logs" data-testid="step-logs">
        {(step.logs ?? []).map((line, i) => (
          <li key={i} className={`log log-${line.level}`}>
            {line.at_ms !== undefined && <span className="log-time">{absoluteTime(line.at_ms).slice(11)}</span>}
            <span className="log-level">{line.level}</span>
            <span className="log-message">{line.message}</span>
          </li>
        ))}
        {(step.logs ?? []).length === 0 && <li className="muted">No logs.</li>}
      </ol>
      {step.dropped_logs ? <p className="muted small">{step.dropped_logs} more log lines were dropped.</p> : null}
      {stepDef && (
        <>
          <h3>Definition</h3>
          <JsonValue value={stepDef} collapsed={1} />
        </>
      )}
    </Section>
  );
}
