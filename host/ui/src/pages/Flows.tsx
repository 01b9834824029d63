import { useCallback, useEffect, useState } from 'react';
import { Link } from 'wouter';
import { activateFlow, deactivateFlow, getStats, listFlows, messageOf } from '../api';
import { ErrorBox, Loading, RelTime, StatusPill } from '../components';
import { useServerEvents } from '../events';
import { useNow, useThrottle, useTitle } from '../hooks';
import type { FlowStats, FlowSummary, Stats } from '../types';

export function FlowsPage() {
  useTitle('Flows');
  const [flows, setFlows] = useState<FlowSummary[] | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [statsError, setStatsError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [pending, setPending] = useState<Set<string>>(new Set());
  const [toggleErrors, setToggleErrors] = useState<Record<string, string>>({});
  const [warnings, setWarnings] = useState<Record<string, string>>({});
  const now = useNow(15_000);

  const loadFlows = useCallback(() => {
    listFlows().then(
      (list) => {
        setFlows(list.sort((a, b) => a.name.localeCompare(b.name)));
        setError(null);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, []);
  const loadStats = useCallback(() => {
    getStats().then(
      (s) => {
        setStats(s);
        setStatsError(null);
      },
      (e: unknown) => setStatsError(`run statistics: ${messageOf(e)}`),
    );
  }, []);

  useEffect(() => {
    loadFlows();
    loadStats();
  }, [loadFlows, loadStats]);

  const refreshStats = useThrottle(loadStats, 5000);
  useServerEvents({
    onRun: refreshStats,
    onReconnect: () => {
      loadFlows();
      loadStats();
    },
  });

  const toggle = (flow: FlowSummary, on: boolean) => {
    setPending((p) => new Set(p).add(flow.name));
    setToggleErrors(({ [flow.name]: _, ...rest }) => rest);
    setWarnings(({ [flow.name]: _, ...rest }) => rest);
    const call = on ? activateFlow(flow.name) : deactivateFlow(flow.name);
    call.then(
      (out) => {
        setFlows((prev) => prev && prev.map((f) => (f.name === flow.name ? { ...f, active: out?.active ?? on } : f)));
        const warning = (out as { warning?: string | null } | undefined)?.warning ?? (out as { error?: string } | undefined)?.error;
        if (warning) setWarnings((w) => ({ ...w, [flow.name]: warning }));
      },
      (e: unknown) => setToggleErrors((errs) => ({ ...errs, [flow.name]: messageOf(e) })),
    ).finally(() =>
      setPending((p) => {
        const next = new Set(p);
        next.delete(flow.name);
        return next;
      }),
    );
  };

  const shown = (flows ?? []).filter((f) => f.name.toLowerCase().includes(filter.trim().toLowerCase()));

  return (
    <div className="page">
      <header className="page-head">
        <h1>Flows</h1>
        <div className="head-actions">
          <Link href="/new-flow" className="button primary" data-testid="new-flow">
            New flow
          </Link>
        </div>
      </header>
      <div className="toolbar">
        <input type="search" className="filter" placeholder="Filter by name" value={filter} onChange={(e) => setFilter(e.target.value)} data-testid="flow-filter" aria-label="Filter flows by name" />
        <span className="muted small">
          Build flows here, or apply YAML with <code>weft flow apply</code>.
        </span>
      </div>
      <ErrorBox error={error} testId="flows-error" />
      <ErrorBox error={statsError} />
      {flows === null && !error ? (
        <Loading />
      ) : (
        <table className="table" data-testid="flows-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Trigger</th>
              <th>Active</th>
              <th className="num">Version</th>
              <th>Last run</th>
              <th className="num">Runs 24 h</th>
              <th className="num">Failed 24 h</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((flow) => {
              const s = stats?.flows[flow.name];
              const missing = flow.plugins_missing ?? [];
              return (
                <tr key={flow.name} data-testid={`flow-row-${flow.name}`}>
                  <td>
                    <Link href={`/flows/${encodeURIComponent(flow.name)}`} className="strong">
                      {flow.name}
                    </Link>
                    {missing.length > 0 && (
                      <div className="warning-text small" data-testid={`missing-${flow.name}`}>
                        ⚠ plugins missing: {missing.join(', ')}
                      </div>
                    )}
                  </td>
                  <td>
                    <span className="tag">{flow.trigger}</span>
                  </td>
                  <td>
                    {flow.trigger === 'manual' ? (
                      // Manual flows cannot be activated: their runs start by hand or through the API.
                      <span className="muted" title="Runs start by hand or through the API" data-testid={`manual-${flow.name}`}>
                        manual
                      </span>
                    ) : (
                      <label className="switch">
                        <input
                          type="checkbox"
                          role="switch"
                          checked={flow.active}
                          disabled={pending.has(flow.name)}
                          onChange={(e) => toggle(flow, e.target.checked)}
                          aria-label={`${flow.active ? 'Deactivate' : 'Activate'} ${flow.name}`}
                          data-testid={`toggle-${flow.name}`}
                        />
                      </label>
                    )}
                    {toggleErrors[flow.name] && (
                      <div className="error-text small" role="alert" data-testid={`toggle-error-${flow.name}`}>
                        {toggleErrors[flow.name]}
                      </div>
                    )}
                    {warnings[flow.name] && <div className="warning-text small">{warnings[flow.name]}</div>}
                  </td>
                  <td className="num">{flow.version}</td>
                  <td data-testid={`last-run-${flow.name}`}>
                    <LastRun stats={s} now={now} />
                  </td>
                  <td className="num">{count(s, s?.runs_24h)}</td>
                  <td className={`num${s && typeof s.failed_24h === 'number' && s.failed_24h > 0 ? ' error-text strong' : ''}`}>{count(s, s?.failed_24h)}</td>
                </tr>
              );
            })}
            {flows && shown.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  {flows.length === 0 ? 'No flows yet. Apply one with weft flow apply FILE.yaml.' : 'No flow matches the filter.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * A flow's last run: its status and when it ended, or "—" for a flow that never ran (no
 * statistics for it yet, `last_run` null, or a last run the server could not describe).
 */
function LastRun({ stats, now }: { stats: FlowStats | undefined; now: number }) {
  const last = stats?.last_run;
  if (!last || typeof last.id !== 'string' || !last.id || typeof last.status !== 'string') return <span className="muted">—</span>;
  return (
    <Link href={`/runs/${encodeURIComponent(last.id)}`} className="last-run">
      <StatusPill status={last.status} /> {(last.ended_ms ?? last.created_ms) ? <RelTime ms={(last.ended_ms ?? last.created_ms)!} now={now} /> : null}
    </Link>
  );
}

/** A 24 h count, "+" when the server stopped counting at its cap; "—" when there is none. */
function count(stats: FlowStats | undefined, n: number | undefined): string {
  if (!stats || typeof n !== 'number') return '—';
  return `${n}${stats.capped ? '+' : ''}`;
}
