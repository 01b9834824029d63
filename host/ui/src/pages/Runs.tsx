import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { listFlows, listRuns, messageOf, rerunRun } from '../api';
import { ErrorBox, Loading, RelTime, StatusPill } from '../components';
import { useServerEvents } from '../events';
import { RANGES, duration, firstLine, shortId, sinceFor } from '../format';
import { useNow, useTitle } from '../hooks';
import { RUN_STATUSES, isFinal, type FlowSummary, type Run, type RunEvent, type RunStatus } from '../types';

const PAGE = 50;

interface Filters {
  flow: string;
  status: RunStatus | '';
  range: string;
}

export function runDuration(run: Pick<Run, 'status' | 'created_ms' | 'updated_ms'>, now: number): number {
  return (isFinal(run.status) ? run.updated_ms : now) - run.created_ms;
}

/** Whether a run the events announced belongs in the list the filters show. */
export function matches(event: Pick<RunEvent, 'flow' | 'status' | 'created_ms' | 'test'>, filters: Filters, now: number): boolean {
  if (event.test) return false; // test runs are listed apart
  if (filters.flow && event.flow !== filters.flow) return false;
  if (filters.status && event.status !== filters.status) return false;
  const since = sinceFor(filters.range, now);
  return since === undefined || event.created_ms >= since;
}

