import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, authorizeConnection, deleteConnection, getConnection, getPlugin, listConnections, listPlugins, messageOf, putConnection } from '../api';
import { ErrorBox, Loading, Section } from '../components';
import { useNow, useTitle } from '../hooks';
import {
  AUTHORIZE_WAIT_MS,
  authorizeLabel,
  awaitSignIn,
  buildOAuth,
  hasOverrides,
  NO_OAUTH_FIELDS,
  oauthDetail,
  oauthFields,
  oauthPillClass,
  oauthStatusText,
  oauthTooltip,
  oauthWantedHosts,
  openSignIn,
  signInOutcome,
  type AwaitedSignIn,
  type OAuthFields,
} from '../oauth';
import { buildSecrets, buildSettings, fieldText, formSpec, parseHosts, type SettingField } from '../settings';
import type { Connection, ConnectionInput, Json, Manifest, OAuth2Spec, OAuthView, Plugin, RateLimit } from '../types';

/** A line under a connection's OAuth badge: a hint, a warning or the server's error. */
interface RowNote {
  tone: 'info' | 'warn' | 'error';
  text: string;
}

const SIGN_IN_NOTE = 'Finish signing in in the new tab; this page updates when you come back.';

export function ConnectionsPage() {
  useTitle('Connections');
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [connectors, setConnectors] = useState<Plugin[] | null>(null);
  const [pluginsError, setPluginsError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Connection | 'new' | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  // OAuth: authorizations being started, sign-ins awaited, and a note per row.
  const [authorizing, setAuthorizing] = useState<Record<string, boolean>>({});
  const [awaiting, setAwaiting] = useState<Record<string, AwaitedSignIn>>({});
  const awaitingRef = useRef(awaiting);
  awaitingRef.current = awaiting;
  const [notes, setNotes] = useState<Record<string, RowNote | undefined>>({});
  // The row the page was opened for (`/connections#crm`, the link back from a sign-in).
  const [highlight] = useState(() => {
    try {
      return decodeURIComponent(window.location.hash.slice(1));
    } catch {
      return '';
    }
  });
  const now = useNow(30_000);

  const load = useCallback(() => {
    listConnections().then(
      (list) => {
        setConnections([...list].sort((a, b) => a.id.localeCompare(b.id)));
        setError(null);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, []);
  const note = useCallback((id: string, n: RowNote | null) => setNotes((prev) => ({ ...prev, [id]: n ?? undefined })), []);
  const replace = useCallback((id: string, update: (c: Connection) => Connection) => {
    setConnections((prev) => prev && prev.map((c) => (c.id === id ? update(c) : c)));
  }, []);

  // Refresh the list whenever the window comes back into view (from the sign-in tab, say).
  useEffect(() => {
    const onFocus = () => load();
    const onVisible = () => {
      if (document.visibilityState === 'visible') load();
    };
    window.addEventListener('focus', onFocus);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [load]);

  // While sign-ins started here are awaited, read their connections every 2 s (and at once
  // when the window gets the focus back) until each ends or 10 minutes pass.
  const awaitedIds = Object.keys(awaiting).sort().join('\n');
  useEffect(() => {
    if (!awaitedIds) return;
    let live = true;
    const check = () => {
      for (const id of awaitedIds.split('\n')) {
        getConnection(id).then(
          (conn) => {
            const awaited = awaitingRef.current[id];
            if (!live || !awaited) return;
            replace(id, () => conn);
            const outcome = signInOutcome(conn.oauth, awaited);
            if (outcome === 'waiting') return;
            setAwaiting((prev) => {
              const { [id]: _, ...rest } = prev;
              return rest;
            });
            if (outcome === 'authorized') note(id, null);
            else if (outcome === 'timed_out') note(id, { tone: 'warn', text: 'No sign-in came back within 10 minutes: authorize again to start over.' });
            else note(id, { tone: 'warn', text: 'The sign-in did not authorize the connection; its tab says why.' });
          },
          (e: unknown) => {
            const awaited = awaitingRef.current[id];
            if (!live || !awaited) return;
            const gone = e instanceof ApiError && e.status === 404;
            if (gone || Date.now() - awaited.started_ms > AUTHORIZE_WAIT_MS) {
              setAwaiting((prev) => {
                const { [id]: _, ...rest } = prev;
                return rest;
              });
            }
            if (!gone) note(id, { tone: 'error', text: messageOf(e) });
          },
        );
      }
    };
    const timer = setInterval(check, 2000);
    window.addEventListener('focus', check);
    return () => {
      live = false;
      clearInterval(timer);
      window.removeEventListener('focus', check);
    };
  }, [awaitedIds, replace, note]);

  const authorize = (c: Connection) => {
    setAuthorizing((prev) => ({ ...prev, [c.id]: true }));
    note(c.id, null);
    authorizeConnection(c.id).then(
      (begun) => {
        setAuthorizing((prev) => ({ ...prev, [c.id]: false }));
        if (begun.authorize_url) {
          if (openSignIn(begun.authorize_url, window) === 'here') return;
          setAwaiting((prev) => ({ ...prev, [c.id]: awaitSignIn(c.oauth) }));
          replace(c.id, (conn) => (conn.oauth ? { ...conn, oauth: { ...conn.oauth, pending: true } } : conn));
          note(c.id, { tone: 'info', text: SIGN_IN_NOTE });
        } else if (begun.authorized) {
          // Client credentials: the token came at once.
          const at = Date.now();
          replace(c.id, (conn) =>
            conn.oauth ? { ...conn, oauth: { ...conn.oauth, status: 'authorized', reason: null, status_ms: at, expires_ms: begun.expires_ms ?? null, pending: false } } : conn,
          );
          getConnection(c.id).then(
            (conn) => replace(c.id, () => conn),
            () => undefined,
          );
        }
      },
      (e: unknown) => {
        setAuthorizing((prev) => ({ ...prev, [c.id]: false }));
        note(c.id, { tone: 'error', text: messageOf(e) });
      },
    );
  };

  // Bring the row the page was opened for into view, once.
  const scrolled = useRef(false);
  useEffect(() => {
    if (scrolled.current || !highlight || !connections) return;
    scrolled.current = true;
    const row = [...document.querySelectorAll('[data-testid^="connection-row-"]')].find((r) => r.getAttribute('data-testid') === `connection-row-${highlight}`);
    row?.scrollIntoView?.({ block: 'center' });
  }, [connections, highlight]);

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
              <th>Auth</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(connections ?? []).map((c) => (
              <tr key={c.id} className={c.id === highlight ? 'selected' : undefined} data-testid={`connection-row-${c.id}`}>
                <td className="mono strong nowrap">{c.id}</td>
                <td>
                  <span className="tag">{c.plugin}</span>
                </td>
                <td className="mono small settings-cell">{Object.keys(c.settings ?? {}).length ? JSON.stringify(c.settings) : <span className="muted">—</span>}</td>
                <td className="mono small">{c.secrets.length ? c.secrets.join(', ') : <span className="muted">—</span>}</td>
                <td className="mono small">{c.hosts.length ? c.hosts.join(', ') : <span className="muted">none granted</span>}</td>
                <td className="small" data-testid={`conn-rate-${c.id}`}>{c.rate_limit ? rateText(c.rate_limit) : <span className="muted">—</span>}</td>
                <td className="oauth-cell">
                  <OAuthBadge connection={c} now={now} onSetUp={() => setEditing(c)} />
                  {notes[c.id] && (
                    <div className={`row-note note-${notes[c.id]!.tone}`} role={notes[c.id]!.tone === 'error' ? 'alert' : 'status'} data-testid={`oauth-note-${c.id}`}>
                      {notes[c.id]!.text}
                    </div>
                  )}
                </td>
                <td className="actions">
                  {c.oauth && (
                    <>
                      <button
                        type="button"
                        className={`button small${c.oauth.status === 'authorized' ? '' : ' primary'}`}
                        onClick={() => authorize(c)}
                        disabled={!!authorizing[c.id]}
                        title={c.oauth.grant === 'client_credentials' ? 'Get a token with the client ID and secret' : 'Sign in at the application to authorize this connection'}
                        data-testid={`authorize-${c.id}`}
                      >
                        {authorizing[c.id] ? 'Authorizing…' : authorizeLabel(c.oauth)}
                      </button>{' '}
                    </>
                  )}
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
                <td colSpan={8} className="empty">
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

/** A connection's OAuth 2.0 state: nothing, a hint that it is offered, or the status badge. */
function OAuthBadge({ connection: c, now, onSetUp }: { connection: Connection; now: number; onSetUp: () => void }) {
  const o = c.oauth;
  if (!o) {
    if (!c.oauth_offered) return <span className="muted">—</span>;
    return (
      <span className="muted small" data-testid={`oauth-status-${c.id}`}>
        OAuth available ·{' '}
        <button type="button" className="link-button" onClick={onSetUp} title="Set the connection's OAuth 2.0 client">
          set up
        </button>
      </span>
    );
  }
  const detail = oauthDetail(o, now);
  return (
    <>
      <span className={`pill ${oauthPillClass(o.status)}`} title={oauthTooltip(o)} data-testid={`oauth-status-${c.id}`}>
        {oauthStatusText(c)}
      </span>
      {detail && (
        <div className="muted small" title={oauthTooltip(o)} data-testid={`oauth-detail-${c.id}`}>
          {detail}
        </div>
      )}
      {o.status === 'needs_reauthorization' && o.reason && (
        <div className="warning-text small" data-testid={`oauth-reason-${c.id}`}>
          {o.reason}
        </div>
      )}
    </>
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
  const [oauth, setOAuth] = useState<OAuthFields>(NO_OAUTH_FIELDS);
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
        setOAuth(oauthFields(existing && existing.plugin === plugin ? existing.oauth : null, m.oauth2));
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
  const oauthSpec = manifest?.oauth2;
  const storedClient = existing?.plugin === plugin ? existing.oauth : null;

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
    const input: ConnectionInput = { plugin, settings, secrets: buildSecrets(secretValues, removeSecret), hosts: parseHosts(hosts) };
    if (oauthSpec) {
      try {
        const client = buildOAuth(oauth, !!storedClient);
        if (client !== undefined) input.oauth = client;
      } catch (err) {
        return setError(messageOf(err));
      }
    }
    setBusy(true);
    putConnection(id.trim(), input).then(
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

  const wanted = [...new Set([...(manifest?.hosts ?? []), ...oauthWantedHosts(oauthSpec, oauth)])];
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
            {oauthSpec && <OAuthFieldset spec={oauthSpec} stored={storedClient ?? null} fields={oauth} onChange={(f) => setOAuth((prev) => ({ ...prev, ...f }))} />}
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

/** The connection's OAuth 2.0 client: id and secret, and the connector's defaults to override. */
function OAuthFieldset({ spec, stored, fields, onChange }: { spec: OAuth2Spec; stored: OAuthView | null; fields: OAuthFields; onChange: (f: Partial<OAuthFields>) => void }) {
  const [advanced, setAdvanced] = useState(() => hasOverrides(fields));
  const code = spec.grant === 'authorization_code';
  const off = fields.remove;
  const callback = `${window.location.origin}/oauth/callback`;
  return (
    <fieldset className="fieldset" data-testid="conn-oauth">
      <legend>OAuth 2.0 client</legend>
      <p className="muted small">
        {code ? (
          <>
            The connector signs in with OAuth 2.0. Register an app with the application, with the redirect URL <code className="copyable">{callback}</code>, enter its client ID and
            secret here, then authorize the connection from the list.
          </>
        ) : (
          <>The connector gets its tokens with OAuth 2.0 client credentials: the client ID and secret are all it needs, no one signs in.</>
        )}
      </p>
      <div className="form-row">
        <label className="field">
          <span>Client ID</span>
          <input type="text" value={fields.clientId} onChange={(e) => onChange({ clientId: e.target.value })} disabled={off} autoComplete="off" spellCheck={false} data-testid="conn-oauth-client-id" />
        </label>
        <div className="secret-row">
          <label className="field">
            <span>Client secret {stored?.client_secret && <span className="tag">stored</span>}</span>
            <input
              type="password"
              autoComplete="new-password"
              value={fields.clientSecret}
              onChange={(e) => onChange({ clientSecret: e.target.value })}
              disabled={off || fields.removeSecret}
              placeholder={stored?.client_secret ? '•••• stored' : ''}
              data-testid="conn-oauth-client-secret"
            />
          </label>
          {stored?.client_secret && (
            <label className="check-label">
              <input type="checkbox" checked={fields.removeSecret} onChange={(e) => onChange({ removeSecret: e.target.checked })} disabled={off} data-testid="conn-oauth-client-secret-remove" />
              remove
            </label>
          )}
        </div>
      </div>
      {stored?.client_secret && <p className="muted small oauth-hint">Leave the secret empty to keep the stored one.</p>}
      <details className="spec oauth-advanced" open={advanced} onToggle={(e) => setAdvanced((e.target as HTMLDetailsElement).open)}>
        <summary data-testid="conn-oauth-advanced">Advanced</summary>
        <p className="muted small">Empty fields follow the connector&apos;s defaults, shown greyed.</p>
        <div className="form-row">
          {code && (
            <label className="field">
              <span>Authorization URL</span>
              <input type="text" value={fields.authorizationUrl} onChange={(e) => onChange({ authorizationUrl: e.target.value })} disabled={off} placeholder={spec.authorization_url} spellCheck={false} data-testid="conn-oauth-authorization-url" />
            </label>
          )}
          <label className="field">
            <span>Token URL</span>
            <input type="text" value={fields.tokenUrl} onChange={(e) => onChange({ tokenUrl: e.target.value })} disabled={off} placeholder={spec.token_url} spellCheck={false} data-testid="conn-oauth-token-url" />
          </label>
          <label className="field">
            <span>Scopes (space separated)</span>
            <input type="text" value={fields.scopes} onChange={(e) => onChange({ scopes: e.target.value })} disabled={off} placeholder={spec.scopes.join(' ')} spellCheck={false} data-testid="conn-oauth-scopes" />
          </label>
          <label className="field">
            <span>Token hosts (comma or newline separated)</span>
            <textarea className="code-input" rows={2} value={fields.tokenHosts} onChange={(e) => onChange({ tokenHosts: e.target.value })} disabled={off} placeholder={spec.hosts.join('\n')} spellCheck={false} data-testid="conn-oauth-token-hosts" />
            <small className="muted">The hosts the token is sent to.</small>
          </label>
        </div>
      </details>
      {stored && (
        <label className="check-label field-check">
          <input type="checkbox" checked={fields.remove} onChange={(e) => onChange({ remove: e.target.checked })} data-testid="conn-oauth-remove" />
          remove the OAuth client and its tokens
        </label>
      )}
    </fieldset>
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
