import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import { getHealth, getStats, messageOf } from '../api';
import { ErrorBox, Loading, RelTime, Section, StatusPill } from '../components';
import { useServerEvents } from '../events';
import { useNow, useThrottle, useTitle } from '../hooks';
import type { Health, Minute, Stats } from '../types';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

function minuteLabel(t: number): string {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function RunsChart({ minutes }: { minutes: Minute[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12, color: '#6b7280' } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0, color: '#6b7280' }, grid: { color: '#eef0f3' } },
        },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, boxHeight: 10 } } },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    // No chart when the canvas gave no 2D context.
    if (!c || !c.canvas || !c.ctx) return;
    c.data.labels = minutes.map((m) => minuteLabel(m.t));
    c.data.datasets = [
      { label: 'succeeded', data: minutes.map((m) => m.succeeded), backgroundColor: '#16a34a', borderRadius: 2 },
      { label: 'failed', data: minutes.map((m) => m.failed), backgroundColor: '#dc2626', borderRadius: 2 },
    ];
    c.update();
  }, [minutes]);

  return (
    <div className="chart" data-testid="overview-chart">
      <canvas ref={canvas} role="img" aria-label="Runs succeeded and failed per minute over the last hour" />
    </div>
  );
}

export default function OverviewPage() {
  useTitle('Overview');
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [health, setHealth] = useState<Health | null>(null);
  const [healthError, setHealthError] = useState<string | null>(null);
  const now = useNow(15_000);

  const load = useCallback(() => {
    getStats().then(
      (s) => {
        setStats(s);
        setError(null);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    getHealth().then(setHealth, (e: unknown) => setHealthError(messageOf(e)));
  }, []);
  const refresh = useThrottle(load, 5000);
  useServerEvents({ onRun: (e) => !e.test && refresh(), onReconnect: load });

  if (!stats) {
    return (
      <div className="page">
        <h1>Overview</h1>
        <ErrorBox error={error} testId="overview-error" />
        {!error && <Loading />}
      </div>
    );
  }

  const minutes = stats.minutes ?? [];
  const succeeded = minutes.reduce((n, m) => n + m.succeeded, 0);
  const failed = minutes.reduce((n, m) => n + m.failed, 0);
  const failing = Object.entries(stats.flows ?? {})
    .filter(([, s]) => s.failed_24h > 0)
    .sort((a, b) => b[1].failed_24h - a[1].failed_24h);

  return (
    <div className="page">
      <header className="page-head">
        <h1>Overview</h1>
        <span className="muted small" data-testid="health">
          {health ? `server ${health.status} · ${health.plugins} plugins loaded` : healthError ? `health: ${healthError}` : ''}
        </span>
      </header>
      {error && <ErrorBox error={`refresh failed: ${error}`} />}
      <div className="stat-grid">
        <div className="stat card" data-testid="stat-backlog">
          <div className="stat-value">{stats.backlog}</div>
          <div className="stat-label">runs queued or executing</div>
        </div>
        <div className="stat card" data-testid="stat-executing">
          <div className="stat-value">{stats.executing}</div>
          <div className="stat-label">executing now</div>
        </div>
        <div className="stat card" data-testid="stat-succeeded">
          <div className="stat-value">{succeeded}</div>
          <div className="stat-label">succeeded in the last hour</div>
        </div>
        <div className={`stat card${failed > 0 ? ' bad' : ''}`} data-testid="stat-failed">
          <div className="stat-value">{failed}</div>
          <div className="stat-label">
            <Link href="/runs?status=failed&range=1h">failed in the last hour</Link>
          </div>
        </div>
      </div>
      <Section title="Runs per minute, last hour">
        <RunsChart minutes={minutes} />
      </Section>
      <Section title="Failing flows (last 24 h)" testId="failing-flows">
        {failing.length === 0 ? (
          <p className="muted">No flow has failed in the last 24 hours.</p>
        ) : (
          <table className="table compact">
            <thead>
              <tr>
                <th>Flow</th>
                <th className="num">Failed</th>
                <th className="num">Runs</th>
                <th>Last run</th>
              </tr>
            </thead>
            <tbody>
              {failing.map(([name, s]) => (
                <tr key={name} data-testid={`failing-${name}`}>
                  <td>
                    <Link href={`/flows/${encodeURIComponent(name)}`}>{name}</Link>
                  </td>
                  <td className="num error-text strong">
                    <Link href={`/runs?flow=${encodeURIComponent(name)}&status=failed&range=24h`}>{s.failed_24h}</Link>
                  </td>
                  <td className="num">{s.runs_24h}</td>
                  <td>
                    {s.last_run ? (
                      <Link href={`/runs/${encodeURIComponent(s.last_run.id)}`}>
                        <StatusPill status={s.last_run.status} /> {(s.last_run.ended_ms ?? s.last_run.created_ms) ? <RelTime ms={(s.last_run.ended_ms ?? s.last_run.created_ms)!} now={now} /> : null}
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </div>
  );
}