export function RunsPage() {
  useTitle('Runs');
  const [params, setParams] = useSearchParams();
  const filters: Filters = {
    flow: params.get('flow') ?? '',
    status: (params.get('status') ?? '') as RunStatus | '',
    range: params.get('range') && RANGES[params.get('range')!] ? params.get('range')! : 'all',
  };
  const filterKey = `${filters.flow}|${filters.status}|${filters.range}`;
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [flows, setFlows] = useState<FlowSummary[]>([]);
  const [flowsError, setFlowsError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [rerunMessage, setRerunMessage] = useState<string | null>(null);
  const [rerunErrors, setRerunErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [currentVersion, setCurrentVersion] = useState(false);
  const generation = useRef(0);
  const now = useNow(5000);

  const load = useCallback(() => {
    const gen = ++generation.current;
    const f = filtersRef.current;
    listRuns({ flow: f.flow, status: f.status, since_ms: sinceFor(f.range), limit: PAGE }).then(
      (list) => {
        if (gen !== generation.current) return;
        setRuns(list);
        setMore(list.length >= PAGE);
        setError(null);
      },
      (e: unknown) => {
        if (gen !== generation.current) return;
        setError(messageOf(e));
      },
    );
  }, []);

  useEffect(() => {
    setRuns(null);
    setSelected(new Set());
    load();
  }, [filterKey, load]);

  useEffect(() => {
    listFlows().then(
      (list) => setFlows(list.sort((a, b) => a.name.localeCompare(b.name))),
      (e: unknown) => setFlowsError(`cannot list flows: ${messageOf(e)}`),
    );
  }, []);

  useServerEvents({
    onRun: (event) => {
      setRuns((prev) => {
        if (!prev) return prev;
        const i = prev.findIndex((r) => r.id === event.id);
        if (i >= 0) {
          const next = prev.slice();
          next[i] = { ...prev[i], status: event.status, updated_ms: event.updated_ms, error: event.error ?? prev[i].error };
          return next;
        }
        if (!matches(event, filtersRef.current, Date.now())) return prev;
        const run: Run = { id: event.id, flow: event.flow, status: event.status, created_ms: event.created_ms, updated_ms: event.updated_ms, error: event.error };
        const at = prev.findIndex((r) => r.created_ms < run.created_ms || (r.created_ms === run.created_ms && r.id < run.id));
        const next = prev.slice();
        next.splice(at < 0 ? prev.length : at, 0, run);
        return next;
      });
    },
    onReconnect: load,
  });

  const loadMore = () => {
    if (!runs || runs.length === 0) return;
    const before = Math.min(...runs.map((r) => r.created_ms));
    const gen = generation.current;
    setLoadingMore(true);
    listRuns({ flow: filters.flow, status: filters.status, since_ms: sinceFor(filters.range), before_ms: before, limit: PAGE }).then(
      (list) => {
        setLoadingMore(false);
        if (gen !== generation.current) return;
        setRuns((prev) => {
          const have = new Set((prev ?? []).map((r) => r.id));
          return [...(prev ?? []), ...list.filter((r) => !have.has(r.id))];
        });
        setMore(list.length >= PAGE);
      },
      (e: unknown) => {
        setLoadingMore(false);
        setError(messageOf(e));
      },
    );
  };

  const setFilter = (key: keyof Filters, value: string) => {
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      if (value === '' || (key === 'range' && value === 'all')) next.delete(key);
      else next.set(key, value);
      return next;
    });
  };

  const failed = useMemo(() => (runs ?? []).filter((r) => r.status === 'failed'), [runs]);
  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allFailedSelected = failed.length > 0 && failed.every((r) => selected.has(r.id));
  const toggleAll = () => setSelected(allFailedSelected ? new Set() : new Set(failed.map((r) => r.id)));

  const rerunSelected = () => {
    const ids = [...selected];
    if (ids.length === 0) return;
    setBusy(true);
    setRerunMessage(null);
    setRerunErrors([]);
    Promise.allSettled(ids.map((id) => rerunRun(id, currentVersion))).then((results) => {
      setBusy(false);
      const started = results.filter((r) => r.status === 'fulfilled').length;
      const errors = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${messageOf(r.reason)}`] : []));
      setRerunMessage(`${started} of ${ids.length} re-run${ids.length === 1 ? '' : 's'} started${errors.length ? `, ${errors.length} failed` : ''}.`);
      setRerunErrors(errors);
      setSelected(new Set());
    });
  };

  return (
    <div className="page">
      <header className="page-head">
        <h1>Runs</h1>
      </header>
      <div className="toolbar">
        <label className="inline-field">
          <span>Flow</span>
          <select value={filters.flow} onChange={(e) => setFilter('flow', e.target.value)} data-testid="filter-flow">
            <option value="">All flows</option>
            {filters.flow && !flows.some((f) => f.name === filters.flow) && <option value={filters.flow}>{filters.flow}</option>}
            {flows.map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          <span>Status</span>
          <select value={filters.status} onChange={(e) => setFilter('status', e.target.value)} data-testid="filter-status">
            <option value="">Any status</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          <span>Started</span>
          <select value={filters.range} onChange={(e) => setFilter('range', e.target.value)} data-testid="filter-range">
            {Object.entries(RANGES).map(([key, r]) => (
              <option key={key} value={key}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <div className="toolbar-spacer" />
        <label className="check-label" title="Re-run on each flow's current version instead of the run's">
          <input
            type="checkbox"
            checked={currentVersion}
            onChange={(e) => setCurrentVersion(e.target.checked)}
            data-testid="rerun-current-version"
          />
          current flow version
        </label>
        <button type="button" className="button" onClick={rerunSelected} disabled={busy || selected.size === 0} data-testid="rerun-selected">
          {busy ? 'Re-running…' : `Re-run selected${selected.size ? ` (${selected.size})` : ''}`}
        </button>
      </div>
      {rerunMessage && (
        <div className="notice" data-testid="rerun-result">
          {rerunMessage}
          {rerunErrors.length > 0 && (
            <ul className="plain-list">
              {rerunErrors.map((e) => (
                <li key={e} className="error-text">
                  {e}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <ErrorBox error={flowsError} />
      <ErrorBox error={error} testId="runs-error" />
      {runs === null && !error ? (
        <Loading />
      ) : (
        <table className="table" data-testid="runs-table">
          <thead>
            <tr>
              <th className="col-check">
                <input type="checkbox" aria-label="Select all failed runs" checked={allFailedSelected} disabled={failed.length === 0} onChange={toggleAll} />
              </th>
              <th>Status</th>
              <th>Flow</th>
              <th>Run</th>
              <th>Started</th>
              <th className="num">Duration</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {(runs ?? []).map((run) => (
              <tr key={run.id} data-testid={`run-row-${run.id}`}>
                <td className="col-check">
                  {run.status === 'failed' && (
                    <input
                      type="checkbox"
                      aria-label={`Select run ${run.id}`}
                      checked={selected.has(run.id)}
                      onChange={() => toggle(run.id)}
                      data-testid={`select-${run.id}`}
                    />
                  )}
                </td>
                <td>
                  <StatusPill status={run.status} testId={`run-status-${run.id}`} />
                </td>
                <td>
                  <Link href={`/flows/${encodeURIComponent(run.flow)}`}>{run.flow}</Link>
                </td>
                <td className="mono">
                  <Link href={`/runs/${encodeURIComponent(run.id)}`} title={run.id}>
                    {shortId(run.id)}
                  </Link>
                  {run.rerun_of && <span className="tag" title={`re-run of ${run.rerun_of}`}>re-run</span>}
                </td>
                <td>
                  <RelTime ms={run.created_ms} now={now} />
                </td>
                <td className="num">{duration(runDuration(run, now))}</td>
                <td className="error-cell" title={run.error}>
                  {firstLine(run.error, 100)}
                </td>
              </tr>
            ))}
            {runs && runs.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  No runs{filters.flow || filters.status || filters.range !== 'all' ? ' match these filters' : ' yet'}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {more && (
        <div className="load-more">
          <button type="button" className="button" onClick={loadMore} disabled={loadingMore} data-testid="load-more">
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </div>
  );
}
