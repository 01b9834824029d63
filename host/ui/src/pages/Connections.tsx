import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { deleteConnection, getPlugin, listConnections, listPlugins, messageOf, putConnection } from '../api';
import { ErrorBox, Loading, Section } from '../components';
import { useTitle } from '../hooks';
import { buildSecrets, buildSettings, fieldText, formSpec, parseHosts, type SettingField } from '../settings';
import type { Connection, Json, Manifest, Plugin, RateLimit } from '../types';

export function ConnectionsPage() {
  useTitle('Connections');
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [connectors, setConnectors] = useState<Plugin[] | null>(null);
  const [pluginsError, setPluginsError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Connection | 'new' | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const load = useCallback(() => {
    listConnections().then(
      (list) => {
        setConnections([...list].sort((a, b) => a.id.localeCompare(b.id)));
        setError(null);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, []);
  useEffect(() => {
    load();
    listPlugins().then(
      (l) => setConnectors(l.plugins.filter((p) => p.world === 'connector').sort((a, b) => a.name.localeCompare(b.name))),
      (e: unknown) => {
        setPluginsError(`cannot list connectors: ${messageOf(e)}`);
        setConnectors([]);
      },
    );
  }, [load]);

  const remove = (id: string) => {
    setDeleteError(null);
    deleteConnection(id).then(
      () => {
        setDeleting(null);
        load();
      },
      (e: unknown) => setDeleteError(messageOf(e)),
    );
  };

  return (
    <div className="page">
      <header className="page-head">
        <h1>Connections</h1>
        <div className="head-actions">
          <button type="button" className="button primary" onClick={() => setEditing('new')} data-testid="conn-new">
            New connection
          </button>
        </div>
      </header>
      <ErrorBox error={pluginsError} />
      {editing && connectors === null && <Loading what="Listing the connectors" />}
      {editing && connectors !== null && (
        <ConnectionForm
          key={editing === 'new' ? 'new' : editing.id}
          existing={editing === 'new' ? null : editing}
          connectors={connectors}
          onSaved={() => {
            setEditing(null);
            load();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <ErrorBox error={error} testId="connections-error" />
      {connections === null && !error ? (
        <Loading />
      ) : (
        <table className="table" data-testid="connections-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Connector</th>
              <th>Settings</th>
              <th>Secrets</th>
              <th>Hosts</th>
              <th>Rate limit</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(connections ?? []).map((c) => (
              <tr key={c.id} data-testid={`connection-row-${c.id}`}>
                <td className="mono strong">{c.id}</td>
                <td>
                  <span className="tag">{c.plugin}</span>
                </td>
                <td className="mono small settings-cell">{Object.keys(c.settings ?? {}).length ? JSON.stringify(c.settings) : <span className="muted">—</span>}</td>
                <td className="mono small">{c.secrets.length ? c.secrets.join(', ') : <span className="muted">—</span>}</td>
                <td className="mono small">{c.hosts.length ? c.hosts.join(', ') : <span className="muted">none granted</span>}</td>
                <td className="small" data-testid={`conn-rate-${c.id}`}>{c.rate_limit ? rateText(c.rate_limit) : <span className="muted">—</span>}</td>
                <td className="actions">
                  <button type="button" className="button small" onClick={() => setEditing(c)} data-testid={`conn-edit-${c.id}`}>
                    Edit
                  </button>{' '}
                  {deleting === c.id ? (
                    <>
                      <button type="button" className="button small danger" onClick={() => remove(c.id)} data-testid={`conn-delete-confirm-${c.id}`}>
                        Delete {c.id}
                      </button>{' '}
                      <button type="button" className="button small" onClick={() => setDeleting(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      className="button small danger-outline"
                      onClick={() => {
                        setDeleteError(null);
                        setDeleting(c.id);
                      }}
                      data-testid={`conn-delete-${c.id}`}
                    >
                      Delete
                    </button>
                  )}
                  {deleting === c.id && deleteError && <div className="error-text small">{deleteError}</div>}
                </td>
              </tr>
            ))}
            {connections && connections.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  No connections yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ConnectionForm({
  existing,
  connectors,
  onSaved,
  onCancel,
}: {
  existing: Connection | null;
  connectors: Plugin[];
  onSaved: () => void;
  onCancel: () => void;
}) {
  const [id, setId] = useState(existing?.id ?? '');
  const [plugin, setPlugin] = useState(existing?.plugin ?? '');
  const [manifest, setManifest] = useState<Manifest | undefined>(undefined);
  const [manifestError, setManifestError] = useState<string | null>(null);
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [extra, setExtra] = useState('');
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [removeSecret, setRemoveSecret] = useState<Record<string, boolean>>({});
  const [hosts, setHosts] = useState((existing?.hosts ?? []).join('\n'));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setManifest(undefined);
    setManifestError(null);
    if (!plugin) return;
    let live = true;
    getPlugin(plugin).then(
      (p) => {
        if (!live) return;
        const m = p.manifest ?? {};
        // Fill the form from the stored settings, in the same render as the fields appear.
        const init = initialValues(formSpec(m).settings, existing && existing.plugin === plugin ? existing.settings : {});
        setValues(init.values);
        setExtra(init.extra);
        setManifest(m);
      },
      (e: unknown) => live && setManifestError(`${plugin}: ${messageOf(e)}`),
    );
    return () => {
      live = false;
    };
  }, [plugin, existing]);

  const spec = useMemo(() => formSpec(manifest), [manifest]);

  const secretNames = useMemo(() => {
    const names = spec.secrets.map((s) => s.name);
    for (const n of existing?.plugin === plugin ? existing.secrets : []) if (!names.includes(n)) names.push(n);
    return names;
  }, [spec, existing, plugin]);
  const storedSecrets = new Set(existing?.plugin === plugin ? existing.secrets : []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!id.trim()) return setError('give the connection an id');
    if (!plugin) return setError('choose a connector');
    let settings: { [key: string]: Json };
    try {
      settings = buildSettings(spec.settings, values, extra);
    } catch (err) {
      return setError(messageOf(err));
    }
    const secretValues: Record<string, string> = {};
    for (const n of secretNames) secretValues[n] = secrets[n] ?? '';
    setBusy(true);
    putConnection(id.trim(), { plugin, settings, secrets: buildSecrets(secretValues, removeSecret), hosts: parseHosts(hosts) }).then(
      () => {
        setBusy(false);
        onSaved();
      },
      (err: unknown) => {
        setBusy(false);
        setError(messageOf(err));
      },
    );
  };

  const wanted = manifest?.hosts ?? [];
  const connectorNames = connectors.map((c) => c.name);
  if (plugin && !connectorNames.includes(plugin)) connectorNames.unshift(plugin);

  return (
    <Section title={existing ? `Edit connection ${existing.id}` : 'New connection'} testId="conn-form">
      <form className="form" onSubmit={submit}>
        <div className="form-row">
          <label className="field">
            <span>
              Id <span className="req">*</span>
            </span>
            <input type="text" value={id} onChange={(e) => setId(e.target.value)} readOnly={!!existing} required placeholder="crm" data-testid="conn-id" />
          </label>
          <label className="field">
            <span>
              Connector <span className="req">*</span>
            </span>
            <select value={plugin} onChange={(e) => setPlugin(e.target.value)} required data-testid="conn-plugin">
              <option value="">Choose…</option>
              {connectorNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorBox error={manifestError} />
        {plugin && !manifest && !manifestError && <Loading what="Reading the connector's manifest" />}
        {manifest && (
          <>
            <fieldset className="fieldset">
              <legend>Settings</legend>
              {spec.settings.length === 0 && <p className="muted small">The connector names no settings.</p>}
              {spec.settings.map((f) => (
                <SettingInput key={f.name} field={f} value={values[f.name]} onChange={(v) => setValues((prev) => ({ ...prev, [f.name]: v }))} />
              ))}
              <label className="field">
                <span>Other settings (JSON object)</span>
                <textarea className="code-input" rows={3} value={extra} onChange={(e) => setExtra(e.target.value)} spellCheck={false} placeholder="{}" data-testid="conn-settings-json" />
              </label>
            </fieldset>
            <fieldset className="fieldset">
              <legend>Secrets</legend>
              <p className="muted small">Values are never shown again. Leave a field empty to keep the stored value.</p>
              {secretNames.length === 0 && <p className="muted small">The connector names no secrets.</p>}
              {secretNames.map((n) => {
                const s = spec.secrets.find((x) => x.name === n);
                return (
                  <div key={n} className="secret-row">
                    <label className="field">
                      <span>
                        {n} {s?.required && <span className="req">*</span>} {storedSecrets.has(n) && <span className="tag">stored</span>}
                      </span>
                      <input
                        type="password"
                        autoComplete="new-password"
                        value={secrets[n] ?? ''}
                        onChange={(e) => setSecrets((prev) => ({ ...prev, [n]: e.target.value }))}
                        disabled={!!removeSecret[n]}
                        placeholder={storedSecrets.has(n) ? '(unchanged)' : ''}
                        data-testid={`conn-secret-${n}`}
                      />
                      {s?.description && <small className="muted">{s.description}</small>}
                    </label>
                    {storedSecrets.has(n) && (
                      <label className="check-label">
                        <input type="checkbox" checked={!!removeSecret[n]} onChange={(e) => setRemoveSecret((prev) => ({ ...prev, [n]: e.target.checked }))} data-testid={`conn-secret-remove-${n}`} />
                        remove
                      </label>
                    )}
                  </div>
                );
              })}
            </fieldset>
          </>
        )}
        <label className="field">
          <span>Hosts its calls may reach (comma or newline separated)</span>
          <textarea className="code-input" rows={3} value={hosts} onChange={(e) => setHosts(e.target.value)} spellCheck={false} placeholder="api.example.com" data-testid="conn-hosts" />
          {wanted.length > 0 && (
            <small className="muted">
              The connector wants: <span className="mono">{wanted.join(', ')}</span>{' '}
              <button type="button" className="link-button" onClick={() => setHosts([...new Set([...parseHosts(hosts), ...wanted])].join('\n'))} data-testid="conn-grant-wanted">
                grant these
              </button>
            </small>
          )}
        </label>
        {error && (
          <div className="error-box" role="alert">
            <pre className="error-text" data-testid="conn-error">
              {error}
            </pre>
          </div>
        )}
        <div className="button-row">
          <button type="submit" className="button primary" disabled={busy} data-testid="conn-save">
            {busy ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Section>
  );
}

/** The form's values from stored settings; what no field shows goes to "other settings". */
function initialValues(fields: SettingField[], stored: { [key: string]: Json }): { values: Record<string, string | boolean>; extra: string } {
  const values: Record<string, string | boolean> = {};
  const rest: { [key: string]: Json } = { ...stored };
  for (const f of fields) {
    const v = stored[f.name];
    if (f.type === 'boolean') {
      if (typeof v === 'boolean') values[f.name] = v;
      else if (v !== undefined) continue; // not a boolean: it stays in "other settings"
    } else values[f.name] = fieldText(f, v);
    delete rest[f.name];
  }
  return { values, extra: Object.keys(rest).length ? JSON.stringify(rest, null, 2) : '' };
}

function SettingInput({ field, value, onChange }: { field: SettingField; value: string | boolean | undefined; onChange: (v: string | boolean) => void }) {
  const testId = `conn-setting-${field.name}`;
  const label = (
    <span>
      {field.name} {field.required && <span className="req">*</span>}
    </span>
  );
  const help = field.description ? <small className="muted">{field.description}</small> : null;
  if (field.type === 'boolean') {
    return (
      <label className="check-label field-check">
        <input type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
        {label}
        {help}
      </label>
    );
  }
  const text = typeof value === 'string' ? value : '';
  let input;
  if (field.type === 'enum') {
    input = (
      <select value={text} onChange={(e) => onChange(e.target.value)} required={field.required} data-testid={testId}>
        <option value="">{field.required ? 'Choose…' : '(not set)'}</option>
        {(field.options ?? []).map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (field.type === 'json') {
    input = <textarea className="code-input" rows={3} value={text} onChange={(e) => onChange(e.target.value)} spellCheck={false} placeholder={field.placeholder ?? 'JSON'} data-testid={testId} />;
  } else {
    input = (
      <input
        type={field.type === 'text' || field.type === 'auto' ? 'text' : 'number'}
        step={field.type === 'integer' ? 1 : 'any'}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        required={field.required}
        placeholder={field.placeholder}
        data-testid={testId}
      />
    );
  }
  return (
    <label className="field">
      {label}
      {input}
      {help}
    </label>
  );
}

/** A rate as people say it: `10/s, bursts of 20`. */
export function rateText(rate: RateLimit): string {
  const per = rate.per_second !== undefined ? `${rate.per_second}/s` : `${rate.per_minute ?? 0}/min`;
  return rate.burst && rate.burst > 1 ? `${per}, bursts of ${rate.burst}` : per;
}
